//! With no exporter, processor, span metrics or span logs, nothing would ever
//! read a span: `#[traced]` records none, while the trace context it carries
//! on (ids, parent chain, the sampled flag the sampler decides) is unchanged.
#![cfg(feature = "enabled")]

mod common;

use common::without_telemetry;
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry::Context;
use std::collections::HashMap;
use traced::traced;

/// What a traced function saw of its own span, and the headers it sent.
#[derive(Debug)]
struct Seen {
    span: SpanContext,
    recording: bool,
    traceparent: String,
    child: SpanContext,
}

#[traced]
fn child() -> SpanContext {
    Context::current().span().span_context().clone()
}

#[traced(kind = client)]
fn call_out() -> Seen {
    let cx = Context::current();
    let mut headers = HashMap::new();
    traced::propagation::inject(&mut headers);
    Seen {
        span: cx.span().span_context().clone(),
        recording: cx.span().is_recording(),
        traceparent: headers.get("traceparent").cloned().unwrap_or_default(),
        child: child(),
    }
}

fn run(configure: impl FnOnce(traced::Builder) -> traced::Builder) -> Seen {
    without_telemetry(|| {
        let guard = configure(
            traced::Builder::new()
                .ignore_env()
                .metrics_exporters([])
                .logs_exporters([]),
        )
        .init();
        let seen = call_out();
        drop(guard);
        seen
    })
}

fn assert_carried(seen: &Seen, sampled: bool) {
    assert!(seen.span.is_valid(), "{seen:?}");
    assert_eq!(seen.span.is_sampled(), sampled, "{seen:?}");
    let flags = if sampled { "01" } else { "00" };
    let expected = format!(
        "00-{}-{}-{flags}",
        seen.span.trace_id(),
        seen.span.span_id()
    );
    // The W3C `random` flag may be set on a new trace (0x02).
    let random = format!(
        "00-{}-{}-{:02x}",
        seen.span.trace_id(),
        seen.span.span_id(),
        u8::from(sampled) | 2
    );
    assert!(
        seen.traceparent == expected || seen.traceparent == random,
        "{} vs {expected}",
        seen.traceparent
    );
    assert_eq!(seen.child.trace_id(), seen.span.trace_id(), "one trace");
    assert_ne!(seen.child.span_id(), seen.span.span_id());
    assert_eq!(seen.child.is_sampled(), sampled, "parent-based by default");
}

#[test]
fn with_no_exporter_spans_are_not_recorded_but_context_goes_on() {
    let seen = run(|b| b.traces_exporters([]));
    assert!(!seen.recording, "nothing listens: nothing recorded");
    assert_carried(&seen, true);
}

#[test]
fn otel_traces_exporter_none_is_the_same() {
    let seen = run(|b| b.setting("OTEL_TRACES_EXPORTER", "none"));
    assert!(!seen.recording);
    assert_carried(&seen, true);
}

#[test]
fn the_sampler_still_decides_the_flag() {
    let seen = run(|b| {
        b.traces_exporters([])
            .sampler(traced::Sampler::always_off())
    });
    assert!(!seen.recording);
    assert_carried(&seen, false);
    let seen = run(|b| b.traces_exporters([]).sampler(traced::Sampler::ratio(0.0)));
    assert_carried(&seen, false);
}

#[test]
fn a_remote_parent_is_followed() {
    let seen = without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .traces_exporters([])
            .metrics_exporters([])
            .logs_exporters([])
            .init();
        let mut headers = HashMap::new();
        headers.insert(
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_owned(),
        );
        let parent = traced::propagation::extract(&headers);
        let seen = {
            let _entered = parent.attach();
            call_out()
        };
        drop(guard);
        seen
    });
    assert_eq!(
        seen.span.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_carried(&seen, false);
}

#[test]
fn any_listener_turns_recording_back_on() {
    use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
    let exporter = InMemorySpanExporter::default();
    let seen = run(|b| b.traces_exporters([]).simple_exporter(exporter.clone()));
    assert!(seen.recording);
    assert_carried(&seen, true);
    let seen = run(|b| {
        b.traces_exporters([])
            .span_metrics(traced::process::SpanMetrics::new())
    });
    assert!(seen.recording, "span metrics read every span");
    let seen = run(|b| b.traces_exporters([]).span_logs(true));
    assert!(seen.recording, "span logs read every span");
}
