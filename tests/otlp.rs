//! End to end over the wire: `traced::init()` configured only by the standard
//! `OTEL_*` variables exports the spans of `#[traced]` functions over OTLP
//! (HTTP/protobuf and gRPC), and an independent receiver decodes them with the
//! official OpenTelemetry protobuf definitions (`tests/otlp/receiver.py`).
//!
//! Needs `python3` with `pip install -r tests/otlp/requirements.txt`. Without it
//! these tests fail, saying so: they are never skipped silently.
#![cfg(all(feature = "enabled", feature = "otlp"))]

#[path = "otlp/harness.rs"]
mod harness;

use std::fmt;

#[cfg(feature = "tls")]
use harness::Pki;
use harness::{serial, set_otel_env, span_names, Json, Receiver};
use traced::traced;

// ---------------------------------------------------------------------------
// The traced code under test: a server span with a client child that carries
// typed attributes, a failing child recorded by `err`, and an event.
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct OutOfStock {
    sku: &'static str,
}

impl fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is out of stock", self.sku)
    }
}

#[traced(kind = server, name = "POST /checkout")]
fn checkout(cart_id: i64) -> bool {
    traced::event!(
        "cart.loaded",
        items = 3,
        "cart.total" = 12.5,
        gift = true,
        coupon = "SPRING"
    );
    charge_card(cart_id, 1250);
    reserve_stock("sku-42").is_ok()
}

#[traced(kind = client, attrs(
    peer.service = "payments",
    cart.id = cart_id,
    amount.cents = amount_cents,
    card.present = true,
    fx.rate = 1.25,
))]
fn charge_card(cart_id: i64, amount_cents: i64) {
    let _ = (cart_id, amount_cents);
}

#[traced(err)]
fn reserve_stock(sku: &'static str) -> Result<(), OutOfStock> {
    Err(OutOfStock { sku })
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn spans_arrive_over_otlp_http_protobuf() {
    let spans = export_checkout_over("http/protobuf");
    assert_checkout_trace(&spans, "http");
}

#[test]
fn spans_arrive_over_otlp_grpc() {
    let spans = export_checkout_over("grpc");
    assert_checkout_trace(&spans, "grpc");
}

/// The same settings made in code with `Builder::setting` instead of the
/// environment reach the exporter too (endpoint, headers and all).
#[test]
fn settings_made_in_code_reach_the_exporter() {
    for protocol in ["http/protobuf", "grpc"] {
        let _turn = serial();
        let receiver = Receiver::start();
        set_otel_env(&[]);
        let telemetry = traced::Builder::new()
            .setting("OTEL_TRACES_EXPORTER", "otlp")
            .setting("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
            .setting("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(protocol))
            .setting("OTEL_EXPORTER_OTLP_HEADERS", "x-test-token=abc")
            .setting("OTEL_SERVICE_NAME", "checkout-service")
            .setting("OTEL_METRICS_EXPORTER", "none")
            .setting("OTEL_LOGS_EXPORTER", "none")
            .init();
        let _ = checkout(7);
        drop(telemetry);
        let spans = receiver.wait_for_spans(&["POST /checkout", "charge_card", "reserve_stock"]);
        let transport = if protocol == "grpc" { "grpc" } else { "http" };
        assert_checkout_trace(&spans, transport);
    }
}

/// Runs `checkout` with `traced::init()` exporting OTLP over `protocol` to a fresh
/// receiver, drops the guard, and returns the spans the receiver decoded.
fn export_checkout_over(protocol: &str) -> Vec<Json> {
    let _turn = serial();
    let receiver = Receiver::start();
    export_checkout_to(&receiver, protocol, &[])
}

/// Runs `checkout` exporting OTLP over `protocol` to `receiver`, with `extra`
/// settings in the environment, and returns the spans the receiver decoded.
fn export_checkout_to(receiver: &Receiver, protocol: &str, extra: &[(&str, &str)]) -> Vec<Json> {
    let endpoint = receiver.endpoint(protocol);
    let mut vars = vec![
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-test-token=abc"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10000"),
        // No scheduled export before the guard drops: only its flush delivers.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ("OTEL_SERVICE_NAME", "checkout-service"),
        // Spans only: tests/otlp_metrics.rs covers metrics.
        ("OTEL_METRICS_EXPORTER", "none"),
    ];
    vars.extend_from_slice(extra);
    set_otel_env(&vars);

    let telemetry = traced::init();
    let reserved = checkout(7);
    drop(telemetry);

    assert!(!reserved, "reserve_stock always fails");
    receiver.wait_for_spans(&["POST /checkout", "charge_card", "reserve_stock"])
}

// ---------------------------------------------------------------------------
// TLS: certificates made by the test (`Pki`), a receiver serving HTTPS and
// gRPC with TLS, optionally requiring a client certificate.
// ---------------------------------------------------------------------------

const PROTOCOLS: [&str; 2] = ["http/protobuf", "grpc"];

#[cfg(feature = "tls")]
fn transport(protocol: &str) -> &'static str {
    if protocol == "grpc" {
        "grpc"
    } else {
        "http"
    }
}

/// An `https://` endpoint with the CA of `OTEL_EXPORTER_OTLP_CERTIFICATE`: the
/// receiver decodes the spans, and saw them over TLS without a client
/// certificate.
#[cfg(feature = "tls")]
#[test]
fn spans_arrive_over_tls_with_the_configured_ca() {
    let pki = Pki::new("tls");
    for protocol in PROTOCOLS {
        let _turn = serial();
        let receiver = Receiver::start_with(&pki.receiver_args(false));
        assert!(receiver.endpoint(protocol).starts_with("https://"));
        let ca = pki.path("ca.pem");
        let spans = export_checkout_to(
            &receiver,
            protocol,
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)],
        );
        assert_checkout_trace(&spans, transport(protocol));
        for span in &spans {
            assert_eq!(span["tls"], Json::Bool(true), "{protocol}: over TLS");
            assert_eq!(
                span["client"],
                Json::Null,
                "{protocol}: no client certificate"
            );
        }
    }
}

/// Mutual TLS: the client key and certificate (here the per-signal settings,
/// over general ones that name missing files) are presented to a receiver that
/// requires them, and it sees the client's name.
#[cfg(feature = "tls")]
#[test]
fn mutual_tls_presents_the_client_certificate() {
    let pki = Pki::new("mtls");
    for protocol in PROTOCOLS {
        let _turn = serial();
        let receiver = Receiver::start_with(&pki.receiver_args(true));
        let (ca, key, cert) = (
            pki.path("ca.pem"),
            pki.path("client.key"),
            pki.path("client.pem"),
        );
        let spans = export_checkout_to(
            &receiver,
            protocol,
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &ca),
                ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &key),
                ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", &cert),
                ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/nonexistent/general.key"),
                (
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                    "/nonexistent/general.pem",
                ),
            ],
        );
        assert_checkout_trace(&spans, transport(protocol));
        for span in &spans {
            assert_eq!(span["tls"], Json::Bool(true));
            assert_eq!(
                span["client"],
                Pki::CLIENT,
                "{protocol}: the client certificate"
            );
        }
    }
}

/// The child side of the tests below: with `TRACED_OTLP_CHILD` set, this test
/// runs `checkout` with `traced::init()` configured by the environment and
/// drops the guard; otherwise it does nothing.
#[test]
fn child_process() {
    if std::env::var_os("TRACED_OTLP_CHILD").is_none() {
        return;
    }
    let guard = traced::init();
    let _ = checkout(7);
    drop(guard);
}

/// Runs `child_process` in a new process of this test binary exporting spans
/// over `protocol` to `endpoint` with the `extra` settings; its stderr.
fn run_child(protocol: &str, endpoint: &str, extra: &[(&str, &str)]) -> String {
    set_otel_env(&[]);
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRACED_OTLP_CHILD", "1")
        .env("OTEL_TRACES_EXPORTER", "otlp")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000");
    for (k, v) in extra {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stderr}");
    stderr
}

/// Without the `tls` feature an `https://` endpoint turns the exporter off at
/// init, saying which feature to enable.
#[cfg(not(feature = "tls"))]
#[test]
fn https_without_the_tls_feature_names_the_feature() {
    for protocol in PROTOCOLS {
        let _turn = serial();
        let stderr = run_child(protocol, "https://127.0.0.1:9", &[]);
        assert!(
            stderr.contains("traced: OTLP span export is off: OTEL_EXPORTER_OTLP_ENDPOINT=")
                && stderr.contains("enable the `tls` feature of `traced`"),
            "{protocol}:\n{stderr}"
        );
    }
}

/// The first failure line of the child's span export to `endpoint`.
#[cfg(feature = "tls")]
fn failure_line<'a>(stderr: &'a str, endpoint: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.starts_with("traced: traces: export to ") && l.contains(" failed: "))
        .filter(|l| l.contains(endpoint))
        .unwrap_or_else(|| panic!("no failure line naming {endpoint} in:\n{stderr}"))
}

/// Without the client certificate a receiver that requires one refuses the
/// connection: nothing arrives, and the error names the endpoint and the TLS
/// reason.
#[cfg(feature = "tls")]
#[test]
fn mutual_tls_without_a_client_certificate_is_refused() {
    let pki = Pki::new("mtls-refused");
    for protocol in PROTOCOLS {
        let _turn = serial();
        let receiver = Receiver::start_with(&pki.receiver_args(true));
        let endpoint = receiver.endpoint(protocol);
        let ca = pki.path("ca.pem");
        let stderr = run_child(
            protocol,
            &endpoint,
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)],
        );
        let line = failure_line(&stderr, &endpoint);
        // Over HTTP the server's alert reaches the client; over gRPC the
        // connection is closed after the handshake, and the line says what may
        // be missing.
        let reason = if protocol == "grpc" {
            "over TLS with no client certificate: if the collector requires one (mutual TLS), set OTEL_EXPORTER_OTLP_CLIENT_KEY"
        } else {
            "received fatal alert: CertificateRequired"
        };
        assert!(
            line.contains(reason),
            "{protocol}: the TLS reason in {line:?}"
        );
        receiver.assert_nothing_within(std::time::Duration::from_millis(200));
    }
}

/// A server certificate that the configured CA did not sign is refused, and so
/// is one no public root signed when no CA is configured.
#[cfg(feature = "tls")]
#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    let pki = Pki::new("wrong-ca");
    let other = pki.path("other-ca.pem");
    for protocol in PROTOCOLS {
        for extra in [
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", other.as_str())][..],
            &[],
        ] {
            let _turn = serial();
            let receiver = Receiver::start_with(&pki.receiver_args(false));
            let endpoint = receiver.endpoint(protocol);
            let stderr = run_child(protocol, &endpoint, extra);
            let line = failure_line(&stderr, &endpoint);
            assert!(
                line.contains("invalid peer certificate: UnknownIssuer"),
                "{protocol} {extra:?}: the TLS reason in {line:?}"
            );
            receiver.assert_nothing_within(std::time::Duration::from_millis(200));
        }
    }
}

/// A certificate file that cannot be read or holds no certificate turns the
/// exporter off at init, with an error naming the setting and the file.
#[cfg(feature = "tls")]
#[test]
fn unusable_certificate_files_are_reported_at_init() {
    let pki = Pki::new("bad-files");
    let missing = pki.path("missing.pem");
    let not_pem = pki.path("server.key");
    for protocol in PROTOCOLS {
        let _turn = serial();
        let endpoint = "https://127.0.0.1:9";
        let stderr = run_child(
            protocol,
            endpoint,
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &missing)],
        );
        assert!(
            stderr.contains(&format!(
                "traced: OTLP span export is off: OTEL_EXPORTER_OTLP_CERTIFICATE={missing:?}: cannot read the file"
            )),
            "{protocol}:\n{stderr}"
        );
        let stderr = run_child(
            protocol,
            endpoint,
            &[("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &not_pem)],
        );
        assert!(
            stderr.contains(&format!(
                "traced: OTLP span export is off: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE={not_pem:?}: the file holds no certificate"
            )),
            "{protocol}:\n{stderr}"
        );
        let key = pki.path("client.key");
        let stderr = run_child(
            protocol,
            endpoint,
            &[("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key)],
        );
        assert!(
            stderr.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not"),
            "{protocol}:\n{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------

/// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` over HTTP: the body arrives
/// gzip-encoded (`Content-Encoding: gzip`) and decodes; without it, identity.
#[test]
fn gzip_bodies_over_http_are_decoded() {
    for (compression, encoding) in [("gzip", "gzip"), ("none", "identity")] {
        let _turn = serial();
        let receiver = Receiver::start();
        let spans = export_checkout_to(
            &receiver,
            "http/protobuf",
            &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", compression)],
        );
        assert_checkout_trace(&spans, "http");
        for span in &spans {
            assert_eq!(span["encoding"], encoding, "compression {compression}");
        }
    }
}

/// Over gRPC with gzip, and over TLS: a receiver that accepts compressed
/// messages decodes them, one that refuses them (`--grpc-identity-only`) gets
/// nothing, which shows the messages were compressed.
#[cfg(feature = "tls")]
#[test]
fn gzip_messages_over_grpc_are_decoded() {
    let pki = Pki::new("gzip-grpc");
    let ca = pki.path("ca.pem");
    let compressed = [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str()),
    ];
    {
        let _turn = serial();
        let receiver = Receiver::start_with(&pki.receiver_args(false));
        let spans = export_checkout_to(&receiver, "grpc", &compressed);
        assert_checkout_trace(&spans, "grpc");
    }
    let _turn = serial();
    let mut args = pki.receiver_args(false);
    args.push("--grpc-identity-only".to_owned());
    let receiver = Receiver::start_with(&args);
    let endpoint = receiver.endpoint("grpc");
    let stderr = run_child("grpc", &endpoint, &compressed);
    let line = failure_line(&stderr, &endpoint);
    assert!(
        line.contains("UNIMPLEMENTED") && line.contains("gzip"),
        "the refusal of the compressed message in {line:?}"
    );
    receiver.assert_nothing_within(std::time::Duration::from_millis(200));
    // The same receiver takes the uncompressed messages.
    let spans = export_checkout_to(
        &receiver,
        "grpc",
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str())],
    );
    assert_checkout_trace(&spans, "grpc");
}

fn assert_checkout_trace(spans: &[Json], transport: &str) {
    let server = one(spans, "POST /checkout");
    let client = one(spans, "charge_card");
    let failed = one(spans, "reserve_stock");

    for span in [server, client, failed] {
        assert_eq!(
            span["transport"], transport,
            "transport of {}",
            span["name"]
        );
        assert_eq!(span["resource"]["service.name"], "checkout-service");
        assert_eq!(span["scope"], "traced");
        assert_eq!(
            span["headers"]["x-test-token"], "abc",
            "OTEL_EXPORTER_OTLP_HEADERS should arrive as a request header"
        );
        assert_eq!(span["attributes"]["code.file.path"], "tests/otlp.rs");
        assert!(
            matches!(span["attributes"]["code.line.number"], Json::Int(n) if n > 0),
            "code.line.number of {}: {}",
            span["name"],
            span["attributes"]["code.line.number"]
        );
    }

    // One trace: the server span is the root, the other two are its children.
    let trace_id = server["trace_id"].as_str();
    assert_eq!(trace_id.len(), 32, "trace_id {trace_id:?}");
    assert_ne!(trace_id, "0".repeat(32));
    assert_eq!(server["parent_span_id"], "", "the server span is a root");
    for child in [client, failed] {
        assert_eq!(
            child["trace_id"], trace_id,
            "{} is in the server's trace",
            child["name"]
        );
        assert_eq!(
            child["parent_span_id"], server["span_id"],
            "{} is a child of the server span",
            child["name"]
        );
    }
    assert_ne!(client["span_id"], failed["span_id"]);

    assert_eq!(server["kind"], "SPAN_KIND_SERVER");
    assert_eq!(client["kind"], "SPAN_KIND_CLIENT");
    assert_eq!(failed["kind"], "SPAN_KIND_INTERNAL");

    assert_eq!(server["attributes"]["code.function.name"], "otlp::checkout");
    assert_eq!(
        client["attributes"]["code.function.name"],
        "otlp::charge_card"
    );
    assert_eq!(
        failed["attributes"]["code.function.name"],
        "otlp::reserve_stock"
    );

    // `attrs(..)` values keep their OTLP types.
    let attrs = &client["attributes"];
    assert_eq!(attrs["peer.service"], Json::Str("payments".into()));
    assert_eq!(attrs["cart.id"], Json::Int(7));
    assert_eq!(attrs["amount.cents"], Json::Int(1250));
    assert_eq!(attrs["card.present"], Json::Bool(true));
    assert_eq!(attrs["fx.rate"], Json::Float(1.25));

    // `event!` in the body, with typed attributes.
    let loaded = event(server, "cart.loaded");
    assert_eq!(loaded["items"], Json::Int(3));
    assert_eq!(loaded["cart.total"], Json::Float(12.5));
    assert_eq!(loaded["gift"], Json::Bool(true));
    assert_eq!(loaded["coupon"], Json::Str("SPRING".into()));

    assert_eq!(server["status"]["code"], "STATUS_CODE_UNSET");
    assert_eq!(client["status"]["code"], "STATUS_CODE_UNSET");

    // `err`: status Error with the message, and an `exception` event.
    assert_eq!(failed["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(failed["status"]["message"], "sku-42 is out of stock");
    let exception = event(failed, "exception");
    assert_eq!(exception["exception.message"], "sku-42 is out of stock");
    assert_eq!(exception["exception.type"], "otlp::OutOfStock");
}

/// The only span named `name`.
fn one<'a>(spans: &'a [Json], name: &str) -> &'a Json {
    let found: Vec<&Json> = spans.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?} in {}",
        span_names(spans)
    );
    found[0]
}

/// The attributes of the only event of `span` named `name`.
fn event<'a>(span: &'a Json, name: &str) -> &'a Json {
    let found: Vec<&Json> = span["events"]
        .as_list()
        .iter()
        .filter(|e| e["name"] == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one event {name:?} on {}: {}",
        span["name"],
        span["events"]
    );
    &found[0]["attributes"]
}
