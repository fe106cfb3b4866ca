//! Span logs: for programs that have no logging, the events and errors their spans
//! record become log records, correlated with their span.
//!
//! Each span event becomes a record (body: the event name; attributes: the
//! event's; severity ERROR for `exception` events, INFO otherwise; time: the
//! event's), and a span that ends with status Error adds an ERROR record with the
//! status message. Every record carries the span's trace id and span id.

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::Status;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLogger;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use std::time::Duration;

/// Turns span events and errors into log records (see the module docs).
#[derive(Debug)]
pub(crate) struct SpanLogs {
    pub(crate) logger: SdkLogger,
}

fn value(v: &opentelemetry::Value) -> AnyValue {
    match v {
        opentelemetry::Value::Bool(b) => AnyValue::Boolean(*b),
        opentelemetry::Value::I64(i) => AnyValue::Int(*i),
        opentelemetry::Value::F64(f) => AnyValue::Double(*f),
        other => AnyValue::String(other.as_str().into_owned().into()),
    }
}

impl SpanProcessor for SpanLogs {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let sc = &span.span_context;
        let emit =
            |severity: Severity, body: String, time, attributes: &[opentelemetry::KeyValue]| {
                let mut record = self.logger.create_log_record();
                record.set_severity_number(severity);
                record.set_severity_text(severity.name());
                record.set_body(AnyValue::String(body.into()));
                record.set_timestamp(time);
                record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
                record.add_attribute("span.name", AnyValue::String(span.name.to_string().into()));
                for kv in attributes {
                    record.add_attribute(kv.key.clone(), value(&kv.value));
                }
                self.logger.emit(record);
            };
        for event in span.events.iter() {
            let severity = if event.name == "exception" {
                Severity::Error
            } else {
                Severity::Info
            };
            emit(
                severity,
                event.name.to_string(),
                event.timestamp,
                &event.attributes,
            );
        }
        if let Status::Error { description } = &span.status {
            emit(
                Severity::Error,
                format!("{} failed: {description}", span.name),
                span.end_time,
                &[],
            );
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
