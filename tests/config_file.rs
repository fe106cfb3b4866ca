//! Configuration files (`OTEL_CONFIG_FILE`, `traced::init_from_file`): the
//! OpenTelemetry declarative configuration format, with `traced`'s processors as
//! extensions. What a file resolves to, environment substitution, the error
//! messages (snapshots), the example files in `config/`, and end to end: spans
//! through a file-configured pipeline, and a child process whose console output
//! is read back.
#![cfg(feature = "enabled")]

#[path = "otlp/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use traced::file_config::{self, ConfigError, FileConfig};
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::traced;

/// `init` installs process-wide providers: the tests that install take turns.
static INSTALL: Mutex<()> = Mutex::new(());

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn parse(yaml: &str) -> Result<FileConfig, ConfigError> {
    file_config::parse_with_env("config.yaml", yaml, env_of(&[]))
}

fn error(yaml: &str) -> String {
    parse(yaml).expect_err("the file is invalid").to_string()
}

fn example(name: &str) -> (String, String) {
    let path = format!("{}/config/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the example exists");
    (format!("config/{name}"), text)
}

/// A file of its own in the temporary directory.
fn temp_file(name: &str, yaml: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("traced-{}-{name}", std::process::id()));
    std::fs::write(&path, yaml).expect("the temporary directory is writable");
    path
}

// ---------------------------------------------------------------- examples

#[test]
fn development_example_sends_all_three_signals_to_the_console() {
    let (name, text) = example("development.yaml");
    let config = file_config::parse_with_env(&name, &text, env_of(&[])).unwrap();
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    assert_eq!(
        config.setting("OTEL_PROPAGATORS"),
        Some("tracecontext,baggage")
    );
    assert_eq!(config.setting("OTEL_BSP_SCHEDULE_DELAY"), Some("1000"));
    assert_eq!(config.setting("OTEL_METRIC_EXPORT_INTERVAL"), Some("10000"));
    assert!(
        config
            .settings()
            .all(|(k, _)| !k.starts_with("OTEL_EXPORTER_OTLP")),
        "no OTLP: {config:#?}"
    );
    insta::assert_snapshot!("development_example", format!("{config:#?}"));
}

#[test]
fn production_example_uses_otlp_with_redaction_and_span_metrics() {
    let (name, text) = example("production.yaml");

    // Nothing set: the defaults in the file apply.
    let config = file_config::parse_with_env(&name, &text, env_of(&[])).unwrap();
    for (signal, path) in [
        ("TRACES", "traces"),
        ("METRICS", "metrics"),
        ("LOGS", "logs"),
    ] {
        assert_eq!(
            config.setting(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")),
            Some(format!("http://localhost:4318/v1/{path}").as_str())
        );
        assert_eq!(
            config.setting(&format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")),
            Some("http/protobuf")
        );
        assert_eq!(
            config.setting(&format!("OTEL_EXPORTER_OTLP_{signal}_HEADERS")),
            None
        );
    }
    // The batch settings are the specification's defaults.
    for (name, value) in [
        ("OTEL_BSP_SCHEDULE_DELAY", "5000"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "30000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "2048"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "1000"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "60000"),
    ] {
        assert_eq!(config.setting(name), Some(value), "{name}");
    }
    assert_eq!(config.setting("OTEL_RESOURCE_ATTRIBUTES"), None);
    // Without REDACTION_KEY the hash key is random per process, and it says so.
    assert_eq!(config.warnings().len(), 1, "{:?}", config.warnings());
    assert!(config.warnings()[0].contains("no hash_secret"));
    insta::assert_snapshot!("production_example", format!("{config:#?}"));

    // A deployment's variables.
    let config = file_config::parse_with_env(
        &name,
        &text,
        env_of(&[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector.internal:4318",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=checkout"),
            ("REDACTION_KEY", "shared-key"),
            ("TRACES_SAMPLE_RATIO", "0.5"),
        ]),
    )
    .unwrap();
    assert_eq!(
        config.setting("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        Some("https://collector.internal:4318/v1/traces")
    );
    assert_eq!(
        config.setting("OTEL_EXPORTER_OTLP_LOGS_HEADERS"),
        Some("x-api-key=s3cr3t")
    );
    assert_eq!(
        config.setting("OTEL_RESOURCE_ATTRIBUTES"),
        Some("service.name=checkout")
    );
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    let debug = format!("{config:?}");
    assert!(
        debug.contains("sampler: ParentBased(TraceIdRatioBased(0.5))"),
        "{debug}"
    );
    // Secrets stay out of the Debug output.
    assert!(
        !debug.contains("s3cr3t") && !debug.contains("shared-key"),
        "{debug}"
    );
    assert!(debug.contains("x-api-key=***"), "{debug}");
}

// ---------------------------------------------------------------- round trips

#[test]
fn a_file_becomes_builder_settings() {
    let config = parse(
        r#"
file_format: "1.0"
disabled: false
log_level: info
attribute_limits:
  attribute_count_limit: 128
resource:
  attributes:
    - name: service.name
      value: checkout
    - name: service.instance.count
      value: 3
      type: int
    - name: canary
      value: true
      type: bool
    - name: weights
      value: [0.5, 1]
      type: double_array
    - name: dropped
      value:
  attributes_list: team=payments,region=eu
propagator:
  composite:
    - tracecontext: {}
  composite_list: baggage,tracecontext
tracer_provider:
  limits:
    event_count_limit: 128
  id_generator:
    random:
  sampler:
    parent_based:
      root:
        trace_id_ratio_based:
          ratio: 0.25
      remote_parent_sampled:
        always_on:
      local_parent_not_sampled:
        always_off:
  processors:
    - traced_filter:
        drop_names: ["GET /health*"]
        drop_attributes:
          - key: http.route
            value: /metrics
        drop_kinds: [internal]
        also_from_span_metrics: true
    - traced_redaction:
        defaults: false
        mask_keys: [session.id]
        value_patterns:
          - pattern: 'acct-\d{8}'
          - pattern: '\bord-\d+'
            action: hash
        hash_secret: k
    - traced_span_metrics:
        dimensions: [http.route]
        buckets_ms: [1, 10, 100]
        cardinality_limit: 500
    - traced_span_logs: {}
    - traced_baggage_attributes:
        keys: [tenant.id, session.id]
    - batch:
        max_queue_size: 100
        max_export_batch_size: 10
        exporter:
          otlp_grpc:
            endpoint: http://collector:4317
            headers:
              - name: x-api-key
                value: "a,b%c"
              - name: x-dropped
                value:
            headers_list: "x-api-key=old,x-tenant=acme"
            compression: none
            timeout: 2500
            tls:
              ca_file:
              insecure: false
    - simple:
        exporter:
          console:
meter_provider:
  exemplar_filter: always_on
  readers:
    - periodic:
        interval: 15000
        exporter:
          otlp_http:
            temporality_preference: delta
    - periodic:
        interval: 15000
        exporter:
          console:
            temporality_preference: low_memory
    - pull:
        exporter:
          prometheus/development:
            host: 127.0.0.1
            port: 0
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_http:
            endpoint: http://collector:4318/v1/logs
"#,
    )
    .unwrap();
    let settings: Vec<(&str, &str)> = config.settings().collect();
    assert_eq!(
        settings,
        [
            ("OTEL_BLRP_EXPORT_TIMEOUT", "30000"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "512"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "2048"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "1000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "30000"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_SCHEDULE_DELAY", "5000"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://collector:4318/v1/logs"
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "10000"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http://localhost:4318/v1/metrics"
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "10000"),
            // `headers` win over `headers_list`; values are escaped as the
            // variable's format wants; a null value leaves the header out.
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://collector:4317"
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "x-tenant=acme,x-api-key=a%2Cb%25c"
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_METRICS_EXEMPLAR_FILTER", "always_on"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "30000"),
            ("OTEL_PROPAGATORS", "tracecontext,baggage"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=payments,region=eu"),
        ]
    );
    assert!(!config.disabled());
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    insta::assert_snapshot!("round_trip", format!("{config:#?}"));
}

#[test]
fn no_provider_sections_mean_no_op_providers() {
    // The specification's defaults: no propagator, and nothing exported.
    let config = parse("file_format: \"1.0\"\n").unwrap();
    assert_eq!(config.setting("OTEL_PROPAGATORS"), Some("none"));
    insta::assert_snapshot!("minimal", format!("{config:#?}"));

    let config = parse("file_format: \"1.0\"\ndisabled: true\n").unwrap();
    assert!(config.disabled());
    assert_eq!(config.setting("OTEL_SDK_DISABLED"), Some("true"));
}

#[test]
fn older_and_newer_file_formats() {
    // 0.3: the OTLP exporter was `otlp`, with `protocol`.
    let config = parse(
        r#"
file_format: "0.3"
tracer_provider:
  processors:
    - batch:
        exporter:
          otlp:
            protocol: grpc
            endpoint: http://collector:4317
            insecure: false
meter_provider:
  readers:
    - pull:
        exporter:
          prometheus:
            host: localhost
            port: 9464
            without_units: false
"#,
    )
    .unwrap();
    assert_eq!(
        config.setting("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        Some("grpc")
    );
    for version in ["0.4", "1.0-rc.2", "1.0", "1.1"] {
        let config = parse(&format!("file_format: \"{version}\"\n")).unwrap();
        assert!(config.warnings().is_empty(), "{version}");
    }
    let config = parse("file_format: \"1.7\"\n").unwrap();
    assert!(config.warnings()[0].contains("newer than the 1.1 traced knows"));
    for version in ["2.0", "0.2"] {
        let message = error(&format!("file_format: \"{version}\"\n"));
        assert!(message.starts_with("unsupported file_format"), "{message}");
    }
}

// ---------------------------------------------------------------- substitution

#[test]
fn environment_substitution_with_and_without_defaults() {
    let yaml = r#"
file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: ${SERVICE}
    - name: region
      value: ${REGION:-eu-west-1}
    - name: literal
      value: $${NOT_A_REFERENCE} costs 5$
    - name: quoted_number
      value: "${PORT}"
    - name: prefixed
      value: ${env:SERVICE}-worker
tracer_provider:
  sampler:
    trace_id_ratio_based:
      ratio: ${RATIO:-1}
  processors:
    - batch:
        schedule_delay: ${DELAY}
        exporter:
          otlp_http:
            endpoint: http://${HOST:-localhost}:${PORT}/v1/traces
"#;
    let set = file_config::parse_with_env(
        "config.yaml",
        yaml,
        env_of(&[
            ("SERVICE", "checkout"),
            ("REGION", "us-east-2"),
            ("PORT", "4318"),
            ("RATIO", "0.5"),
            ("DELAY", "250"),
            ("HOST", "collector"),
        ]),
    )
    .unwrap();
    let debug = format!("{set:?}");
    for expected in [
        "\"checkout\"",
        "\"us-east-2\"",
        "\"${NOT_A_REFERENCE} costs 5$\"",
        // Quoted: a string, even though the value is a number.
        "\"4318\"",
        "\"checkout-worker\"",
        "sampler: TraceIdRatioBased(0.5)",
    ] {
        assert!(debug.contains(expected), "{expected} in {debug}");
    }
    assert_eq!(set.setting("OTEL_BSP_SCHEDULE_DELAY"), Some("250"));
    assert_eq!(
        set.setting("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        Some("http://collector:4318/v1/traces")
    );

    // Unset: the defaults, and empty (null) values where there is none.
    let unset = file_config::parse_with_env(
        "config.yaml",
        yaml,
        env_of(&[("SERVICE", "checkout"), ("PORT", "4318"), ("REGION", "")]),
    )
    .unwrap();
    let debug = format!("{unset:?}");
    assert!(
        debug.contains("\"eu-west-1\""),
        "an empty variable takes the default: {debug}"
    );
    assert!(debug.contains("sampler: TraceIdRatioBased(1.0)"), "{debug}");
    assert_eq!(unset.setting("OTEL_BSP_SCHEDULE_DELAY"), Some("5000"));
    assert_eq!(
        unset.setting("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        Some("http://localhost:4318/v1/traces")
    );

    // A value that is not a number where one is expected.
    let message = file_config::parse_with_env(
        "config.yaml",
        yaml,
        env_of(&[("SERVICE", "x"), ("PORT", "4318"), ("DELAY", "soon")]),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        message,
        "expected a whole number for `schedule_delay` at config.yaml:21:25, found a string (\"soon\")"
    );
    // Substitution is not recursive, and never builds structure.
    let config = file_config::parse_with_env(
        "config.yaml",
        "file_format: \"1.0\"\nresource:\n  attributes:\n    - name: a\n      value: ${V}\n",
        env_of(&[("V", "${SERVICE}\nkey: value")]),
    )
    .unwrap();
    assert!(format!("{config:?}").contains("\"${SERVICE}\\nkey: value\""));
}

// ---------------------------------------------------------------- errors

#[test]
fn unknown_key_suggests_the_nearest() {
    let message = error(
        r#"file_format: "1.0"
tracer_provider:
  procesors:
    - batch:
        exporter:
          console:
"#,
    );
    insta::assert_snapshot!("error_unknown_key", message);
    let message = error("file_format: \"1.0\"\ntracer_provder: {}\n");
    insta::assert_snapshot!("error_unknown_top_level_key", message);
    let message = error(
        "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - traced_redaction: {hash_key: [user.id]}\n",
    );
    assert!(message.contains("did you mean `hash_keys`?"), "{message}");
    // Far from any key: the valid ones are listed.
    let message = error("file_format: \"1.0\"\npropagator:\n  what: 1\n");
    assert_eq!(
        message,
        "unknown key `what` in propagator at config.yaml:3:3; expected `composite` or `composite_list`"
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let message = error(
        r#"file_format: "1.0"
tracer_provider:
  sampler:
    trace_id_ratio_based:
      ratio: half
  processors:
    - batch: {exporter: {console: }}
"#,
    );
    insta::assert_snapshot!("error_wrong_type", message);
    let message = error("file_format: 1.0\n");
    insta::assert_snapshot!("error_unquoted_file_format", message);
    let message = error(
        "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - batch:\n        max_queue_size: -1\n        exporter: {console: }\n",
    );
    assert_eq!(
        message,
        "`max_queue_size` at config.yaml:5:25 must be 0 or more, found -1"
    );
    let message = error(
        "file_format: \"1.0\"\ntracer_provider:\n  sampler: {trace_id_ratio_based: {ratio: 1.5}}\n  processors: [batch: {exporter: {console: }}]\n",
    );
    assert_eq!(
        message,
        "`ratio` at config.yaml:3:43 must be from 0 to 1, found 1.5"
    );
}

#[test]
fn bad_yaml_names_the_place() {
    let message = error(
        "file_format: \"1.0\"\ntracer_provider:\n  processors: [batch: {exporter: console}\n",
    );
    insta::assert_snapshot!("error_bad_yaml", message);
    let message = error("file_format: \"1.0\"\nresource: {}\nresource: {}\n");
    insta::assert_snapshot!("error_duplicate_key", message);
}

#[test]
fn unknown_exporter_lists_the_known_ones() {
    let message = error(
        r#"file_format: "1.0"
tracer_provider:
  processors:
    - batch:
        exporter:
          jaeger:
            endpoint: http://jaeger:14268
"#,
    );
    insta::assert_snapshot!("error_unknown_exporter", message);
    let message = error(
        "file_format: \"1.0\"\nlogger_provider:\n  processors:\n    - batch:\n        exporter: {otlp_htp: {}}\n",
    );
    assert!(
        message.ends_with("; did you mean `otlp_http`?"),
        "{message}"
    );
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = file_config::load("does/not/exist.yaml").unwrap_err();
    assert_eq!(err.file(), "does/not/exist.yaml");
    assert_eq!(err.line(), None);
    insta::assert_snapshot!("error_missing_file", err.to_string());
    let err = traced::init_from_file("does/not/exist.yaml").unwrap_err();
    assert!(err
        .to_string()
        .starts_with("cannot read does/not/exist.yaml"));
}

#[test]
fn what_cannot_be_mapped_is_an_error_saying_so() {
    let cases = [
        // Schema features traced does not do, set to something else than their default.
        "meter_provider:\n  readers: [periodic: {exporter: {console: }}]\n  views:\n    - selector: {instrument_name: x}\n      stream: {name: y}\n",
        "tracer_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_http:\n",
        "tracer_provider:\n  processors:\n    - batch:\n        exporter: {otlp_http: {timeout: 0}}\n",
        "tracer_provider:\n  processors: [batch: {exporter: {console: }}]\n  limits:\n    attribute_count_limit: 64\n",
        "tracer_provider:\n  processors: [batch: {exporter: {console: }}]\n  sampler:\n    always_record:\n      root: {always_on: }\n",
        "tracer_provider:\n  processors: [batch: {exporter: {console: }}]\n  sampler:\n    parent_based:\n      remote_parent_not_sampled: {always_on: }\n",
        "propagator:\n  composite: [b3: {}]\n",
        "tracer_provider:\n  processors:\n    - batch: {exporter: {otlp_http: {}}}\n    - batch: {exporter: {otlp_grpc: {}}}\n",
        "tracer_provider:\n  processors:\n    - batch: {schedule_delay: 100, exporter: {console: }}\n    - batch: {exporter: {otlp_http: }}\n",
        "tracer_provider:\n  processors:\n    - batch: {exporter: {console: }}\n    - traced_redaction: {}\n",
        "tracer_provider:\n  processors:\n    - traced_redaction: {value_patterns: [pattern: 'acct-(\\d+']}\n",
        "log_level: debug\n",
        "instrumentation/development:\n  general: {}\n",
    ];
    let messages: Vec<String> = cases
        .iter()
        .map(|case| error(&format!("file_format: \"1.0\"\n{case}")))
        .collect();
    insta::assert_snapshot!("error_cannot_be_mapped", messages.join("\n"));
}

/// The exporters' `tls` blocks (and the 0.3 format's keys) become the signal's
/// TLS settings, `compression: gzip` its compression; `insecure: true` is for
/// gRPC only.
#[test]
fn tls_blocks_and_compression_become_the_signal_settings() {
    let config = parse(
        r#"file_format: "1.0"
tracer_provider:
  processors:
    - batch:
        exporter:
          otlp_grpc:
            endpoint: collector:4317
            compression: gzip
            tls:
              ca_file: /etc/otel/ca.pem
              key_file: /etc/otel/client.key
              cert_file: /etc/otel/client.pem
              insecure: true
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_http:
            endpoint: https://collector:4318/v1/logs
            tls:
              ca_file: /etc/otel/logs-ca.pem
              cert_file:
"#,
    )
    .unwrap();
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/otel/ca.pem"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
            "/etc/otel/client.key",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "/etc/otel/client.pem",
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
            "/etc/otel/logs-ca.pem",
        ),
    ] {
        assert_eq!(config.setting(name), Some(value), "{name}");
    }
    assert_eq!(
        config.setting("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"),
        None
    );
    let legacy = parse(
        "file_format: \"0.3\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp:\n            protocol: http/protobuf\n            certificate: /etc/ca.pem\n            client_key: /etc/k.pem\n            client_certificate: /etc/c.pem\n",
    )
    .unwrap();
    assert_eq!(
        legacy.setting("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"),
        Some("/etc/ca.pem")
    );
    assert_eq!(
        legacy.setting("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"),
        Some("/etc/k.pem")
    );
    let e = error(
        "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            tls: {insecure: true}\n",
    );
    assert!(e.contains("`insecure` is for gRPC"), "{e}");
}

// ---------------------------------------------------------------- end to end

#[traced(attrs(user.id = user, password = "hunter2", note = "card 4111 1111 1111 1111"))]
fn place_order(user: &str) -> u8 {
    traced::event!("order.placed", account = "acct-12345678");
    1
}

#[traced]
fn health_check() {}

#[traced(kind = server, name = "GET /healthz")]
fn healthz() {}

/// The file's pipeline, with an in-memory exporter added in code: what it
/// receives went through the file's sampler, filter and redaction.
#[test]
fn spans_go_through_the_files_pipeline() {
    let _turn = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    let config = parse(
        r#"
file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: file-configured
tracer_provider:
  sampler:
    always_on:
  processors:
    - traced_filter:
        drop_names: [health_check]
    - traced_redaction:
        hash_keys: [user.id]
        value_patterns:
          - pattern: 'acct-\d{8}'
        hash_secret: shared
"#,
    )
    .unwrap();
    let exporter = InMemorySpanExporter::default();
    let guard = config.builder().simple_exporter(exporter.clone()).init();
    place_order("alice");
    health_check();
    guard.flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    drop(guard);

    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["place_order"], "the filter dropped health_check");
    let attr = |key: &str| {
        spans[0]
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    };
    assert_eq!(attr("password").as_deref(), Some("[REDACTED]"));
    assert_eq!(attr("note").as_deref(), Some("card [REDACTED]"));
    let user = attr("user.id").unwrap();
    assert!(
        user.starts_with("hmac:") && !user.contains("alice"),
        "{user}"
    );
    let account = spans[0].events[0].attributes[0].value.as_str().into_owned();
    assert_eq!(account, "[REDACTED]");
}

#[test]
fn the_files_sampler_applies() {
    let _turn = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    let config = parse(
        "file_format: \"1.0\"\ntracer_provider:\n  sampler: {always_off: }\n  processors: [traced_span_logs: ]\n",
    )
    .unwrap();
    assert_eq!(
        config.warnings().len(),
        1,
        "span logs with no logger provider"
    );
    let exporter = InMemorySpanExporter::default();
    let guard = config.builder().simple_exporter(exporter.clone()).init();
    place_order("bob");
    guard.flush().unwrap();
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}

#[traced(attrs(order.id = 42))]
fn child_checkout() -> u8 {
    2
}

/// The child side of the tests below: with `TRACED_CONFIG_CHILD` set, this test
/// installs telemetry the way it names and traces one call; otherwise it does
/// nothing.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var("TRACED_CONFIG_CHILD") else {
        return;
    };
    let guard = match mode.as_str() {
        "init_from_file" => {
            let path = std::env::var("TRACED_CONFIG_PATH").unwrap();
            traced::init_from_file(path).unwrap()
        }
        _ => traced::init(),
    };
    child_checkout();
    drop(guard);
}

/// Runs `child_process` in a new process of this test binary; its stderr.
fn run_child(mode: &str, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRACED_CONFIG_CHILD", mode)
        .env("NO_COLOR", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stderr}");
    stderr
}

const CONSOLE_FILE: &str = r#"
file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: config-e2e
tracer_provider:
  processors:
    - simple:
        exporter:
          console:
"#;

#[test]
fn init_from_file_prints_the_trace_on_the_console() {
    let path = temp_file("console.yaml", CONSOLE_FILE);
    let stderr = run_child(
        "init_from_file",
        &[
            ("TRACED_CONFIG_PATH", path.to_str().unwrap()),
            // Ignored: a file replaces the OTEL_* environment.
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    );
    std::fs::remove_file(&path).ok();
    assert!(stderr.contains("· config-e2e ·"), "{stderr}");
    assert!(stderr.contains("child_checkout"), "{stderr}");
    assert!(stderr.contains("order.id=42"), "{stderr}");
}

#[test]
fn otel_config_file_configures_init() {
    let path = temp_file("otel-config-file.yaml", CONSOLE_FILE);
    let stderr = run_child(
        "init",
        &[
            ("OTEL_CONFIG_FILE", path.to_str().unwrap()),
            ("OTEL_TRACES_EXPORTER", "none"),
        ],
    );
    std::fs::remove_file(&path).ok();
    assert!(stderr.contains("· config-e2e ·"), "{stderr}");
    assert!(stderr.contains("child_checkout"), "{stderr}");
}

const UNSET_RATIO_FILE: &str = r#"file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: config-e2e
tracer_provider:
  sampler:
    trace_id_ratio_based:
      ratio: ${TRACED_TEST_UNSET_RATIO}
  processors:
    - simple:
        exporter:
          console:
"#;

#[test]
fn an_unset_variable_without_a_default_is_said_once() {
    // Read without installing: the warning names file, line, column, key and variable.
    let config = file_config::parse_with_env("ratio.yaml", UNSET_RATIO_FILE, env_of(&[])).unwrap();
    let expected = "ratio.yaml:9:14: `ratio` references ${TRACED_TEST_UNSET_RATIO} without a \
                    default and TRACED_TEST_UNSET_RATIO is not set: the value is empty, so it is \
                    null, as if the key were not there (`${TRACED_TEST_UNSET_RATIO:-value}` gives \
                    a default)";
    assert_eq!(config.warnings(), [expected]);
    // Then the file is read as the specification says: a null ratio is the default, 1.0.
    let set = file_config::parse_with_env(
        "ratio.yaml",
        UNSET_RATIO_FILE,
        env_of(&[("TRACED_TEST_UNSET_RATIO", "1.0")]),
    )
    .unwrap();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    for c in [&config, &set] {
        assert!(
            format!("{c:#?}").contains("sampler: TraceIdRatioBased(\n        1.0,\n    ),"),
            "{c:#?}"
        );
    }

    // Installed through OTEL_CONFIG_FILE: said on stderr, once, and the trace is sampled.
    let path = temp_file("unset-ratio.yaml", UNSET_RATIO_FILE);
    let stderr = run_child("init", &[("OTEL_CONFIG_FILE", path.to_str().unwrap())]);
    let shown = path.display().to_string();
    std::fs::remove_file(&path).ok();
    let line = format!("traced: {}", expected.replacen("ratio.yaml", &shown, 1));
    assert_eq!(stderr.matches(&line).count(), 1, "{stderr}");
    assert!(stderr.contains("child_checkout"), "{stderr}");
}

#[test]
fn a_broken_otel_config_file_installs_nothing() {
    let path = temp_file(
        "broken.yaml",
        "file_format: \"1.0\"\ntracer_provider:\n  procesors: []\n",
    );
    let stderr = run_child(
        "init",
        &[
            ("OTEL_CONFIG_FILE", path.to_str().unwrap()),
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ],
    );
    let shown = path.display().to_string();
    std::fs::remove_file(&path).ok();
    assert!(
        stderr.contains(&format!(
            "traced: OTEL_CONFIG_FILE: unknown key `procesors` in tracer_provider at {shown}:3:3; did you mean `processors`?; telemetry is off"
        )),
        "{stderr}"
    );
    // Not the environment's console exporter: nothing at all.
    assert!(!stderr.contains("· from-env ·"), "{stderr}");
    assert!(!stderr.contains("child_checkout"), "{stderr}");
}

#[test]
fn mistakes_in_the_environment_are_named_with_what_to_do() {
    let stderr = run_child(
        "init",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "/v1/logs"),
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_METRICS_EXPORTER", "promethus"),
            ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1"),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", "0"),
        ],
    );
    for expected in [
        "traced: OTLP span export is off: OTEL_EXPORTER_OTLP_ENDPOINT=\"localhost:4318\" is not a usable endpoint: it has no scheme (expected a URL such as http://localhost:4318)",
        "traced: OTLP log export is off: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=\"/v1/logs\" is not a usable endpoint: it has no scheme and no host",
        "traced: OTEL_METRICS_EXPORTER=\"promethus\" is not valid (expected otlp, prometheus, otlp_file, console or none); using the default exporter",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

/// A collector stand-in on 127.0.0.1 that answers every request with `503` and
/// a body, for at most `connections` connections or 20 s.
fn unavailable_collector(connections: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = "collector overloaded, try later";
            let _ = write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            if std::time::Instant::now() > deadline {
                break;
            }
        }
    });
    port
}

#[test]
fn export_failures_name_the_endpoint_and_the_cause() {
    // Nothing listens on the port of a listener just dropped: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let stderr = run_child(
        "init",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let expected = format!(
        "traced: traces: export to {endpoint}/v1/traces failed: POST {endpoint}/v1/traces: "
    );
    assert!(
        stderr.contains(&expected),
        "missing {expected:?} in:\n{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    // Kept for retry, then, at shutdown, what could not be delivered within the
    // guard's bound is said, not the SDK's opaque error.
    assert!(stderr.contains("(kept for retry)"), "{stderr}");
    assert!(
        stderr.contains("traced: shutdown did not complete: OTLP delivery: ")
            && stderr.contains("traces: 1 request (")
            && stderr.contains("not delivered to http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("InternalFailure"), "{stderr}");

    let port = unavailable_collector(8);
    let endpoint = format!("http://127.0.0.1:{port}");
    let stderr = run_child(
        "init",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let expected = format!(
        "traced: traces: export to {endpoint}/v1/traces failed: POST {endpoint}/v1/traces: HTTP 503 Service Unavailable: \"collector overloaded, try later\""
    );
    assert!(
        stderr.contains(&expected),
        "missing {expected:?} in:\n{stderr}"
    );
}

/// `config/production.yaml` as a deployment would use it, over the wire to an
/// independent OTLP receiver (`tests/otlp/receiver.py`): endpoint and headers
/// from the variables the file substitutes, the resource, baggage on spans, the
/// filter, redaction with the shared key, and span metrics that still count the
/// filtered span.
#[test]
fn production_example_over_the_wire() {
    harness::require_python_packages();
    let _turn = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    let receiver = harness::Receiver::start();
    harness::set_otel_env(&[]);
    let (name, text) = example("production.yaml");
    let endpoint = receiver.endpoint("http/protobuf");
    let config = file_config::parse_with_env(
        &name,
        &text,
        env_of(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-test-token=from-file"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=checkout"),
            ("REDACTION_KEY", "shared"),
            ("TRACES_SAMPLE_RATIO", "1"),
        ]),
    )
    .unwrap();
    let guard = config.builder().init();
    {
        let _baggage = traced::baggage::set([("tenant.id", "acme"), ("other", "x")]);
        place_order("alice");
    }
    healthz();
    drop(guard);

    let lines = receiver.wait_until(
        "the place_order span and the span metrics of GET /healthz",
        |lines| {
            lines.iter().any(|l| l["name"] == "place_order")
                && lines.iter().any(|l| {
                    l["signal"] == "metric"
                        && l["name"] == "traces.span.metrics.calls"
                        && l["attributes"]["span.name"] == "GET /healthz"
                })
        },
        harness::span_names,
    );
    let spans: Vec<&harness::Json> = lines.iter().filter(|l| l["signal"] == "span").collect();
    assert!(
        spans.iter().all(|s| s["name"] != "GET /healthz"),
        "the filter drops health checks: {}",
        harness::span_names(&lines)
    );
    let span = spans.iter().find(|s| s["name"] == "place_order").unwrap();
    assert_eq!(span["transport"], "http");
    assert_eq!(span["headers"]["x-test-token"], "from-file");
    assert_eq!(span["resource"]["service.name"], "checkout");
    assert_eq!(
        span["resource"]["deployment.environment.name"],
        "production"
    );
    assert_eq!(span["attributes"]["tenant.id"], "acme");
    assert_eq!(
        span["attributes"]["other"],
        harness::Json::Null,
        "only listed baggage keys"
    );
    assert_eq!(span["attributes"]["password"], "[REDACTED]");
    assert_eq!(span["attributes"]["note"], "card [REDACTED]");
    let user = span["attributes"]["user.id"].as_str();
    assert!(
        user.starts_with("hmac:") && !user.contains("alice"),
        "{user}"
    );
    assert_eq!(
        span["events"].as_list()[0]["attributes"]["account"],
        "[REDACTED]"
    );
}
