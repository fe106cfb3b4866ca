//! Span logs: a program without logging gets log records from its spans' events
//! and errors, correlated with the spans.
#![cfg(feature = "enabled")]

use opentelemetry::logs::{AnyValue, Severity};
use traced::opentelemetry_sdk::logs::InMemoryLogExporter;
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::traced;

#[traced(err)]
fn reserve(sku: &str) -> Result<(), String> {
    traced::event!("stock.checked", sku = sku.to_owned(), left = 0);
    Err(format!("{sku} is out of stock"))
}

#[test]
fn events_and_errors_become_correlated_log_records() {
    let logs = InMemoryLogExporter::default();
    let spans = InMemorySpanExporter::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .simple_exporter(spans.clone())
        .metrics_exporters([])
        .simple_log_exporter(logs.clone())
        .span_logs(true)
        .init();
    let _ = reserve("umbrella");
    guard.flush().unwrap();
    let records: Vec<_> = logs
        .get_emitted_logs()
        .unwrap()
        .into_iter()
        .map(|l| l.record)
        .collect();
    let span = spans.get_finished_spans().unwrap().remove(0);
    drop(guard);

    let bodies: Vec<String> = records
        .iter()
        .map(|r| match r.body() {
            Some(AnyValue::String(s)) => s.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        bodies,
        [
            "stock.checked",
            "exception",
            "reserve failed: umbrella is out of stock"
        ]
    );
    for r in &records {
        let cx = r.trace_context().expect("correlated");
        assert_eq!(cx.trace_id, span.span_context.trace_id());
        assert_eq!(cx.span_id, span.span_context.span_id());
    }
    assert_eq!(records[0].severity_number(), Some(Severity::Info));
    assert_eq!(records[1].severity_number(), Some(Severity::Error));
    assert!(records[0]
        .attributes_iter()
        .any(|(k, v)| k.as_str() == "left" && *v == AnyValue::Int(0)));
}
