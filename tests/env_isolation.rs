//! `Builder::ignore_env()` and a pipeline file keep the process environment out
//! of every exporter: with a hostile `OTEL_*` environment (endpoints elsewhere,
//! leaked headers, a 1 ms timeout, the other protocol, sampling and exporters
//! off, the SDK disabled), spans, metrics and log records of both protocols still
//! reach the receiver the code or the file names, carrying only the headers and
//! the resource the code or the file sets. An independent receiver decodes them
//! (`tests/otlp/receiver.py`).
#![cfg(all(feature = "enabled", feature = "otlp"))]

#[path = "otlp/harness.rs"]
mod harness;

use harness::{serial, set_otel_env, Json, Receiver};
use traced::traced;

#[traced(metrics)]
fn isolated_work() {
    traced::event!("isolated.event", n = 1);
}

/// An environment in which every variable would send elsewhere or change what
/// is sent, were it read.
fn hostile_env(protocol: &str) {
    let other = if protocol == "grpc" {
        "http/protobuf"
    } else {
        "grpc"
    };
    set_otel_env(&[
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:9/v1/traces",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://127.0.0.1:9/v1/metrics",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://127.0.0.1:9/v1/logs",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-test-leak=env"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "x-test-leak=traces,x-test-token=env",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-test-leak=metrics"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-test-leak=logs"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", other),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
        ("OTEL_SERVICE_NAME", "leaked"),
        ("OTEL_RESOURCE_ATTRIBUTES", "leak=1,service.name=leaked"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_PROPAGATORS", "none"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "1"),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
    ]);
}

/// Runs the work under `guard`, shuts down, and checks that one span, one call
/// metric and one log record arrived over `transport`, each with exactly the
/// `x-test-token` header `token` and the resource `service`.
fn assert_isolated(
    receiver: &Receiver,
    guard: traced::Guard,
    transport: &str,
    token: &str,
    service: &str,
) {
    isolated_work();
    guard.shutdown().expect("shutdown");
    let has = |lines: &[Json], signal: &str| lines.iter().any(|l| l["signal"] == signal);
    let lines = receiver.wait_until(
        "a span, a metric and a log record",
        |lines| has(lines, "span") && has(lines, "metric") && has(lines, "log"),
        |lines| {
            let signals: Vec<&str> = lines.iter().map(|l| l["signal"].as_str()).collect();
            format!("{signals:?}")
        },
    );
    for line in &lines {
        let what = format!("{} {}", line["signal"].as_str(), line["name"].as_str());
        assert_eq!(line["transport"], transport, "{what}");
        assert_eq!(
            line["headers"]["x-test-token"], token,
            "{what}: the configured header"
        );
        assert_eq!(
            line["headers"]["x-test-leak"],
            Json::Null,
            "{what}: a header from the environment leaked"
        );
        match &line["headers"] {
            Json::Object(members) => assert_eq!(
                members.len(),
                1,
                "{what}: headers {:?}",
                members.iter().map(|(k, _)| k).collect::<Vec<_>>()
            ),
            other => panic!("{what}: headers {other:?}"),
        }
        assert_eq!(line["resource"]["service.name"], service, "{what}");
        if transport == "http" {
            assert_eq!(
                line["encoding"], "identity",
                "{what}: the compression setting leaked"
            );
        }
        assert_eq!(
            line["resource"]["leak"],
            Json::Null,
            "{what}: OTEL_RESOURCE_ATTRIBUTES leaked"
        );
        if line["signal"] == "metric" {
            assert_ne!(
                line["temporality"], "delta",
                "{what}: the temporality preference leaked"
            );
        }
    }
    let span = lines.iter().find(|l| l["signal"] == "span").unwrap();
    assert_eq!(span["name"], "isolated_work");
    let log = lines.iter().find(|l| l["signal"] == "log").unwrap();
    assert_eq!(
        log["trace_id"],
        span["trace_id"].as_str(),
        "the span log belongs to the span"
    );
}

fn through_the_builder(protocol: &str, transport: &str) {
    let _turn = serial();
    // Its gRPC server refuses compressed messages: a compression setting read
    // from the environment would fail the export.
    let receiver = Receiver::start_with(&["--grpc-identity-only"]);
    hostile_env(protocol);
    let guard = traced::Builder::new()
        .ignore_env()
        .setting("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .setting("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(protocol))
        .setting("OTEL_EXPORTER_OTLP_HEADERS", "x-test-token=code")
        .service_name("isolated")
        .traces_exporters([traced::TracesExporter::Otlp])
        .metrics_exporters([traced::MetricsExporter::Otlp])
        .logs_exporters([traced::LogsExporter::Otlp])
        .span_logs(true)
        .init();
    assert!(
        guard.tracer_provider().is_some(),
        "OTEL_SDK_DISABLED leaked"
    );
    assert_isolated(&receiver, guard, transport, "code", "isolated");
}

#[test]
fn ignore_env_isolates_every_exporter_over_http() {
    through_the_builder("http/protobuf", "http");
}

#[test]
fn ignore_env_isolates_every_exporter_over_grpc() {
    through_the_builder("grpc", "grpc");
}

fn through_a_file(exporter: &str, transport: &str) {
    let _turn = serial();
    // Its gRPC server refuses compressed messages: a compression setting read
    // from the environment would fail the export.
    let receiver = Receiver::start_with(&["--grpc-identity-only"]);
    let protocol = if exporter == "otlp_grpc" {
        "grpc"
    } else {
        "http/protobuf"
    };
    hostile_env(protocol);
    let base = receiver.endpoint(protocol);
    let endpoint = |path: &str| {
        if exporter == "otlp_grpc" {
            base.clone()
        } else {
            format!("{base}{path}")
        }
    };
    let yaml = format!(
        r#"file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: isolated-file
tracer_provider:
  processors:
    - traced_span_logs:
    - batch:
        exporter:
          {exporter}:
            endpoint: {traces}
            headers:
              - name: x-test-token
                value: file
meter_provider:
  readers:
    - periodic:
        exporter:
          {exporter}:
            endpoint: {metrics}
            headers:
              - name: x-test-token
                value: file
logger_provider:
  processors:
    - batch:
        exporter:
          {exporter}:
            endpoint: {logs}
            headers:
              - name: x-test-token
                value: file
"#,
        traces = endpoint("/v1/traces"),
        metrics = endpoint("/v1/metrics"),
        logs = endpoint("/v1/logs"),
    );
    let path = std::env::temp_dir().join(format!(
        "traced-isolation-{}-{exporter}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, yaml).expect("write the pipeline file");
    let guard = traced::init_from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&path);
    assert_isolated(&receiver, guard, transport, "file", "isolated-file");
}

#[test]
fn a_pipeline_file_isolates_every_exporter_over_http() {
    through_a_file("otlp_http", "http");
}

#[test]
fn a_pipeline_file_isolates_every_exporter_over_grpc() {
    through_a_file("otlp_grpc", "grpc");
}
