//! Secrets planted in spans never reach an exporter once redaction rules are set.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use traced::export::console::ConsoleExporter;
use traced::process::Redaction;
use traced::traced;

const SECRET: &str = "hunter2-planted";
const CARD: &str = "4111 1111 1111 1111";
const MAIL: &str = "ada@example.com";

#[traced(err, attrs(
    db.password = SECRET,
    "http.request.header.authorization" = format!("Bearer {SECRET}"),
    note = format!("paid with {CARD}"),
    user.email = MAIL,
    user.id = 42,
))]
fn login() -> Result<(), String> {
    traced::event!("audit", detail = format!("token={SECRET} for {MAIL}"));
    Err(format!("rejected {MAIL}"))
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn planted_secrets_never_reach_the_exporters() {
    let console = Buffer::default();
    let (_, spans, _) = capture_with(
        |b| {
            b.redact(
                Redaction::default_rules()
                    .value_pattern("hunter2-[a-z]+", traced::process::Action::Mask)
                    .unwrap(),
            )
            .batch_exporter(ConsoleExporter::with_writer(console.clone(), false))
        },
        || {
            let _ = login();
        },
    );
    let span = spans.one("login");
    let exported = format!("{span:?}");
    let printed = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
    for (what, text) in [("in-memory exporter", &exported), ("console", &printed)] {
        assert!(!text.is_empty(), "{what} saw nothing");
        for secret in [SECRET, CARD, MAIL, "4111111111111111"] {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked to the {what}:\n{text}"
            );
        }
    }
    assert_eq!(attr_str(span, "db.password"), traced::process::MASK);
    assert_eq!(
        attr(span, "user.id"),
        Some(opentelemetry::Value::I64(42)),
        "what no rule names is kept"
    );
    assert_error(span, "rejected [REDACTED]");
}

#[test]
fn without_rules_nothing_is_changed() {
    let (_, spans, _) = capture_with(
        |b| b,
        || {
            let _ = login();
        },
    );
    assert_eq!(attr_str(spans.one("login"), "db.password"), SECRET);
}

#[traced(kind = server, name = "GET /health")]
fn health() {}

#[traced(kind = server, attrs(http.route = "/metrics"))]
fn scrape() {}

#[traced(kind = server, name = "GET /cart")]
fn cart() {
    helper();
}

#[traced]
fn helper() {}

#[test]
fn filtered_spans_are_not_exported_but_still_counted_unless_asked() {
    use traced::process::{SpanFilter, SpanMetrics};
    let run = |filter: SpanFilter| {
        capture_with(
            |b| b.filter(filter).span_metrics(SpanMetrics::new()),
            || {
                health();
                scrape();
                cart();
            },
        )
    };
    let filter = SpanFilter::new()
        .drop_name("get /HEALTH*")
        .drop_attribute("http.route", "/metrics")
        .drop_kind(opentelemetry::trace::SpanKind::Internal);
    let (_, spans, metrics) = run(filter.clone());
    assert_eq!(spans.names(), ["GET /cart"]);
    assert_eq!(
        metrics
            .with("traces.span.metrics.calls", &[("span.name", "GET /health")])
            .value,
        1.0,
        "still counted"
    );
    let (_, spans, metrics) = run(filter.also_from_span_metrics());
    assert_eq!(spans.names(), ["GET /cart"]);
    let counted: Vec<_> = metrics
        .named("traces.span.metrics.calls")
        .iter()
        .map(|p| p.attrs["span.name"].clone())
        .collect();
    assert_eq!(counted, ["GET /cart"]);
}
