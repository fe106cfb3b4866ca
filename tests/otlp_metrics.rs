//! End to end over the wire: metrics, with exemplars, over OTLP (HTTP/protobuf and
//! gRPC), configured only by the standard `OTEL_*` variables and decoded by an
//! independent receiver with the official OpenTelemetry protobuf definitions
//! (`tests/otlp/receiver.py`).
//!
//! Each exemplar must name the span the measurement was made in: the spans go to
//! an in-memory exporter, so the test knows their ids.
//!
//! Needs `python3` with `pip install -r tests/otlp/requirements.txt`. Without it
//! these tests fail, saying so: they are never skipped silently.
#![cfg(all(feature = "enabled", feature = "otlp"))]

#[path = "otlp/harness.rs"]
mod harness;

use harness::{serial, set_otel_env, Json, Receiver};
use opentelemetry::KeyValue;
use traced::metrics::{Counter, Histogram};
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::{traced, Metrics};

// ---------------------------------------------------------------------------
// The code under test
// ---------------------------------------------------------------------------

#[derive(Metrics)]
#[metrics(prefix = "shop")]
struct ShopMetrics {
    /// Orders placed.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Time to place an order.
    #[metric(unit = "s", buckets = [0.1, 1.0, 10.0])]
    order_duration: Histogram<f64>,
}

fn region(name: &'static str) -> [KeyValue; 1] {
    [KeyValue::new("region", name)]
}

#[traced]
fn place_order(seconds: f64) {
    let m = ShopMetrics::global();
    m.orders.add(1, &region("eu"));
    m.order_duration.record(seconds, &region("eu"));
}

#[traced(metrics)]
fn charge_card() -> Result<(), String> {
    Ok(())
}

/// Two orders in two traces, a call with call metrics, and measurements made
/// outside any span.
fn workload() {
    place_order(0.5); // bucket (0.1, 1]
    place_order(5.0); // bucket (1, 10]
    charge_card().expect("never fails");
    let m = ShopMetrics::global();
    m.orders.add(5, &region("us"));
    m.order_duration.record(0.05, &region("us"));
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn metrics_and_exemplars_arrive_over_otlp_http_protobuf() {
    let run = run_over("http/protobuf", &[]);
    run.assert_flushed_export("http", "cumulative");
    run.assert_final_export_values();
}

#[test]
fn metrics_and_exemplars_arrive_over_otlp_grpc() {
    let run = run_over("grpc", &[]);
    run.assert_flushed_export("grpc", "cumulative");
    run.assert_final_export_values();
}

/// The gRPC exporter is ours: it must honour the metrics-specific endpoint,
/// headers (percent-decoded, winning over the general ones) and temporality.
#[test]
fn grpc_takes_the_metrics_specific_endpoint_headers_and_delta_temporality() {
    let run = run_over(
        "grpc",
        &[
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-test-token=a%20b"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-test-general=1"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
        ],
    );
    run.assert_flushed_export("grpc", "delta");
    for point in run.first_export() {
        assert_eq!(
            point["headers"],
            Json::Object(vec![("x-test-token".into(), Json::Str("a b".into()))]),
            "headers of {}",
            point["name"]
        );
    }
}

/// Measurements made before the guard is dropped reach the final export (the
/// only one when the interval is long) with their exemplars.
///
/// The guard forgets the exemplars only after the meter provider's final export,
/// so a program that never flushes still sends them.
#[test]
fn the_final_export_on_drop_carries_exemplars() {
    for protocol in ["http/protobuf", "grpc"] {
        let run = run_over_without_flush(protocol);
        run.assert_points(run.last_export(), "cumulative", true);
    }
}

// ---------------------------------------------------------------------------
// Running the workload against the receiver
// ---------------------------------------------------------------------------

/// The ids of a finished span, as the receiver prints them (lowercase hex).
#[derive(Debug, Clone)]
struct Ids {
    trace_id: String,
    span_id: String,
}

struct Run {
    /// Every metric data point the receiver printed.
    points: Vec<Json>,
    /// `place_order(0.5)`, `place_order(5.0)`, `charge_card()`.
    first_order: Ids,
    second_order: Ids,
    charge: Ids,
    headers_expected: bool,
}

/// Runs the workload with metrics exported over `protocol` to a fresh receiver,
/// flushes (the export the assertions are about), drops the guard (the final
/// export), and returns what the receiver decoded.
fn run_over(protocol: &str, extra: &[(&str, &str)]) -> Run {
    // With delta temporality the final export has nothing new to send.
    let delta = extra.iter().any(|(_, v)| *v == "delta");
    run(protocol, extra, true, if delta { 1 } else { 2 })
}

fn run_over_without_flush(protocol: &str) -> Run {
    run(protocol, &[], false, 1)
}

/// `exports`: how many export requests must carry every series of the workload.
fn run(protocol: &str, extra: &[(&str, &str)], flush: bool, exports: usize) -> Run {
    let _turn = serial();
    let receiver = Receiver::start();
    let endpoint = receiver.endpoint(protocol);
    let mut vars = vec![
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10000"),
        // No scheduled export: only the flush and the guard's drop send.
        ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
        ("OTEL_SERVICE_NAME", "shop-service"),
    ];
    let specific = extra
        .iter()
        .any(|(k, _)| k.starts_with("OTEL_EXPORTER_OTLP_METRICS_"));
    if specific {
        vars.push(("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &endpoint));
        // The general endpoint points nowhere: only the metrics one may be used.
        vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"));
    } else {
        vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint));
        vars.push(("OTEL_EXPORTER_OTLP_HEADERS", "x-test-token=abc"));
    }
    vars.extend_from_slice(extra);
    set_otel_env(&vars);

    let spans = InMemorySpanExporter::default();
    let telemetry = traced::Builder::new().simple_exporter(spans.clone()).init();
    workload();
    if flush {
        telemetry.flush().expect("flush");
    }
    let finished = spans.get_finished_spans().expect("finished spans");
    drop(telemetry);

    let ids = |name: &str| -> Vec<Ids> {
        finished
            .iter()
            .filter(|s| s.name == name)
            .map(|s| Ids {
                trace_id: s.span_context.trace_id().to_string(),
                span_id: s.span_context.span_id().to_string(),
            })
            .collect()
    };
    let orders = ids("place_order");
    let charges = ids("charge_card");
    assert_eq!(orders.len(), 2, "spans: {finished:?}");
    assert_eq!(charges.len(), 1, "spans: {finished:?}");
    assert_ne!(orders[0].trace_id, orders[1].trace_id, "two root spans");

    // Every data point of the workload, in `exports` export requests.
    let expected: &[(&str, &str, &str)] = &[
        ("shop.orders", "region", "eu"),
        ("shop.orders", "region", "us"),
        ("shop.order_duration", "region", "eu"),
        ("shop.order_duration", "region", "us"),
        ("function.calls", "function", "charge_card"),
        ("function.calls.duration", "function", "charge_card"),
    ];
    let lines = receiver.wait_until(
        &format!("{exports} export(s) with a data point for each of the workload's series"),
        |lines| {
            let points = metric_points(lines);
            let mut requests: Vec<&Json> = points.iter().map(|p| &p["request"]).collect();
            requests.dedup();
            let complete = requests.into_iter().filter(|&request| {
                expected.iter().all(|(name, key, value)| {
                    points
                        .iter()
                        .any(|p| p["request"] == *request && is(p, name, key, value))
                })
            });
            complete.count() >= exports
        },
        |lines| summary(&metric_points(lines)),
    );
    Run {
        points: metric_points(&lines),
        first_order: orders[0].clone(),
        second_order: orders[1].clone(),
        charge: charges[0].clone(),
        headers_expected: !specific,
    }
}

/// The metric data points, less the SDK's self-diagnostics (scope `otel.sdk`:
/// the batch processors' processed/dropped counters), which these tests do not record.
fn metric_points(lines: &[Json]) -> Vec<Json> {
    lines
        .iter()
        .filter(|l| l["signal"] == "metric" && l["scope"] != "otel.sdk")
        .cloned()
        .collect()
}

fn first_request(points: &[Json]) -> Json {
    points.first().map_or(Json::Null, |p| p["request"].clone())
}

fn is(point: &Json, name: &str, key: &str, value: &str) -> bool {
    point["name"] == name && point["attributes"][key] == value
}

fn summary(points: &[Json]) -> String {
    let items: Vec<String> = points
        .iter()
        .map(|p| format!("#{} {} {}", p["request"], p["name"], p["attributes"]))
        .collect();
    format!("{} data points: {items:#?}", points.len())
}

impl Run {
    /// The data points of the first export request (the flush).
    fn first_export(&self) -> Vec<&Json> {
        let first = first_request(&self.points);
        self.points
            .iter()
            .filter(|p| p["request"] == first)
            .collect()
    }

    /// The data points of the last export request (the guard's drop).
    fn last_export(&self) -> Vec<&Json> {
        let last = self
            .points
            .last()
            .map_or(Json::Null, |p| p["request"].clone());
        self.points
            .iter()
            .filter(|p| p["request"] == last)
            .collect()
    }

    fn assert_flushed_export(&self, transport: &str, temporality: &str) {
        let points = self.first_export();
        for p in &points {
            assert_eq!(p["transport"], transport, "transport of {}", p["name"]);
            assert_eq!(p["resource"]["service.name"], "shop-service");
            assert_eq!(p["scope"], "traced", "scope of {}", p["name"]);
            if self.headers_expected {
                assert_eq!(
                    p["headers"]["x-test-token"], "abc",
                    "OTEL_EXPORTER_OTLP_HEADERS should arrive with the metrics"
                );
            }
        }
        self.assert_points(points, temporality, true);
    }

    /// The final export has every series, with the same values (cumulative).
    fn assert_final_export_values(&self) {
        let last = self.last_export();
        assert_ne!(
            last[0]["request"],
            self.first_export()[0]["request"],
            "the guard's drop should export again: {}",
            summary(&self.points)
        );
        self.assert_points(last, "cumulative", false);
    }

    /// Checks names, types, values and buckets; and, with `exemplars`, that each
    /// series has the exemplars of the spans it was measured in.
    fn assert_points(&self, points: Vec<&Json>, temporality: &str, exemplars: bool) {
        let one = |name: &str, key: &str, value: &str| -> &Json {
            let found: Vec<&&Json> = points.iter().filter(|p| is(p, name, key, value)).collect();
            assert_eq!(
                found.len(),
                1,
                "expected one {name} point with {key}={value:?}; got {}",
                summary(&points.iter().map(|p| (*p).clone()).collect::<Vec<_>>())
            );
            found[0]
        };

        // The counter: 1 + 1 in spans, 5 outside any span.
        let eu = one("shop.orders", "region", "eu");
        assert_eq!(eu["type"], "sum");
        assert_eq!(eu["monotonic"], Json::Bool(true));
        assert_eq!(eu["temporality"], temporality);
        assert_eq!(eu["unit"], "{order}");
        assert_eq!(eu["description"], "Orders placed.");
        assert_eq!(eu["value"], Json::Int(2));
        let us = one("shop.orders", "region", "us");
        assert_eq!(us["value"], Json::Int(5));
        assert_eq!(
            us["exemplars"],
            Json::List(vec![]),
            "a measurement outside any span has no exemplar"
        );

        // The histogram.
        let eu_h = one("shop.order_duration", "region", "eu");
        assert_eq!(eu_h["type"], "histogram");
        assert_eq!(eu_h["temporality"], temporality);
        assert_eq!(eu_h["unit"], "s");
        assert_eq!(eu_h["description"], "Time to place an order.");
        assert_eq!(eu_h["count"], Json::Int(2));
        assert_eq!(eu_h["sum"], Json::Float(5.5));
        assert_eq!(
            eu_h["bounds"],
            Json::List(vec![Json::Float(0.1), Json::Float(1.0), Json::Float(10.0)])
        );
        assert_eq!(eu_h["bucket_counts"], ints(&[0, 1, 1, 0]));
        let us_h = one("shop.order_duration", "region", "us");
        assert_eq!(us_h["count"], Json::Int(1));
        assert_eq!(us_h["bucket_counts"], ints(&[1, 0, 0, 0]));
        assert_eq!(us_h["exemplars"], Json::List(vec![]));

        // The call metrics of `#[traced(metrics)]`.
        let calls = one("function.calls", "function", "charge_card");
        assert_eq!(calls["type"], "sum");
        assert_eq!(calls["value"], Json::Int(1));
        assert_eq!(calls["attributes"]["result"], "ok");
        let duration = one("function.calls.duration", "function", "charge_card");
        assert_eq!(duration["type"], "histogram");
        assert_eq!(duration["count"], Json::Int(1));

        if !exemplars {
            return;
        }
        // The counter keeps the last measurement of the series: the second order.
        assert_exemplars(eu, &[(&self.second_order, Json::Int(1))]);
        // The histogram keeps one per bucket, in bucket order.
        assert_exemplars(
            eu_h,
            &[
                (&self.first_order, Json::Float(0.5)),
                (&self.second_order, Json::Float(5.0)),
            ],
        );
        assert_exemplars(calls, &[(&self.charge, Json::Int(1))]);
        // The duration's exemplar is the one measurement: the point's sum.
        assert_exemplars(duration, &[(&self.charge, duration["sum"].clone())]);
    }
}

fn ints(values: &[i64]) -> Json {
    Json::List(values.iter().map(|v| Json::Int(*v)).collect())
}

/// `point` has exactly these exemplars (span, value), in this order, each timed
/// within the point's window.
#[track_caller]
fn assert_exemplars(point: &Json, expected: &[(&Ids, Json)]) {
    let got = point["exemplars"].as_list();
    assert_eq!(
        got.len(),
        expected.len(),
        "exemplars of {} {}: {}",
        point["name"],
        point["attributes"],
        point["exemplars"]
    );
    for (e, (ids, value)) in got.iter().zip(expected) {
        let context = format!("exemplar {e} of {} {}", point["name"], point["attributes"]);
        assert_eq!(e["trace_id"], ids.trace_id.as_str(), "{context}");
        assert_eq!(e["span_id"], ids.span_id.as_str(), "{context}");
        assert_eq!(e["value"], *value, "{context}");
        assert_eq!(e["filtered_attributes"], Json::Object(vec![]), "{context}");
        let (Json::Int(time), Json::Int(start), Json::Int(end)) = (
            &e["time_unix_nano"],
            &point["start_time_unix_nano"],
            &point["time_unix_nano"],
        ) else {
            panic!("{context}: times are not integers");
        };
        assert!(
            start <= time && time <= end,
            "{context}: recorded at {time}, outside the point's window [{start}, {end}]"
        );
    }
}
