//! The OTLP file exporter's files read by a real OpenTelemetry Collector:
//! `traced` writes spans, metrics and log records with `otlp_file`, the
//! Collector's `otlpjsonfile` receiver (the contrib component that reads the
//! specification's OTLP file format) reads the files, and its OTLP/HTTP
//! exporter posts what it read, as OTLP/JSON, to the test's sink. Every span,
//! metric point and log record of the files must arrive, with its ids,
//! attributes, values and resource, and hold what the program recorded.
//!
//! Needs the Collector binary: `tests/collector/build.sh` (Go) builds it into
//! `target/collector/jsonfile`. Without it these tests fail, saying so: they
//! are never skipped.
#![cfg(all(feature = "enabled", feature = "otlp", feature = "log"))]

#[path = "collector/harness.rs"]
mod harness;

use harness::*;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::KeyValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use traced::metrics::{Counter, Gauge, Histogram, UpDownCounter};
use traced::{traced, Metrics};

// ---------------------------------------------------------------------------
// The code under test
// ---------------------------------------------------------------------------

#[derive(Metrics)]
#[metrics(prefix = "jsonfile")]
struct ShopMetrics {
    /// Orders placed.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Carts being checked out.
    #[metric(unit = "{cart}")]
    checkouts: UpDownCounter<i64>,
    /// The exchange rate in use.
    rate: Gauge<f64>,
    /// Order values.
    #[metric(unit = "EUR", buckets = [5.0, 10.0, 50.0])]
    order_value: Histogram<f64>,
}

fn region() -> [KeyValue; 1] {
    [KeyValue::new("region", "eu")]
}

#[traced(kind = server, name = "POST /checkout", attrs(http.route = "/checkout", cart.id = cart_id))]
fn checkout(cart_id: i64) {
    traced::event!("cart.loaded", items = 3, "cart.total" = 12.5, gift = true);
    let m = ShopMetrics::global();
    m.checkouts.add(1, &region());
    m.orders.add(2, &region());
    m.order_value.record(12.5, &region());
    // A double attribute that is not a number (the SDK drops such a value).
    m.rate.record(
        1.25,
        &[
            KeyValue::new("market", "open"),
            KeyValue::new("limit", f64::INFINITY),
        ],
    );
    log::info!(cart_id, coupon = "SPRING"; "checking out cart {cart_id}");
    charge_card(cart_id, 1250);
    let _ = reserve_stock("sku-42");
}

#[traced(kind = client, attrs(
    peer.service = "payments",
    amount.cents = amount_cents,
    card.present = true,
    fx.rate = 1.25,
    fx.spread = f64::NAN,
))]
fn charge_card(cart_id: i64, amount_cents: i64) {
    let _ = cart_id;
    log::warn!(amount_cents; "charging {amount_cents} cents");
}

#[traced(err)]
fn reserve_stock(sku: &'static str) -> Result<(), String> {
    Err(format!("{sku} is out of stock"))
}

/// Many small spans, for files that rotate.
#[traced]
fn step(i: usize) {
    traced::attr!("step.index" = i as i64);
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "traced-otlp-file-collector-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// All three signals to `traces.jsonl`, `metrics.jsonl` and `logs.jsonl` in
/// `dir`; only the guard's drop exports.
fn builder(dir: &Path, service: &str) -> traced::Builder {
    traced::Builder::new()
        .ignore_env()
        .setting("OTEL_TRACES_EXPORTER", "otlp_file")
        .setting("OTEL_METRICS_EXPORTER", "otlp_file")
        .setting("OTEL_LOGS_EXPORTER", "otlp_file")
        .setting(
            "TRACED_OTLP_FILE_TRACES",
            dir.join("traces.jsonl").display().to_string(),
        )
        .setting(
            "TRACED_OTLP_FILE_METRICS",
            dir.join("metrics.jsonl").display().to_string(),
        )
        .setting(
            "TRACED_OTLP_FILE_LOGS",
            dir.join("logs.jsonl").display().to_string(),
        )
        .setting("OTEL_SERVICE_NAME", service)
        .setting("OTEL_RESOURCE_ATTRIBUTES", "team=shop")
        .setting("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .setting("OTEL_BLRP_SCHEDULE_DELAY", "600000")
        .setting("OTEL_METRIC_EXPORT_INTERVAL", "600000")
}

/// The OTLP/JSON export requests in the files `prefix`, `prefix.1`, ... of
/// `dir`, one a line.
fn lines(dir: &Path, prefix: &str) -> Vec<Value> {
    let mut requests = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the directory") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == prefix || name.starts_with(&format!("{prefix}.")) {
            let text = std::fs::read_to_string(&path).expect("a file");
            for line in text.lines() {
                requests.push(
                    serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", path.display())),
                );
            }
        }
    }
    assert!(!requests.is_empty(), "nothing written to {prefix}");
    requests
}

/// Every item (span, metric data point, log record) of `requests`, under
/// its key (`resourceSpans`/`scopeSpans`/`spans`, ...), with the resource's
/// and scope's, as one object: `{"resource": .., "scope": .., "item": ..}`.
/// A metric's data points come with the metric's name, unit and kind.
fn items(requests: &[Value], signal: &str) -> Vec<Value> {
    let (resources, scopes, list) = match signal {
        "traces" => ("resourceSpans", "scopeSpans", "spans"),
        "metrics" => ("resourceMetrics", "scopeMetrics", "metrics"),
        "logs" => ("resourceLogs", "scopeLogs", "logRecords"),
        other => panic!("no such signal: {other}"),
    };
    let mut out = Vec::new();
    for request in requests {
        for r in array(&request[resources]) {
            let resource = attributes(&r["resource"]["attributes"]);
            for s in array(&r[scopes]) {
                let scope = s["scope"]["name"].clone();
                for item in array(&s[list]) {
                    if signal != "metrics" {
                        out.push(json!({"resource": resource, "scope": scope, "item": item}));
                        continue;
                    }
                    let (kind, data) = ["sum", "gauge", "histogram"]
                        .into_iter()
                        .find_map(|k| item.get(k).map(|d| (k, d)))
                        .unwrap_or_else(|| panic!("an unexpected metric: {item}"));
                    for point in array(&data["dataPoints"]) {
                        out.push(json!({
                            "resource": resource,
                            "scope": scope,
                            "metric": {"name": item["name"], "unit": item["unit"], "kind": kind},
                            "item": point,
                        }));
                    }
                }
            }
        }
    }
    out
}

/// The fields of a `oneof` (an attribute's value, a data point's value): set,
/// they are written even when they hold their type's default.
const ONEOF: [&str; 9] = [
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "bytesValue",
    "arrayValue",
    "kvlistValue",
    "asInt",
    "asDouble",
];

/// Whether `value` is the default of its field's type, which the protobuf
/// JSON mapping may write or leave out (`traced` writes a span's
/// `"droppedAttributesCount": 0`, the Collector leaves it out): `0`, `"0"`
/// (a 64-bit integer), `""`, `false`, `[]` and `{}`.
fn is_default(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "0",
        Value::Bool(b) => !b,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Null => true,
    }
}

/// A comparable form of an item, the same for two encodings of one message:
/// attribute lists become maps (the order of a list of attributes carries no
/// meaning), numbers are compared as doubles, and fields that hold their
/// default are left out, but for those of a `oneof`.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("attributes", Value::Array(_)) => {
                            let map: BTreeMap<String, Value> = attributes(v)
                                .into_iter()
                                .map(|(k, v)| (k, canonical(&v)))
                                .collect();
                            json!(map)
                        }
                        _ => canonical(v),
                    };
                    (k.clone(), v)
                })
                .filter(|(k, v)| ONEOF.contains(&k.as_str()) || !is_default(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        // A double may be written `5` or `5.0`.
        Value::Number(n) => json!(n.as_f64()),
        other => other.clone(),
    }
}

/// Waits until the sink holds as many items of `signal` as the files do,
/// then checks that each item of the files arrived once, the same.
#[track_caller]
fn assert_everything_arrived(
    collector: &Collector,
    sink: &Sink,
    dir: &Path,
    signal: &str,
) -> Vec<Value> {
    let written: Vec<Value> = items(&lines(dir, &format!("{signal}.jsonl")), signal)
        .iter()
        .map(canonical)
        .collect();
    let path = format!("/v1/{signal}");
    let bodies = sink.wait_for(
        collector,
        &path,
        &format!("{} {signal} items", written.len()),
        |bodies| items(bodies, signal).len() >= written.len(),
    );
    let mut arrived: Vec<Value> = items(&bodies, signal).iter().map(canonical).collect();
    assert_eq!(
        arrived.len(),
        written.len(),
        "as many {signal} items arrived as were written"
    );
    for item in &written {
        let at = arrived.iter().position(|a| a == item).unwrap_or_else(|| {
            collector.fail(&format!(
                "this {signal} item of the file did not arrive as written:\n{item:#}\narrived:\n{:#}",
                Value::Array(arrived.clone())
            ))
        });
        arrived.swap_remove(at);
    }
    items(&bodies, signal)
}

/// The one item whose `item.key` is `value`.
#[track_caller]
fn find<'a>(items: &'a [Value], key: &str, value: &str) -> &'a Value {
    let found: Vec<&Value> = items
        .iter()
        .filter(|i| i["item"][key] == value || i["metric"][key] == value)
        .collect();
    assert_eq!(found.len(), 1, "one {key} = {value:?} in {items:#?}");
    found[0]
}

fn current_ids() -> (String, String) {
    let cx = opentelemetry::Context::current();
    let sc = cx.span().span_context().clone();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// Spans, metric points and log records written to files by `otlp_file` are
/// read by the Collector's `otlpjsonfile` receiver and passed on whole: each
/// item of the files arrives once, equal to what the file holds, and holds
/// what the program recorded (names, ids, parents, kinds, statuses, events,
/// attributes of every type, a NaN and an infinite double, sums, gauges,
/// histogram buckets, bodies, severities, trace correlation, the resource).
#[test]
fn the_collectors_otlpjsonfile_receiver_reads_every_signal() {
    let _turn = serial();
    let dir = temp_dir("signals");
    let sink = Sink::start();
    let telemetry = builder(&dir, "jsonfile-shop").init();
    #[traced(name = "test root")]
    fn root() -> (String, String) {
        checkout(7);
        current_ids()
    }
    let (trace_id, root_id) = root();
    drop(telemetry);

    let collector = Collector::start_jsonfile(&sink, &dir);
    let spans = assert_everything_arrived(&collector, &sink, &dir, "traces");
    let metrics = assert_everything_arrived(&collector, &sink, &dir, "metrics");
    let logs = assert_everything_arrived(&collector, &sink, &dir, "logs");

    // Spans.
    assert_eq!(spans.len(), 4, "{spans:#?}");
    for span in &spans {
        assert_eq!(span["item"]["traceId"], trace_id.as_str(), "{span:#}");
        assert_eq!(
            span["resource"]["service.name"],
            json!({"stringValue": "jsonfile-shop"})
        );
        assert_eq!(span["resource"]["team"], json!({"stringValue": "shop"}));
    }
    let root = find(&spans, "name", "test root");
    assert_eq!(root["item"]["spanId"], root_id.as_str());
    let checkout = find(&spans, "name", "POST /checkout");
    assert_eq!(checkout["item"]["parentSpanId"], root_id.as_str());
    assert_eq!(checkout["item"]["kind"], 2, "SPAN_KIND_SERVER");
    let checkout_id = checkout["item"]["spanId"].as_str().unwrap();
    let attrs = attributes(&checkout["item"]["attributes"]);
    assert_eq!(attrs["http.route"], json!({"stringValue": "/checkout"}));
    assert_eq!(attrs["cart.id"], json!({"intValue": "7"}));
    let event = &checkout["item"]["events"][0];
    assert_eq!(event["name"], "cart.loaded");
    let event_attrs = attributes(&event["attributes"]);
    assert_eq!(event_attrs["items"], json!({"intValue": "3"}));
    assert_eq!(event_attrs["cart.total"], json!({"doubleValue": 12.5}));
    assert_eq!(event_attrs["gift"], json!({"boolValue": true}));
    let charge = find(&spans, "name", "charge_card");
    assert_eq!(charge["item"]["parentSpanId"], checkout_id);
    assert_eq!(charge["item"]["kind"], 3, "SPAN_KIND_CLIENT");
    let attrs = attributes(&charge["item"]["attributes"]);
    assert_eq!(attrs["peer.service"], json!({"stringValue": "payments"}));
    assert_eq!(attrs["amount.cents"], json!({"intValue": "1250"}));
    assert_eq!(attrs["card.present"], json!({"boolValue": true}));
    assert_eq!(attrs["fx.rate"], json!({"doubleValue": 1.25}));
    assert_eq!(attrs["fx.spread"], json!({"doubleValue": "NaN"}));
    let reserve = find(&spans, "name", "reserve_stock");
    assert_eq!(reserve["item"]["status"]["code"], 2, "STATUS_CODE_ERROR");
    assert_eq!(
        reserve["item"]["status"]["message"],
        "sku-42 is out of stock"
    );

    // Metric points.
    let point = find(&metrics, "name", "jsonfile.orders");
    assert_eq!(point["metric"]["kind"], "sum");
    assert_eq!(point["metric"]["unit"], "{order}");
    assert_eq!(point["item"]["asInt"], "2");
    assert_eq!(
        attributes(&point["item"]["attributes"])["region"],
        json!({"stringValue": "eu"})
    );
    assert_eq!(
        point["resource"]["service.name"],
        json!({"stringValue": "jsonfile-shop"})
    );
    assert_eq!(point["item"]["exemplars"][0]["spanId"], checkout_id);
    let point = find(&metrics, "name", "jsonfile.checkouts");
    assert_eq!(point["item"]["asInt"], "1");
    let point = find(&metrics, "name", "jsonfile.rate");
    assert_eq!(point["metric"]["kind"], "gauge");
    assert_eq!(point["item"]["asDouble"], 1.25);
    let attrs = attributes(&point["item"]["attributes"]);
    assert_eq!(attrs["market"], json!({"stringValue": "open"}));
    assert_eq!(attrs["limit"], json!({"doubleValue": "Infinity"}));
    let point = find(&metrics, "name", "jsonfile.order_value");
    assert_eq!(point["metric"]["kind"], "histogram");
    assert_eq!(point["item"]["count"], "1");
    assert_eq!(point["item"]["sum"], 12.5);
    let bounds: Vec<f64> = array(&point["item"]["explicitBounds"])
        .iter()
        .map(float)
        .collect();
    assert_eq!(bounds, [5.0, 10.0, 50.0]);
    assert_eq!(point["item"]["bucketCounts"], json!(["0", "0", "1", "0"]));

    // Log records.
    let record = find(&logs, "severityText", "INFO");
    assert_eq!(
        record["item"]["body"],
        json!({"stringValue": "checking out cart 7"})
    );
    assert_eq!(record["item"]["severityNumber"], 9);
    assert_eq!(record["item"]["traceId"], trace_id.as_str());
    assert_eq!(record["item"]["spanId"], checkout_id);
    let attrs = attributes(&record["item"]["attributes"]);
    assert_eq!(attrs["cart_id"], json!({"intValue": "7"}));
    assert_eq!(attrs["coupon"], json!({"stringValue": "SPRING"}));
    let record = find(&logs, "severityText", "WARN");
    assert_eq!(
        record["item"]["body"],
        json!({"stringValue": "charging 1250 cents"})
    );
    assert_eq!(record["item"]["spanId"], charge["item"]["spanId"]);
    assert_eq!(
        record["resource"]["service.name"],
        json!({"stringValue": "jsonfile-shop"})
    );

    drop(collector);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A span file that rotated (`traces.jsonl`, `traces.jsonl.1`, ...), read as
/// a log shipper reads rotated files: every span arrives once.
#[test]
fn the_collector_reads_rotated_files_whole() {
    const SPANS: usize = 200;
    let _turn = serial();
    let dir = temp_dir("rotated");
    let sink = Sink::start();
    let telemetry = builder(&dir, "jsonfile-rotated")
        .setting("OTEL_METRICS_EXPORTER", "none")
        .setting("OTEL_LOGS_EXPORTER", "none")
        .setting("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")
        .setting("TRACED_OTLP_FILE_MAX_BYTES", "8192")
        .setting("TRACED_OTLP_FILE_KEEP_FILES", "100")
        .init();
    for i in 0..SPANS {
        step(i);
    }
    drop(telemetry);
    assert!(
        dir.join("traces.jsonl.2").exists(),
        "{SPANS} spans rotate the file more than once"
    );

    let collector = Collector::start_jsonfile(&sink, &dir);
    let spans = assert_everything_arrived(&collector, &sink, &dir, "traces");
    let mut indices: Vec<i64> = spans
        .iter()
        .map(|s| int(&attributes(&s["item"]["attributes"])["step.index"]["intValue"]))
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..SPANS as i64).collect::<Vec<_>>());
    drop(collector);
    std::fs::remove_dir_all(dir).unwrap();
}
