//! The real pipeline: `traced` exporting OTLP (HTTP/protobuf and gRPC) to an
//! OpenTelemetry Collector (Jaeger v2: OTLP receiver, batch processor, memory
//! trace storage, spanmetrics connector, Prometheus exporter), read back through
//! the Jaeger query API, the Collector's Prometheus page and the OTLP/JSON its
//! metrics and logs pipelines post to the test's sink.
//!
//! Needs the Collector binary: `tests/collector/build.sh` (Go) builds it into
//! `target/collector/jaeger`. Without it these tests fail, saying so: they are
//! never skipped.
#![cfg(all(feature = "enabled", feature = "otlp", feature = "log"))]

#[path = "collector/harness.rs"]
mod harness;

use harness::*;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::KeyValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::thread;
use std::time::{Duration, Instant};
use traced::metrics::{AsyncInstrument, Counter, Gauge, Histogram, ObservableGauge, UpDownCounter};
use traced::process::SpanMetrics;
use traced::{traced, Metrics};

// ---------------------------------------------------------------------------
// The traced code under test: a server span with a client child that carries
// typed attributes, a producer linked to it, a consumer with a link carrying
// attributes, a failing child recorded by `err`, an event, metrics of every
// instrument kind recorded inside the spans, and a log record.
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

impl std::error::Error for OutOfStock {}

#[derive(Metrics)]
#[metrics(prefix = "shop")]
struct ShopMetrics {
    /// Orders placed.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Carts being checked out.
    #[metric(unit = "{cart}")]
    checkouts: UpDownCounter<i64>,
    /// Items left in stock.
    #[metric(unit = "{item}")]
    stock: Gauge<i64>,
    /// Order values.
    #[metric(unit = "EUR", buckets = [5.0, 10.0, 50.0])]
    order_value: Histogram<f64>,
    /// Workers in the pool.
    #[metric(callback = |o: &dyn AsyncInstrument<u64>| o.observe(4, &[]))]
    workers: ObservableGauge<u64>,
}

fn region() -> [KeyValue; 1] {
    [KeyValue::new("region", "eu")]
}

#[traced(kind = server, name = "POST /checkout", attrs(http.route = "/checkout", cart.id = cart_id))]
fn checkout(cart_id: i64) -> bool {
    traced::event!(
        "cart.loaded",
        items = 3,
        "cart.total" = 12.5,
        gift = true,
        coupon = "SPRING"
    );
    let m = ShopMetrics::global();
    m.checkouts.add(1, &region());
    m.orders.add(1, &region());
    m.order_value.record(12.5, &region());
    m.stock.record(41, &region());
    m.checkouts.add(-1, &region());
    log::info!(cart_id; "checking out cart {cart_id}");
    let payment = charge_card(cart_id, 1250);
    publish_order(payment.clone());
    handle_order(payment);
    reserve_stock("sku-42").is_ok()
}

#[traced(kind = client, attrs(
    peer.service = "payments",
    amount.cents = amount_cents,
    card.present = true,
    fx.rate = 1.25,
))]
fn charge_card(cart_id: i64, amount_cents: i64) -> SpanContext {
    let _ = (cart_id, amount_cents);
    opentelemetry::Context::current()
        .span()
        .span_context()
        .clone()
}

#[traced(kind = producer, links(payment.clone()))]
fn publish_order(payment: SpanContext) {
    let _ = payment;
}

#[traced(kind = consumer)]
fn handle_order(payment: SpanContext) {
    traced::link!(payment, reason = "payment");
}

#[traced(err)]
fn reserve_stock(sku: &'static str) -> Result<(), OutOfStock> {
    Err(OutOfStock { sku })
}

const SPANS: [&str; 5] = [
    "POST /checkout",
    "charge_card",
    "publish_order",
    "handle_order",
    "reserve_stock",
];

// ---------------------------------------------------------------------------
// Spans, metrics, logs and resource through the Collector
// ---------------------------------------------------------------------------

#[test]
fn spans_metrics_and_logs_through_the_collector_over_http_protobuf() {
    through_the_collector("http/protobuf");
}

#[test]
fn spans_metrics_and_logs_through_the_collector_over_grpc() {
    through_the_collector("grpc");
}

/// The `traced` settings of the tests: OTLP over `protocol` to the Collector.
fn builder(collector: &Collector, protocol: &str, service: &str) -> traced::Builder {
    traced::Builder::new()
        .ignore_env()
        .setting("OTEL_TRACES_EXPORTER", "otlp")
        .setting("OTEL_METRICS_EXPORTER", "otlp")
        .setting("OTEL_LOGS_EXPORTER", "otlp")
        .setting("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .setting("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint(protocol))
        .setting("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
        .setting("OTEL_SERVICE_NAME", service)
        .setting(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test,team=shop",
        )
        // Only the flush and the guard's drop export.
        .setting("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .setting("OTEL_METRIC_EXPORT_INTERVAL", "600000")
}

fn through_the_collector(protocol: &str) {
    let _turn = serial();
    let sink = Sink::start();
    let collector = Collector::start(&sink);
    let service = format!("checkout-{}", protocol.replace('/', "-"));
    let transport = if protocol == "grpc" { "grpc" } else { "http" };

    let telemetry = builder(&collector, protocol, &service).init();
    let reserved = checkout(7);
    telemetry.flush().expect("flush");
    drop(telemetry);
    assert!(!reserved, "reserve_stock always fails");

    // Traces, read back from the Collector's storage.
    let spans = collector.wait_for_spans(&service, &SPANS);
    assert_eq!(spans.len(), SPANS.len(), "{spans:#?}");
    assert_trace(&spans, &service);

    // Metrics and logs, as the Collector's pipelines pass them on.
    let checkout = one(&spans, "POST /checkout");
    let metrics = sink.wait_for(&collector, "/v1/metrics", "every shop metric", |bodies| {
        let names: BTreeSet<String> = otlp_metrics(bodies)
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        [
            "shop.orders",
            "shop.checkouts",
            "shop.stock",
            "shop.order_value",
            "shop.workers",
        ]
        .iter()
        .all(|n| names.contains(*n))
    });
    assert_metrics(&otlp_metrics(&metrics), &service, checkout);
    let logs = sink.wait_for(&collector, "/v1/logs", "the log record", |bodies| {
        !otlp_logs(bodies).is_empty()
    });
    assert_logs(&otlp_logs(&logs), &service, checkout);

    // Nothing was refused, everything arrived over the chosen transport.
    collector.assert_nothing_refused();
    assert_eq!(
        collector.accepted("spans", transport),
        SPANS.len() as f64,
        "spans the Collector accepted over {transport}"
    );
    assert!(collector.accepted("metric_points", transport) >= 5.0);
    assert_eq!(collector.accepted("log_records", transport), 1.0);
}

fn str_attr(attrs: &BTreeMap<String, Value>, key: &str) -> String {
    attrs.get(key).map(plain).unwrap_or_default()
}

#[track_caller]
fn assert_trace(spans: &[StoredSpan], service: &str) {
    for span in spans {
        assert_eq!(str_attr(&span.resource, "service.name"), service);
        assert_eq!(str_attr(&span.resource, "team"), "shop");
        assert_eq!(
            str_attr(&span.resource, "deployment.environment.name"),
            "test"
        );
        assert_eq!(span.scope, "traced", "scope of {}", span.name());
        let attrs = span.attributes();
        assert_eq!(str_attr(&attrs, "code.file.path"), "tests/collector.rs");
        assert!(
            str_attr(&attrs, "code.function.name").starts_with("collector::"),
            "{attrs:?}"
        );
        assert!(int(&attrs["code.line.number"]["intValue"]) > 0);
    }

    let server = one(spans, "POST /checkout");
    let client = one(spans, "charge_card");
    let producer = one(spans, "publish_order");
    let consumer = one(spans, "handle_order");
    let failed = one(spans, "reserve_stock");

    // One trace: the server span is the root, the others are its children.
    assert_eq!(server.trace_id().len(), 32);
    assert_eq!(server.parent_span_id(), "", "the server span is a root");
    for child in [client, producer, consumer, failed] {
        assert_eq!(child.trace_id(), server.trace_id(), "{}", child.name());
        assert_eq!(
            child.parent_span_id(),
            server.span_id(),
            "{} is a child of the server span",
            child.name()
        );
    }

    // Kinds as OTLP numbers.
    assert_eq!(server.kind(), 2, "server");
    assert_eq!(client.kind(), 3, "client");
    assert_eq!(producer.kind(), 4, "producer");
    assert_eq!(consumer.kind(), 5, "consumer");
    assert_eq!(failed.kind(), 1, "internal");

    // Attributes keep their OTLP types through the Collector.
    let attrs = server.attributes();
    assert_eq!(attrs["http.route"], json!({"stringValue": "/checkout"}));
    assert_eq!(int(&attrs["cart.id"]["intValue"]), 7);
    let attrs = client.attributes();
    assert_eq!(attrs["peer.service"], json!({"stringValue": "payments"}));
    assert_eq!(int(&attrs["amount.cents"]["intValue"]), 1250);
    assert_eq!(attrs["card.present"], json!({"boolValue": true}));
    assert_eq!(attrs["fx.rate"], json!({"doubleValue": 1.25}));

    // The event, with typed attributes.
    let loaded = event(server, "cart.loaded");
    let ev = attributes(&loaded["attributes"]);
    assert_eq!(int(&ev["items"]["intValue"]), 3);
    assert_eq!(ev["cart.total"], json!({"doubleValue": 12.5}));
    assert_eq!(ev["gift"], json!({"boolValue": true}));
    assert_eq!(ev["coupon"], json!({"stringValue": "SPRING"}));

    // Error status and the exception event of `err`.
    assert_eq!(failed.span["status"]["code"], json!(2), "{:?}", failed.span);
    assert_eq!(failed.span["status"]["message"], "sku-42 is out of stock");
    let exception = attributes(&event(failed, "exception")["attributes"]);
    assert_eq!(
        str_attr(&exception, "exception.message"),
        "sku-42 is out of stock"
    );
    assert!(
        str_attr(&exception, "exception.type").contains("OutOfStock"),
        "{exception:?}"
    );
    for ok in [server, client, producer, consumer] {
        assert!(
            ok.span["status"]["code"].is_null() || ok.span["status"]["code"] == json!(0),
            "status of {}: {:?}",
            ok.name(),
            ok.span["status"]
        );
    }

    // Links: the producer's from `links(..)`, the consumer's from `link!` with an attribute.
    for (span, attrs) in [
        (producer, BTreeMap::new()),
        (
            consumer,
            BTreeMap::from([("reason".to_owned(), json!({"stringValue": "payment"}))]),
        ),
    ] {
        let links = span.links();
        assert_eq!(links.len(), 1, "links of {}: {links:?}", span.name());
        assert_eq!(links[0]["traceId"], client.trace_id());
        assert_eq!(links[0]["spanId"], client.span_id());
        assert_eq!(attributes(&links[0]["attributes"]), attrs);
    }
}

#[track_caller]
fn event<'a>(span: &'a StoredSpan, name: &str) -> &'a Value {
    span.events()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no event {name:?} on {}: {:?}", span.name(), span.events()))
}

/// The last data point of each metric named `name` in the order they arrived.
#[track_caller]
fn last<'a>(metrics: &'a [OtlpMetric], name: &str) -> (&'a OtlpMetric, &'a Value) {
    let metric = metrics
        .iter()
        .rev()
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no metric {name}"));
    let points = metric.points();
    assert_eq!(points.len(), 1, "{name}: {points:?}");
    (metric, &points[0])
}

#[track_caller]
fn assert_metrics(metrics: &[OtlpMetric], service: &str, checkout: &StoredSpan) {
    for m in metrics {
        assert_eq!(
            str_attr(&m.resource, "service.name"),
            service,
            "{}",
            m.name()
        );
        assert_eq!(str_attr(&m.resource, "deployment.environment.name"), "test");
    }
    let eu = BTreeMap::from([("region".to_owned(), json!({"stringValue": "eu"}))]);

    let (orders, point) = last(metrics, "shop.orders");
    assert_eq!(orders.data().0, "sum");
    assert_eq!(orders.data().1["isMonotonic"], true);
    assert_eq!(orders.data().1["aggregationTemporality"], 2, "cumulative");
    assert_eq!(orders.unit(), "{order}");
    assert_eq!(orders.metric["description"], "Orders placed.");
    assert_eq!(int(&point["asInt"]), 1);
    assert_eq!(attributes(&point["attributes"]), eu);
    assert_exemplar(point, checkout, "shop.orders");

    let (checkouts, point) = last(metrics, "shop.checkouts");
    assert_eq!(checkouts.data().0, "sum");
    assert_ne!(
        checkouts.data().1["isMonotonic"],
        true,
        "an up-down counter"
    );
    assert_eq!(int(&point["asInt"]), 0);

    let (stock, point) = last(metrics, "shop.stock");
    assert_eq!(stock.data().0, "gauge");
    assert_eq!(int(&point["asInt"]), 41);

    let (value, point) = last(metrics, "shop.order_value");
    assert_eq!(value.data().0, "histogram");
    assert_eq!(value.unit(), "EUR");
    assert_eq!(int(&point["count"]), 1);
    assert_eq!(float(&point["sum"]), 12.5);
    let bounds: Vec<f64> = array(&point["explicitBounds"]).iter().map(float).collect();
    assert_eq!(bounds, [5.0, 10.0, 50.0]);
    let buckets: Vec<i64> = array(&point["bucketCounts"]).iter().map(int).collect();
    assert_eq!(buckets, [0, 0, 1, 0]);
    assert_exemplar(point, checkout, "shop.order_value");

    let (workers, point) = last(metrics, "shop.workers");
    assert_eq!(workers.data().0, "gauge");
    assert_eq!(int(&point["asInt"]), 4);
}

/// The point carries an exemplar pointing at the span it was recorded in.
#[track_caller]
fn assert_exemplar(point: &Value, span: &StoredSpan, metric: &str) {
    let exemplars = array(&point["exemplars"]);
    assert!(
        exemplars
            .iter()
            .any(|e| e["traceId"] == span.trace_id() && e["spanId"] == span.span_id()),
        "{metric}: no exemplar of span {} {}: {exemplars:?}",
        span.trace_id(),
        span.span_id()
    );
}

#[track_caller]
fn assert_logs(logs: &[(BTreeMap<String, Value>, Value)], service: &str, checkout: &StoredSpan) {
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let (resource, record) = &logs[0];
    assert_eq!(str_attr(resource, "service.name"), service);
    assert_eq!(
        record["body"],
        json!({"stringValue": "checking out cart 7"})
    );
    assert_eq!(record["severityNumber"], 9, "INFO");
    assert_eq!(record["traceId"], checkout.trace_id());
    assert_eq!(record["spanId"], checkout.span_id());
    let attrs = attributes(&record["attributes"]);
    assert_eq!(int(&attrs["cart_id"]["intValue"]), 7, "{attrs:?}");
}

// ---------------------------------------------------------------------------
// Span metrics: traced's, in the process, against the Collector's connector
// ---------------------------------------------------------------------------

#[traced(kind = server, err, name = "GET /cart/{id}", attrs(http.route = "/cart/{id}"))]
fn get_cart(ms: u64, fail: bool) -> Result<(), String> {
    call_db(ms);
    if fail {
        Err("no such cart".into())
    } else {
        Ok(())
    }
}

#[traced(kind = client)]
fn call_db(ms: u64) {
    thread::sleep(Duration::from_millis(ms));
}

#[traced(kind = producer)]
fn notify() {}

/// Spans of three kinds, two statuses, one with the `http.route` dimension,
/// durations spread over the buckets; returns how many spans were made.
fn span_metrics_workload() -> usize {
    let mut spans = 0;
    for i in 0..20u64 {
        let _ = get_cart([0, 3, 7, 30, 120][i as usize % 5], i % 6 == 0);
        spans += 2;
        if i % 4 == 0 {
            notify();
            spans += 1;
        }
    }
    spans
}

/// The span metrics families as the Prometheus pages show them.
const FAMILIES: [&str; 4] = [
    "traces_span_metrics_calls_total",
    "traces_span_metrics_duration_milliseconds_bucket",
    "traces_span_metrics_duration_milliseconds_count",
    "traces_span_metrics_duration_milliseconds_sum",
];

/// Labels only one side has, with their values: the Collector's Prometheus
/// exporter adds `job` (the resource's `service.name`; a scraper adds `job` and
/// `instance` to traced's page itself) and the connector's scope with an empty
/// version and schema URL; traced's page has its own scope.
fn collector_only(service: &str) -> Vec<(&'static str, String)> {
    vec![
        ("job", service.to_owned()),
        ("otel_scope_name", "spanmetricsconnector".to_owned()),
        ("otel_scope_schema_url", String::new()),
        ("otel_scope_version", String::new()),
    ]
}
fn traced_only() -> Vec<(&'static str, String)> {
    vec![
        ("otel_scope_name", "traced.spanmetrics".to_owned()),
        ("otel_scope_version", env!("CARGO_PKG_VERSION").to_owned()),
    ]
}

/// The dimension labels of the span metrics, on both pages.
const DIMENSIONS: [&str; 5] = [
    "service_name",
    "span_name",
    "span_kind",
    "status_code",
    "http_route",
];

#[test]
fn span_metrics_match_the_collectors_spanmetrics_connector() {
    let _turn = serial();
    let sink = Sink::start();
    let collector = Collector::start(&sink);
    let service = "span-metrics-parity";
    let telemetry = builder(&collector, "grpc", service)
        .setting("OTEL_METRICS_EXPORTER", "otlp,prometheus")
        .setting("OTEL_LOGS_EXPORTER", "none")
        .prometheus_endpoint("127.0.0.1", 0)
        .span_metrics(SpanMetrics::new().dimension("http.route"))
        .init();
    let made = span_metrics_workload();
    telemetry.flush().expect("flush");
    let traced_port = telemetry
        .prometheus_addr()
        .expect("the Prometheus endpoint")
        .port();

    // The connector flushes every second: wait until it counted every span.
    let deadline = Instant::now() + DEADLINE;
    let connector = loop {
        let page = Samples::parse(&collector.prometheus_page(false));
        let calls: f64 = page
            .named(FAMILIES[0])
            .iter()
            .filter(|s| s.labels.get("service_name").map(String::as_str) == Some(service))
            .map(|s| s.value)
            .sum();
        if calls == made as f64 {
            break page;
        }
        if Instant::now() > deadline {
            collector.fail(&format!(
                "the connector counted {calls} of {made} spans within {DEADLINE:?}"
            ));
        }
        thread::sleep(Duration::from_millis(200));
    };
    let (status, page) = http_get(traced_port, "/metrics", None).expect("traced's /metrics");
    assert_eq!(status, 200, "{page}");
    let ours = Samples::parse(&page);

    // The same families, the same series, the same values.
    let series = |samples: &Samples, only: &[(&str, String)]| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for family in FAMILIES {
            for s in samples.named(family) {
                let mut labels = s.labels.clone();
                for (label, value) in only {
                    assert_eq!(
                        labels.remove(*label).as_ref(),
                        Some(value),
                        "{label} of {s:?}"
                    );
                }
                // The text format's `le`: "2" on both pages (as the Go client writes it);
                // compared as the bound it stands for.
                if let Some(le) = labels.get_mut("le") {
                    *le = format!("{:?}", le.parse::<f64>().expect("a numeric le"));
                }
                for label in labels.keys() {
                    assert!(
                        DIMENSIONS.contains(&label.as_str()) || label == "le",
                        "{family}: unexpected label {label} in {s:?}"
                    );
                }
                out.insert(format!("{family}{labels:?}"), s.value);
            }
        }
        out
    };
    let theirs = series(&connector, &collector_only(service));
    let mine = series(&ours, &traced_only());
    let only_theirs: Vec<_> = theirs.keys().filter(|k| !mine.contains_key(*k)).collect();
    let only_mine: Vec<_> = mine.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        only_theirs.is_empty() && only_mine.is_empty(),
        "series only the connector has: {only_theirs:#?}\nseries only traced has: {only_mine:#?}"
    );
    for (key, value) in &theirs {
        let ours = mine[key];
        let same = if key.contains("_sum") {
            (value - ours).abs() <= 1e-6 * value.abs().max(1.0)
        } else {
            *value == ours
        };
        assert!(same, "{key}: connector {value}, traced {ours}");
    }
    let samples = theirs.len();

    // `# TYPE` lines agree (the connector's page has no `# HELP` text: the
    // connector gives its metrics no description).
    for family in [
        "traces_span_metrics_calls_total",
        "traces_span_metrics_duration_milliseconds",
    ] {
        let kind = |samples: &Samples| {
            samples
                .1
                .iter()
                .find(|l| l.starts_with(&format!("# TYPE {family} ")))
                .cloned()
        };
        assert_eq!(kind(&connector), kind(&ours), "# TYPE of {family}");
    }

    // The OTLP view: names, units, temporality, bounds, attributes (typed).
    drop(telemetry);
    let theirs = otlp_metrics(&sink.bodies("/spanmetrics/v1/metrics"));
    let ours = sink.wait_for(&collector, "/v1/metrics", "traced's span metrics", |b| {
        otlp_metrics(b)
            .iter()
            .any(|m| m.name() == "traces.span.metrics.duration")
    });
    let ours = otlp_metrics(&ours);
    for name in ["traces.span.metrics.calls", "traces.span.metrics.duration"] {
        // The last export of each side holds every series (cumulative).
        let theirs = theirs
            .iter()
            .rev()
            .find(|m| m.name() == name && str_attr(&m.resource, "service.name") == service)
            .unwrap_or_else(|| panic!("the connector exported no {name}"));
        let mine = ours.iter().rev().find(|m| m.name() == name).expect(name);
        assert_eq!(theirs.unit(), mine.unit(), "unit of {name}");
        assert_eq!(theirs.data().0, mine.data().0, "type of {name}");
        for field in ["aggregationTemporality", "isMonotonic"] {
            assert_eq!(
                theirs.data().1[field],
                mine.data().1[field],
                "{field} of {name}"
            );
        }
        let key = |point: &Value| -> String { format!("{:?}", attributes(&point["attributes"])) };
        let their_points: BTreeMap<String, &Value> =
            theirs.points().iter().map(|p| (key(p), p)).collect();
        let my_points: BTreeMap<String, &Value> =
            mine.points().iter().map(|p| (key(p), p)).collect();
        assert_eq!(
            their_points.keys().collect::<Vec<_>>(),
            my_points.keys().collect::<Vec<_>>(),
            "attribute sets of {name}"
        );
        for (attrs, point) in &their_points {
            let mine = my_points[attrs];
            for field in ["asInt", "count", "bucketCounts", "explicitBounds"] {
                assert_eq!(point[field], mine[field], "{field} of {name} {attrs}");
            }
        }
    }

    // What differs, as the README's "Span metrics" section says.
    let all_theirs = otlp_metrics(&sink.bodies("/spanmetrics/v1/metrics"));
    for name in ["traces.span.metrics.calls", "traces.span.metrics.duration"] {
        let theirs = all_theirs.iter().find(|m| m.name() == name).expect(name);
        let mine = ours.iter().rev().find(|m| m.name() == name).expect(name);
        // Descriptions: the connector gives none.
        assert_eq!(
            theirs.metric["description"].as_str().unwrap_or(""),
            "",
            "{name}"
        );
        assert!(
            !mine.metric["description"].as_str().unwrap_or("").is_empty(),
            "{name}"
        );
    }
    // Exemplars: the connector attaches every span of a flush interval (up to its
    // limit) to the next export only, with the span's duration as the value, on
    // the calls counter too; traced keeps the last sampled measurement of each
    // series (calls: the increment, 1) or bucket, in every export.
    let exemplars = |m: &OtlpMetric| -> Vec<(String, f64)> {
        m.points()
            .iter()
            .flat_map(|p| array(&p["exemplars"]))
            .map(|e| {
                let value = if e["asInt"].is_null() {
                    float(&e["asDouble"])
                } else {
                    int(&e["asInt"]) as f64
                };
                (format!("{}/{}", e["traceId"], e["spanId"]), value)
            })
            .collect()
    };
    let with_exemplars = |name: &str| -> Vec<(String, f64)> {
        all_theirs
            .iter()
            .filter(|m| m.name() == name)
            .flat_map(exemplars)
            .collect()
    };
    let sorted = |mut v: Vec<(String, f64)>| {
        v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        v
    };
    let (calls, durations) = (
        sorted(with_exemplars("traces.span.metrics.calls")),
        sorted(with_exemplars("traces.span.metrics.duration")),
    );
    // At most 5 per series (its default `max_per_data_point`).
    assert!(
        !calls.is_empty() && calls.len() <= 4 * 5,
        "the connector's calls exemplars: {calls:?}"
    );
    assert_eq!(
        calls, durations,
        "the connector's calls exemplars hold the durations"
    );
    let my_calls = ours
        .iter()
        .rev()
        .find(|m| m.name() == "traces.span.metrics.calls")
        .map(exemplars)
        .unwrap_or_default();
    assert_eq!(
        my_calls.len(),
        4,
        "one exemplar per calls series: {my_calls:?}"
    );
    assert!(my_calls.iter().all(|(_, v)| *v == 1.0), "{my_calls:?}");
    println!("span metrics: {samples} Prometheus samples and the OTLP points agree");
}

// ---------------------------------------------------------------------------
// The Collector restarting in the middle of a run
// ---------------------------------------------------------------------------

#[traced(attrs(seq = seq))]
fn tick(seq: i64) {
    let _ = seq;
}

#[test]
fn the_collector_restarting_over_http_protobuf() {
    collector_restarts("http/protobuf");
}

#[test]
fn the_collector_restarting_over_grpc() {
    collector_restarts("grpc");
}

/// Spans made every 20 ms before, during and after a restart of the Collector.
/// The retry queue (`export/delivery.rs`, both protocols) holds what fails while
/// it is down and delivers it after: nothing is lost. The test also asserts that
/// the program went on, that dropping the guard stayed within its bound and that
/// the spans made after the restart arrived.
fn collector_restarts(protocol: &str) {
    let _turn = serial();
    let sink = Sink::start();
    let mut collector = Collector::start(&sink);
    let service = format!("restart-{}", protocol.replace('/', "-"));
    let bound = Duration::from_secs(5);
    let telemetry = builder(&collector, protocol, &service)
        .setting("OTEL_METRICS_EXPORTER", "none")
        .setting("OTEL_LOGS_EXPORTER", "none")
        .setting("OTEL_BSP_SCHEDULE_DELAY", "100")
        .setting("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
        .shutdown_timeout(bound)
        .init();
    let seqs = |spans: &[StoredSpan]| -> BTreeSet<i64> {
        spans
            .iter()
            .map(|s| int(&s.attributes()["seq"]["intValue"]))
            .collect()
    };
    let run = |from: i64, for_: Duration| -> i64 {
        let start = Instant::now();
        let mut seq = from;
        while start.elapsed() < for_ {
            tick(seq);
            seq += 1;
            thread::sleep(Duration::from_millis(20));
        }
        seq
    };

    // Up: every span arrives.
    let up_to = run(0, Duration::from_secs(1));
    telemetry.flush().expect("flush while the Collector is up");
    let before = seqs(&collector.wait_for(&service, |s| s.len() as i64 >= up_to));
    assert_eq!(before.len() as i64, up_to);

    // Down for 2 s, then up again on the same ports (its memory storage starts empty).
    collector.stop();
    let down_to = run(up_to, Duration::from_secs(2));
    collector.start_again();
    let made = run(down_to, Duration::from_secs(2));
    let dropping = Instant::now();
    drop(telemetry);
    let drop_took = dropping.elapsed();

    let after = seqs(&collector.wait_for(&service, |s| seqs(s).contains(&(made - 1))));
    let arrived_down = after
        .iter()
        .filter(|s| (up_to..down_to).contains(*s))
        .count();
    let arrived_up = after
        .iter()
        .filter(|s| (down_to..made).contains(*s))
        .count();
    let lost = made as usize - before.len() - arrived_down - arrived_up;
    println!(
        "collector restart over {protocol}: {made} spans made, {lost} lost; \
         before: {up_to} made, {} arrived; while down: {} made, {arrived_down} arrived; \
         after the restart: {} made, {arrived_up} arrived; the guard's drop took {drop_took:?}",
        before.len(),
        down_to - up_to,
        made - down_to,
    );
    assert!(
        drop_took < bound + Duration::from_secs(1),
        "the guard's drop took {drop_took:?}, its bound is {bound:?}"
    );
    assert!(
        arrived_up > 0,
        "no span made after the restart arrived ({lost} lost)"
    );
    assert_eq!(
        lost, 0,
        "the retry queue lost spans across the restart over {protocol}: {after:?}"
    );
    // The last second of spans after the restart all arrived.
    let late = (made - 25)..made;
    assert!(
        late.clone().all(|s| after.contains(&s)),
        "spans {late:?} made well after the restart are missing: {after:?}"
    );
    collector.assert_nothing_refused();
}
