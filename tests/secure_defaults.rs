//! Secure by default: with no redaction configured, values under keys that name
//! a secret never leave the process, on any surface (spans, events, status,
//! log records, metric points, the console, the Prometheus page, OTLP bytes of
//! the three signals); a secret a span's error message or log line repeats is
//! masked there too; the opt-out really records the value.
#![cfg(all(feature = "enabled", feature = "log"))]

mod common;
#[path = "otlp/harness.rs"]
mod harness;

use common::io::Buffer;
use common::*;
use opentelemetry::KeyValue;
use traced::export::console::ConsoleExporter;
use traced::opentelemetry_sdk::logs::InMemoryLogExporter;
use traced::opentelemetry_sdk::metrics::InMemoryMetricExporter;
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::process::{Redaction, MASK};
use traced::traced;

const PASSWORD: &str = "hunter2-canary";
const AUTHORIZATION: &str = "Basic YWRhOmh1bnRlcjI=";
const API_KEY: &str = "ak-51d0e8f3";
const TOKEN: &str = "tok-7f3a9c21";
const MAIL: &str = "ada@example.com";
const CARD: &str = "4111 1111 1111 1111";

/// The secrets a key names, masked with no configuration at all.
const KEYED: [&str; 4] = [PASSWORD, AUTHORIZATION, API_KEY, TOKEN];

#[derive(traced::Metrics)]
struct Logins {
    attempts: traced::metrics::Counter<u64>,
}

/// Leaks the way applications do: a named secret argument, a header, an event
/// attribute, a metric attribute, a log line and an error message that repeat
/// the password, personal data in text.
#[traced(err, attrs(
    password = password,
    "http.request.header.authorization" = AUTHORIZATION,
    user.name = user,
    gen_ai.usage.input_tokens = 12,
))]
fn login(user: &str, password: &str) -> Result<(), String> {
    traced::event!(
        "attempt",
        api_key = API_KEY,
        note = format!("contact {MAIL}, card {CARD}")
    );
    log::warn!(user; "login of {user} with {password} refused");
    Logins::global().attempts.add(
        1,
        &[
            KeyValue::new("auth.token", TOKEN),
            KeyValue::new("plan", "gold"),
        ],
    );
    Err(format!("bad password {password} for {user}"))
}

/// Everything one call of `login` left, surface by surface.
struct Surfaces {
    spans: Vec<traced::opentelemetry_sdk::trace::SpanData>,
    console: String,
    logs: String,
    log_bodies: Vec<String>,
    metrics: common::metrics::Metrics,
    page: String,
}

impl Surfaces {
    fn texts(&self) -> [(&'static str, String); 5] {
        [
            ("exported span", format!("{:?}", self.spans)),
            ("console", self.console.clone()),
            ("log records", self.logs.clone()),
            ("metric points", format!("{:?}", self.metrics.0)),
            ("Prometheus page", self.page.clone()),
        ]
    }

    fn span(&self) -> &traced::opentelemetry_sdk::trace::SpanData {
        self.spans
            .iter()
            .find(|s| s.name == "login")
            .expect("a login span")
    }
}

fn scrape(addr: std::net::SocketAddr) -> String {
    common::io::scrape(addr, "application/openmetrics-text; version=1.0.0")
}

fn run(configure: impl FnOnce(traced::Builder) -> traced::Builder) -> Surfaces {
    run_on(traced::Builder::new().ignore_env(), configure)
}

fn run_on(
    base: traced::Builder,
    configure: impl FnOnce(traced::Builder) -> traced::Builder,
) -> Surfaces {
    without_telemetry(|| {
        let spans = InMemorySpanExporter::default();
        let console = Buffer::default();
        let logs = InMemoryLogExporter::default();
        let metrics = InMemoryMetricExporter::default();
        let guard = configure(
            base.simple_exporter(spans.clone())
                .simple_exporter(ConsoleExporter::with_writer(console.clone(), false))
                .simple_log_exporter(logs.clone())
                .metric_exporter(metrics.clone())
                .prometheus_endpoint("127.0.0.1", 0),
        )
        .init();
        let _ = login("ada", PASSWORD);
        guard.flush().unwrap();
        let page = scrape(guard.prometheus_addr().expect("endpoint"));
        let records: Vec<_> = logs
            .get_emitted_logs()
            .unwrap()
            .into_iter()
            .map(|l| l.record)
            .collect();
        let out = Surfaces {
            spans: spans.get_finished_spans().unwrap(),
            console: console.text(),
            logs: format!("{records:?}"),
            log_bodies: records
                .iter()
                .map(|r| match r.body() {
                    Some(opentelemetry::logs::AnyValue::String(s)) => s.as_str().to_owned(),
                    other => format!("{other:?}"),
                })
                .collect(),
            metrics: common::metrics::last_export(&metrics),
            page,
        };
        drop(guard);
        out
    })
}

#[test]
fn with_no_configuration_secret_keys_are_masked_on_every_surface() {
    let seen = run(|b| b);
    for (what, text) in seen.texts() {
        assert!(
            text.contains("login") || text.contains("attempts"),
            "{what} saw nothing:\n{text}"
        );
        for secret in KEYED {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked to the {what}:\n{text}"
            );
        }
        assert!(
            !text.contains("hunter2"),
            "a part of the password in the {what}:\n{text}"
        );
    }
    let span = seen.span();
    assert_eq!(attr_str(span, "password"), MASK);
    assert_eq!(attr_str(span, "http.request.header.authorization"), MASK);
    assert_eq!(
        event_attr(event(span, "attempt"), "api_key"),
        Some(MASK.into())
    );
    assert_eq!(seen.metrics.one("attempts").attrs["auth.token"], MASK);
    // What no default rule names is kept as written: value patterns are opt-in,
    // token counts are not tokens.
    assert_eq!(attr_str(span, "user.name"), "ada");
    assert_eq!(attr(span, "gen_ai.usage.input_tokens"), Some(12i64.into()));
    assert_eq!(seen.metrics.one("attempts").attrs["plan"], "gold");
    let note = event_attr(event(span, "attempt"), "note")
        .unwrap()
        .as_str()
        .into_owned();
    assert!(note.contains(MAIL) && note.contains(CARD), "{note}");
}

#[test]
fn a_secret_the_error_or_a_log_line_repeats_is_masked_there_too() {
    let seen = run(|b| b);
    let span = seen.span();
    assert_error(span, "bad password [REDACTED] for ada");
    let exception = event(span, "exception");
    assert_eq!(
        event_attr(exception, "exception.message"),
        Some("bad password [REDACTED] for ada".into())
    );
    assert!(
        seen.log_bodies
            .iter()
            .any(|b| b == "login of ada with [REDACTED] refused"),
        "{:?}",
        seen.log_bodies
    );
}

#[test]
fn a_hashed_secret_is_replaced_by_the_same_hash_where_it_is_repeated() {
    let seen = run(|b| b.redact(Redaction::none().hash_key("password").hash_secret("shared")));
    let span = seen.span();
    let hashed = attr_str(span, "password");
    assert!(hashed.starts_with("hmac:"), "{hashed}");
    assert_error(span, &format!("bad password {hashed} for ada"));
    assert!(
        seen.log_bodies
            .iter()
            .any(|b| *b == format!("login of ada with {hashed} refused")),
        "{:?}",
        seen.log_bodies
    );
    // The program's rule decides for its key; the built-in ones still mask the rest.
    assert_eq!(attr_str(span, "http.request.header.authorization"), MASK);
}

#[test]
fn default_rules_also_mask_personal_data_in_text() {
    let seen = run(|b| b.redact(Redaction::default_rules()));
    for (what, text) in seen.texts() {
        for secret in KEYED.iter().chain(&[MAIL, CARD]) {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked to the {what}:\n{text}"
            );
        }
    }
}

#[test]
fn the_opt_out_records_secret_keys_as_written() {
    let seen = run(|b| b.redact_secret_keys(false));
    let span = seen.span();
    assert_eq!(attr_str(span, "password"), PASSWORD);
    assert_eq!(
        attr_str(span, "http.request.header.authorization"),
        AUTHORIZATION
    );
    assert_error(span, &format!("bad password {PASSWORD} for ada"));
    assert_eq!(seen.metrics.one("attempts").attrs["auth.token"], TOKEN);
    assert!(seen.logs.contains(PASSWORD), "{}", seen.logs);
}

#[test]
fn the_pipeline_file_opts_out_only_beside_defaults_false() {
    use traced::file_config;
    let conflict = file_config::parse(
        "redact.yaml",
        "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - traced_redaction:\n        secret_keys: false\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        conflict.contains("secret_keys: false") && conflict.contains("defaults: false"),
        "{conflict}"
    );
    let config = file_config::parse(
        "redact.yaml",
        "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - traced_redaction:\n        defaults: false\n        secret_keys: false\n",
    )
    .unwrap();
    let seen = run_on(config.builder(), |b| b);
    assert_eq!(attr_str(seen.span(), "password"), PASSWORD);
    let config = file_config::parse(
        "redact.yaml",
        "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - traced_redaction:\n        defaults: false\n        hash_keys: [user.name]\n",
    )
    .unwrap();
    let seen = run_on(config.builder(), |b| b);
    assert_eq!(
        attr_str(seen.span(), "password"),
        MASK,
        "still masked by default"
    );
    assert!(attr_str(seen.span(), "user.name").starts_with("hmac:"));
}

#[test]
fn otlp_bytes_of_all_three_signals_carry_no_secret_key_value() {
    let receiver = harness::Receiver::start();
    let endpoint = receiver.endpoint("http/protobuf");
    without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .setting("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .setting("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .setting("OTEL_TRACES_EXPORTER", "otlp")
            .setting("OTEL_METRICS_EXPORTER", "otlp")
            .setting("OTEL_LOGS_EXPORTER", "otlp")
            .init();
        let _ = login("ada", PASSWORD);
        drop(guard);
    });
    let lines = receiver.wait_until(
        "the login span, its log record and the attempts metric",
        |lines| {
            ["span", "log", "metric"]
                .iter()
                .all(|signal| lines.iter().any(|l| l["signal"] == *signal))
                && lines.iter().any(|l| l["name"] == "attempts")
        },
        harness::span_names,
    );
    let text = format!("{lines:?}");
    for secret in KEYED {
        assert!(
            !text.contains(secret),
            "{secret:?} went over the wire:\n{text}"
        );
    }
    assert!(!text.contains("hunter2"), "{text}");
    let span = lines.iter().find(|l| l["name"] == "login").unwrap();
    assert_eq!(span["attributes"]["password"], MASK);
    assert_eq!(span["attributes"]["user.name"], "ada");
}
