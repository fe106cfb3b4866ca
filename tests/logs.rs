//! `log` records and `tracing` events become OpenTelemetry log records that carry
//! the trace and span of the span they were written in, filtered by level.
#![cfg(all(feature = "enabled", feature = "log", feature = "tracing"))]

use opentelemetry::logs::Severity;
use std::sync::{Mutex, PoisonError};
use traced::opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use traced::traced;

static LOCK: Mutex<()> = Mutex::new(());

struct Captured {
    logs: Vec<SdkLogRecord>,
    spans: Vec<SpanData>,
}

fn capture(filter: &str, f: impl FnOnce()) -> Captured {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let logs = InMemoryLogExporter::default();
    let spans = InMemorySpanExporter::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .simple_exporter(spans.clone())
        .metrics_exporters([])
        .simple_log_exporter(logs.clone())
        .log_filter(filter)
        .init();
    f();
    guard.flush().unwrap();
    let out = Captured {
        logs: logs
            .get_emitted_logs()
            .unwrap()
            .into_iter()
            .map(|l| l.record)
            .collect(),
        spans: spans.get_finished_spans().unwrap(),
    };
    drop(guard);
    out
}

fn body(r: &SdkLogRecord) -> String {
    match r.body() {
        Some(opentelemetry::logs::AnyValue::String(s)) => s.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

#[traced]
fn checkout(items: u32) {
    log::info!(items; "checking out {items} items");
    tracing::warn!(items, "stock is low");
    log::debug!("a detail nobody asked for");
}

#[test]
fn records_carry_the_span_they_were_written_in() {
    let c = capture("info", || {
        log::info!("before any span");
        checkout(3);
    });
    let span = c.spans.iter().find(|s| s.name == "checkout").unwrap();
    let in_span: Vec<_> = c
        .logs
        .iter()
        .filter(|r| r.trace_context().is_some())
        .collect();
    assert_eq!(
        in_span.len(),
        2,
        "{:?}",
        c.logs.iter().map(body).collect::<Vec<_>>()
    );
    for r in &in_span {
        let cx = r.trace_context().unwrap();
        assert_eq!(cx.trace_id, span.span_context.trace_id());
        assert_eq!(cx.span_id, span.span_context.span_id());
    }
    let from_log = c
        .logs
        .iter()
        .find(|r| body(r) == "checking out 3 items")
        .unwrap();
    assert_eq!(from_log.severity_number(), Some(Severity::Info));
    assert!(from_log
        .attributes_iter()
        .any(|(k, v)| k.as_str() == "items" && *v == opentelemetry::logs::AnyValue::Int(3)));
    let from_tracing = c.logs.iter().find(|r| body(r) == "stock is low").unwrap();
    assert_eq!(from_tracing.severity_number(), Some(Severity::Warn));
    let outside = c
        .logs
        .iter()
        .find(|r| body(r) == "before any span")
        .unwrap();
    assert!(outside.trace_context().is_none());
    assert!(
        !c.logs.iter().any(|r| body(r).contains("nobody asked")),
        "debug is below the info filter"
    );
}

#[test]
fn level_filter_controls_volume() {
    let c = capture("warn", || checkout(1));
    let bodies: Vec<_> = c.logs.iter().map(body).collect();
    assert_eq!(bodies, ["stock is low"]);

    let c = capture("warn,logs=debug", || checkout(1));
    assert_eq!(c.logs.len(), 3, "the module directive lets debug through");
}

#[test]
fn nothing_is_bridged_after_the_guard_drops() {
    let c = capture("info", || ());
    assert!(c.logs.is_empty());
    // With no telemetry installed, logging is a no-op and does not panic.
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    log::error!("nobody listens");
    tracing::error!("nobody listens either");
}
