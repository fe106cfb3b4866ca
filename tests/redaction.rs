//! Secrets planted in spans never reach an exporter once redaction rules are set.
#![cfg(feature = "enabled")]

mod common;

use common::io::Buffer;
use common::*;
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
    let printed = console.text();
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
fn without_rules_only_secret_keys_are_masked() {
    let (_, spans, _) = capture_with(
        |b| b,
        || {
            let _ = login();
        },
    );
    let span = spans.one("login");
    assert_eq!(attr_str(span, "db.password"), traced::process::MASK);
    assert_eq!(
        attr_str(span, "note"),
        format!("paid with {CARD}"),
        "value patterns are opt-in"
    );
    let (_, spans, _) = capture_with(
        |b| b.redact_secret_keys(false),
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

#[derive(traced::Metrics)]
struct Signups {
    attempts: traced::metrics::Counter<u64>,
}

#[traced]
fn signup() {
    traced::event!("signup.failed", password = SECRET, contact = MAIL);
    Signups::global().attempts.add(
        1,
        &[
            opentelemetry::KeyValue::new("user.password", SECRET),
            opentelemetry::KeyValue::new("note", format!("card {CARD}")),
            opentelemetry::KeyValue::new("plan", "gold"),
        ],
    );
}

#[test]
fn log_records_and_metric_attributes_are_redacted_too() {
    use traced::opentelemetry_sdk::logs::InMemoryLogExporter;
    use traced::opentelemetry_sdk::metrics::InMemoryMetricExporter;
    let logs = InMemoryLogExporter::default();
    let metric_exporter = InMemoryMetricExporter::default();
    let (records, metrics) = without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .traces_exporters([])
            .redact(Redaction::default_rules())
            .span_logs(true)
            .simple_log_exporter(logs.clone())
            .metric_exporter(metric_exporter.clone())
            .init();
        signup();
        guard.flush().unwrap();
        let records = format!("{:?}", logs.get_emitted_logs().unwrap());
        let metrics = common::metrics::last_export(&metric_exporter);
        drop(guard);
        (records, metrics)
    });
    let points = format!("{:?}", metrics.0);
    for (what, text) in [("log records", &records), ("metric points", &points)] {
        assert!(
            text.contains("signup") || text.contains("attempts"),
            "{what}: {text}"
        );
        for secret in [SECRET, CARD, MAIL] {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked into the {what}:\n{text}"
            );
        }
    }
    let attempts = metrics.one("attempts");
    assert_eq!(attempts.attrs["user.password"], traced::process::MASK);
    assert_eq!(attempts.attrs["plan"], "gold");
}

#[test]
fn the_prometheus_page_never_shows_a_planted_secret() {
    use std::io::{Read, Write};
    // One turn for the whole test: no other test installs a provider meanwhile.
    let page = without_telemetry(|| {
        let exporter = traced::opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let guard = traced::Builder::new()
            .ignore_env()
            .simple_exporter(exporter)
            .metrics_exporters([])
            .logs_exporters([])
            .prometheus_endpoint("127.0.0.1", 0)
            .redact(Redaction::default_rules())
            .init();
        let addr = guard.prometheus_addr().expect("endpoint");
        signup();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n"
        )
        .unwrap();
        let mut page = String::new();
        stream.read_to_string(&mut page).unwrap();
        drop(guard);
        page
    });
    assert!(page.contains("attempts_total"), "{page}");
    for secret in [SECRET, CARD, MAIL] {
        assert!(!page.contains(secret), "{secret:?} is on the page:\n{page}");
    }
}
