use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::metrics::{InMemoryMetricExporterBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::Resource;

use super::*;

/// Exemplars by metric name and `key=value` attributes, sorted.
#[derive(Default)]
struct MapLookup {
    series: HashMap<(String, Vec<String>), Exemplar>,
    buckets: HashMap<(String, Vec<String>), Vec<Option<Exemplar>>>,
}

fn lookup_key(metric: &str, attributes: &[KeyValue]) -> (String, Vec<String>) {
    let mut attributes: Vec<String> = attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    attributes.sort();
    (metric.to_owned(), attributes)
}

impl ExemplarLookup for MapLookup {
    fn series(&self, metric: &str, attributes: &[KeyValue]) -> Option<Exemplar> {
        self.series.get(&lookup_key(metric, attributes)).cloned()
    }

    fn buckets(&self, metric: &str, attributes: &[KeyValue]) -> Vec<Option<Exemplar>> {
        self.buckets
            .get(&lookup_key(metric, attributes))
            .cloned()
            .unwrap_or_default()
    }
}

fn exemplar(value: f64, nanos_after: u64, trace: u128, span: u64) -> Exemplar {
    Exemplar {
        value,
        time: UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_nanos(nanos_after),
        trace_id: TraceId::from(trace),
        span_id: SpanId::from(span),
    }
}

fn shop_resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("shop-api")
        .with_attribute(KeyValue::new("service.version", "0.9.1"))
        .build()
}

/// The metrics `record` makes, collected once by a cumulative reader.
fn collect_metrics(record: impl FnOnce(&SdkMeterProvider)) -> ResourceMetrics {
    collect_with(Temporality::Cumulative, shop_resource(), record)
}

fn collect_with(
    temporality: Temporality,
    resource: Resource,
    record: impl FnOnce(&SdkMeterProvider),
) -> ResourceMetrics {
    let exporter = InMemoryMetricExporterBuilder::new()
        .with_temporality(temporality)
        .build();
    let reader = PeriodicReader::builder(exporter.clone())
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader)
        .build();
    record(&provider);
    provider.force_flush().expect("flush");
    let metrics = exporter
        .get_finished_metrics()
        .expect("finished metrics")
        .pop()
        .expect("one export");
    provider.shutdown().expect("shutdown");
    metrics
}

/// A small web shop: a counter in two scopes, a latency histogram, an
/// up-down counter and gauges with the common units.
fn record_shop(provider: &SdkMeterProvider) {
    let http = provider.meter_with_scope(
        InstrumentationScope::builder("shop.http")
            .with_version("1.2.0")
            .build(),
    );
    let requests = http
        .u64_counter("http.server.requests")
        .with_description("Requests served")
        .with_unit("{request}")
        .build();
    requests.add(
        3,
        &[
            KeyValue::new("http.route", "/orders"),
            KeyValue::new("http.request.method", "GET"),
        ],
    );
    requests.add(
        1,
        &[
            KeyValue::new("http.route", "/orders/{id}"),
            KeyValue::new("http.request.method", "POST"),
        ],
    );
    let duration = http
        .f64_histogram("http.server.request.duration")
        .with_description("Duration of HTTP server requests")
        .with_unit("s")
        .with_boundaries(vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0])
        .build();
    for seconds in [0.003, 0.007, 0.02, 0.02, 0.3, 2.5] {
        duration.record(seconds, &[KeyValue::new("http.route", "/orders")]);
    }
    let in_use = http
        .i64_up_down_counter("db.client.connections.in_use")
        .with_description("Connections checked out of the pool")
        .with_unit("{connection}")
        .build();
    in_use.add(3, &[KeyValue::new("db.pool", "primary")]);
    in_use.add(-1, &[KeyValue::new("db.pool", "replica")]);
    http.f64_gauge("process.cpu.utilization")
        .with_description("Share of one CPU used by the process")
        .with_unit("1")
        .build()
        .record(0.4375, &[]);
    http.u64_gauge("process.memory.usage")
        .with_description("Resident memory of the process")
        .with_unit("By")
        .build()
        .record(48_234_496, &[]);
    http.f64_gauge("net.throughput")
        .with_unit("By/s")
        .build()
        .record(1536.5, &[KeyValue::new("net.interface", "eth0")]);

    let jobs = provider.meter_with_scope(InstrumentationScope::builder("shop.jobs").build());
    jobs.u64_counter("http.server.requests")
        .with_description("Requests served")
        .with_unit("{request}")
        .build()
        .add(
            7,
            &[
                KeyValue::new("http.route", "/jobs/run"),
                KeyValue::new("http.request.method", "POST"),
            ],
        );
    jobs.f64_counter("queue.items.processed")
        .with_description("Items taken off the queue")
        .with_unit("{item}")
        .build()
        .add(2.5, &[KeyValue::new("queue.name", "emails")]);
}

/// One counter exemplar and two bucket exemplars for [`record_shop`].
fn shop_exemplars() -> MapLookup {
    let mut lookup = MapLookup::default();
    lookup.series.insert(
        lookup_key(
            "http.server.requests",
            &[
                KeyValue::new("http.route", "/orders"),
                KeyValue::new("http.request.method", "GET"),
            ],
        ),
        exemplar(
            1.0,
            250_000_000,
            0x4bf92f3577b34da6a3ce929d0e0e4736,
            0x00f067aa0ba902b7,
        ),
    );
    let mut slots = vec![None; 7];
    slots[1] = Some(exemplar(
        0.007,
        500_000_000,
        0x0af7651916cd43dd8448eb211c80319c,
        0xb7ad6b7169203331,
    ));
    slots[4] = Some(exemplar(
        0.3,
        0,
        0x5b8efff798038103d269b633813fc60c,
        0xeee19b7ec3c1b174,
    ));
    lookup.buckets.insert(
        lookup_key(
            "http.server.request.duration",
            &[KeyValue::new("http.route", "/orders")],
        ),
        slots,
    );
    lookup
}

/// Writes `text` to `$TRACED_PROMETHEUS_DUMP_DIR/name` when that is set, to
/// check the output with other parsers by hand.
fn dump(name: &str, text: &str) {
    if let Some(dir) = std::env::var_os("TRACED_PROMETHEUS_DUMP_DIR") {
        std::fs::write(std::path::Path::new(&dir).join(name), text).expect("dump");
    }
}

#[test]
fn renders_a_realistic_export_as_text() {
    let metrics = collect_metrics(record_shop);
    let text = render(&metrics, Format::Text, &shop_exemplars());
    dump("shop.prom", &text);
    insta::assert_snapshot!(text);
}

#[test]
fn renders_a_realistic_export_as_openmetrics() {
    let metrics = collect_metrics(record_shop);
    let text = render(&metrics, Format::OpenMetrics, &shop_exemplars());
    dump("shop.om", &text);
    insta::assert_snapshot!(text);
}

#[test]
fn exemplars_only_in_openmetrics() {
    let metrics = collect_metrics(record_shop);
    let text = render(&metrics, Format::Text, &shop_exemplars());
    assert!(!text.contains("# {"), "{text}");
    assert!(!text.contains("# EOF"), "{text}");

    let openmetrics = render(&metrics, Format::OpenMetrics, &shop_exemplars());
    assert!(openmetrics.ends_with("\n# EOF\n"), "{openmetrics}");
    let with_exemplar: Vec<&str> = openmetrics
        .lines()
        .filter(|line| line.contains(" # {"))
        .collect();
    // The counter's, and the buckets the two measurements fell into (0.007
    // in `le="0.01"`, 0.3 in `le="0.5"`), none above them.
    assert_eq!(with_exemplar.len(), 3, "{openmetrics}");
    assert!(with_exemplar[0].starts_with(
        "http_server_request_duration_seconds_bucket{http_route=\"/orders\",otel_scope_name=\"shop.http\",otel_scope_version=\"1.2.0\",le=\"0.01\"} 2 # {"
    ), "{openmetrics}");
    assert!(with_exemplar[1].starts_with(
        "http_server_request_duration_seconds_bucket{http_route=\"/orders\",otel_scope_name=\"shop.http\",otel_scope_version=\"1.2.0\",le=\"0.5\"} 5 # {"
    ), "{openmetrics}");
    assert!(with_exemplar.iter().any(|line| line.starts_with(
        "http_server_requests_total{http_request_method=\"GET\",http_route=\"/orders\""
    ) && line.ends_with(
        " # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 1.0 1700000000.25"
    )));

    // Without a lookup OpenMetrics has none either.
    let plain = render(&metrics, Format::OpenMetrics, &NoExemplars);
    assert!(!plain.contains("# {"), "{plain}");
}

#[test]
fn two_scopes_share_one_family() {
    let metrics = collect_metrics(record_shop);
    for (format, type_line) in [
        (Format::Text, "# TYPE http_server_requests_total counter"),
        (Format::OpenMetrics, "# TYPE http_server_requests counter"),
    ] {
        let text = render(&metrics, format, &NoExemplars);
        assert_eq!(text.matches(type_line).count(), 1, "{text}");
        assert_eq!(text.matches("# HELP http_server_requests").count(), 1);
        assert_eq!(text.matches("http_server_requests_total{").count(), 3);
        assert!(text.contains(
            "http_server_requests_total{http_request_method=\"POST\",http_route=\"/jobs/run\",otel_scope_name=\"shop.jobs\"} 7\n"
        ), "{text}");
    }
}

#[test]
fn translates_names_and_units() {
    use Kind::{Counter, Gauge, Histogram};
    for (kind, name, unit, expected) in [
        (
            Histogram,
            "http.server.request.duration",
            "s",
            "http_server_request_duration_seconds",
        ),
        (
            Counter,
            "http.server.requests",
            "{request}",
            "http_server_requests",
        ),
        (Counter, "requests_total", "", "requests"),
        (Counter, "io.bytes_total", "By", "io_bytes"),
        (Counter, "io.written_total", "By", "io_written_bytes"),
        (Histogram, "latency_seconds", "s", "latency_seconds"),
        (Gauge, "latency.ms", "ms", "latency_ms_milliseconds"),
        (
            Gauge,
            "process.memory.usage",
            "By",
            "process_memory_usage_bytes",
        ),
        (
            Gauge,
            "process.cpu.utilization",
            "1",
            "process_cpu_utilization_ratio",
        ),
        (Gauge, "net.io", "By/s", "net_io_bytes_per_second"),
        (Gauge, "packets", "{packet}/s", "packets_per_second"),
        (Gauge, "room.temperature", "Cel", "room_temperature_celsius"),
        (Gauge, "disk.size", "KiBy", "disk_size_kibibytes"),
        (Gauge, "speed", "m/s", "speed_meters_per_second"),
        (Counter, "widgets.made", "widget-s", "widgets_made_widget_s"),
        (Gauge, "my-app/queue..depth", "", "my_app_queue_depth"),
        (Counter, "2xx.responses", "", "_2xx_responses"),
        (Gauge, "ns:metric.name", "", "ns:metric_name"),
        (Gauge, "caf\u{e9}.ouvert", "", "caf_ouvert"),
        (Gauge, "trailing.", "s", "trailing_seconds"),
        (Gauge, "seconds", "s", "seconds"),
    ] {
        let unit = prometheus_unit(unit, kind == Gauge);
        assert_eq!(family_name(name, &unit, kind), expected, "{name}");
    }

    let requests = Family {
        name: "requests".to_owned(),
        kind: Counter,
        unit: String::new(),
        help: String::new(),
        series: Vec::new(),
    };
    assert_eq!(requests.exposed_name(Format::Text), "requests_total");
    assert_eq!(requests.exposed_name(Format::OpenMetrics), "requests");
}

#[test]
fn translates_units() {
    for (unit, gauge, expected) in [
        ("1", true, "ratio"),
        ("1", false, ""),
        ("{item}", true, ""),
        ("{item}", false, ""),
        ("s", false, "seconds"),
        ("ms", false, "milliseconds"),
        ("us", false, "microseconds"),
        ("By", false, "bytes"),
        ("By/s", false, "bytes_per_second"),
        ("1/s", false, "per_second"),
        ("{request}/min", false, "per_min"),
        ("Cel", true, "celsius"),
        ("%", true, "percent"),
        ("Hz", true, "hertz"),
        ("", true, ""),
    ] {
        assert_eq!(
            prometheus_unit(unit, gauge),
            expected,
            "{unit} gauge={gauge}"
        );
    }
}

#[test]
fn translates_label_names() {
    for (key, expected) in [
        ("http.route", "http_route"),
        ("http.response.status_code", "http_response_status_code"),
        ("service.name", "service_name"),
        ("1st.place", "key_1st_place"),
        ("a..b", "a_b"),
        ("_private", "key_private"),
        ("\u{ff}es", "key_es"),
        ("ns:key", "ns_key"),
        ("", "key"),
    ] {
        assert_eq!(label_name(key), expected, "{key:?}");
    }
}

#[test]
fn colliding_and_reserved_label_names() {
    let labels = attribute_labels(
        [
            ("a_b", Cow::Borrowed("second")),
            ("a.b", Cow::Borrowed("first")),
            ("le", Cow::Borrowed("renamed")),
            ("key.le", Cow::Borrowed("joined")),
            ("z", Cow::Borrowed("last")),
        ]
        .into_iter(),
        &RESERVED_LABELS,
    );
    assert_eq!(
        labels,
        [
            ("a_b".to_owned(), "first;second".to_owned()),
            ("key_le".to_owned(), "joined;renamed".to_owned()),
            ("z".to_owned(), "last".to_owned()),
        ]
    );
}

#[test]
fn escapes_help_and_label_values() {
    let metrics = collect_metrics(|provider| {
        provider
            .meter("escapes")
            .u64_counter("jobs")
            .with_description("Jobs \"done\"\\total\nsecond line")
            .build()
            .add(
                1,
                &[
                    KeyValue::new("path", "C:\\tmp\\\"x\"\nend"),
                    KeyValue::new("count", 5_i64),
                    KeyValue::new("ok", true),
                ],
            );
    });
    let text = render(&metrics, Format::Text, &NoExemplars);
    assert!(
        text.contains("# HELP jobs_total Jobs \"done\"\\\\total\\nsecond line\n"),
        "{text}"
    );
    assert!(text.contains(
        "jobs_total{count=\"5\",ok=\"true\",otel_scope_name=\"escapes\",path=\"C:\\\\tmp\\\\\\\"x\\\"\\nend\"} 1\n"
    ), "{text}");

    let openmetrics = render(&metrics, Format::OpenMetrics, &NoExemplars);
    assert!(
        openmetrics.contains("# HELP jobs Jobs \\\"done\\\"\\\\total\\nsecond line\n"),
        "{openmetrics}"
    );
    assert!(openmetrics.contains("path=\"C:\\\\tmp\\\\\\\"x\\\"\\nend\""));
}

#[test]
fn target_info_carries_the_resource() {
    // The reader exports nothing without a metric; a delta one is dropped.
    let metrics = collect_with(Temporality::Delta, shop_resource(), |provider| {
        provider.meter("m").u64_counter("c").build().add(1, &[]);
    });
    assert_eq!(
        render(&metrics, Format::Text, &NoExemplars),
        "# HELP target_info Target metadata\n\
         # TYPE target_info gauge\n\
         target_info{service_name=\"shop-api\",service_version=\"0.9.1\"} 1\n"
    );
    assert_eq!(
        render(&metrics, Format::OpenMetrics, &NoExemplars),
        "# TYPE target info\n\
         # HELP target Target metadata\n\
         target_info{service_name=\"shop-api\",service_version=\"0.9.1\"} 1\n\
         # EOF\n"
    );
}

#[test]
fn renders_nothing_for_nothing() {
    let metrics = ResourceMetrics::default();
    assert_eq!(render(&metrics, Format::Text, &NoExemplars), "");
    assert_eq!(
        render(&metrics, Format::OpenMetrics, &NoExemplars),
        "# EOF\n"
    );
}

#[test]
fn drops_delta_sums_and_histograms() {
    let metrics = collect_with(
        Temporality::Delta,
        Resource::builder_empty().build(),
        |provider| {
            let meter = provider.meter("delta");
            meter.u64_counter("sent").build().add(1, &[]);
            meter.f64_histogram("latency").build().record(1.0, &[]);
            meter.f64_gauge("level").build().record(0.5, &[]);
        },
    );
    assert_eq!(
        render(&metrics, Format::Text, &NoExemplars),
        "# TYPE level gauge\nlevel{otel_scope_name=\"delta\"} 0.5\n"
    );
}

#[test]
fn drops_a_metric_whose_type_conflicts() {
    let metrics = collect_metrics(|provider| {
        // Both are `jobs_total` in the text format.
        let first = provider.meter("a.first");
        first.u64_counter("jobs").build().add(1, &[]);
        let second = provider.meter("b.second");
        second.u64_gauge("jobs_total").build().record(9, &[]);
        // Both are `tasks` in OpenMetrics.
        first.u64_gauge("tasks").build().record(2, &[]);
        second.u64_counter("tasks").build().add(3, &[]);
    });
    let text = render(&metrics, Format::Text, &NoExemplars);
    assert!(
        text.contains("jobs_total{otel_scope_name=\"a.first\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("b.second"), "{text}");
    assert!(text.contains("# TYPE tasks gauge\ntasks{otel_scope_name=\"a.first\"} 2\n"));
}

#[test]
fn histogram_with_negative_bounds_has_no_sum() {
    let metrics = collect_with(
        Temporality::Cumulative,
        Resource::builder_empty().build(),
        |provider| {
            provider
                .meter("t")
                .f64_histogram("temperature.delta")
                .with_boundaries(vec![-10.0, 0.0, 10.0])
                .build()
                .record(-3.0, &[]);
        },
    );
    assert_eq!(
        render(&metrics, Format::Text, &NoExemplars),
        "# TYPE temperature_delta histogram\n\
         temperature_delta_bucket{otel_scope_name=\"t\",le=\"-10\"} 0\n\
         temperature_delta_bucket{otel_scope_name=\"t\",le=\"0\"} 1\n\
         temperature_delta_bucket{otel_scope_name=\"t\",le=\"10\"} 1\n\
         temperature_delta_bucket{otel_scope_name=\"t\",le=\"+Inf\"} 1\n"
    );
}

#[test]
fn bucket_exemplars_stay_in_their_bucket() {
    let bounds = [1.0, 2.0, 3.0];
    let low = exemplar(0.5, 0, 1, 1);
    let too_big = exemplar(5.0, 0, 2, 2);
    let untraced = Exemplar {
        trace_id: TraceId::INVALID,
        ..exemplar(2.5, 0, 3, 3)
    };
    let too_small = exemplar(2.0, 0, 4, 4);
    let buckets = cumulative_buckets(
        &bounds,
        [1, 0, 2, 4].into_iter(),
        vec![
            Some(low.clone()),
            Some(too_big),
            Some(untraced),
            Some(too_small),
        ],
    );
    let counts: Vec<u64> = buckets.iter().map(|bucket| bucket.count).collect();
    assert_eq!(counts, [1, 1, 3, 7]);
    assert_eq!(buckets[3].le, f64::INFINITY);
    assert_eq!(buckets[0].exemplar.as_ref(), Some(&low));
    for bucket in &buckets[1..] {
        assert_eq!(bucket.exemplar, None, "le={}", bucket.le);
    }

    // A bound is the top of its bucket: 2.0 belongs to `le="2.0"`, and
    // `+Inf` takes what is above the last bound.
    let at_bound = exemplar(2.0, 0, 5, 5);
    let above = exemplar(7.5, 0, 6, 6);
    let buckets = cumulative_buckets(
        &bounds,
        [0, 1, 0, 1].into_iter(),
        vec![None, Some(at_bound.clone()), None, Some(above.clone())],
    );
    let shown: Vec<Option<&Exemplar>> = buckets
        .iter()
        .map(|bucket| bucket.exemplar.as_ref())
        .collect();
    assert_eq!(shown, [None, Some(&at_bound), None, Some(&above)]);
}

#[test]
fn picks_the_format_from_accept() {
    let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    for (accept, expected) in [
        (Some(prometheus_2), Format::OpenMetrics),
        (Some(prometheus_3), Format::OpenMetrics),
        (Some("application/openmetrics-text"), Format::OpenMetrics),
        (
            Some("Application/OpenMetrics-Text; Version=1.0.0"),
            Format::OpenMetrics,
        ),
        (Some("text/plain"), Format::Text),
        (Some("text/plain;version=0.0.4"), Format::Text),
        (Some("*/*"), Format::Text),
        (Some(""), Format::Text),
        (None, Format::Text),
        (
            Some("text/plain,application/openmetrics-text;q=0.5"),
            Format::Text,
        ),
        (
            Some("text/plain;q=0.2,application/openmetrics-text;q=0.5,*/*"),
            Format::OpenMetrics,
        ),
        (Some("application/openmetrics-text;q=0.3,*/*"), Format::Text),
        (Some("application/openmetrics-text;q=0"), Format::Text),
        (
            Some("application/openmetrics-text;q=oops,text/plain;q=0.1"),
            Format::Text,
        ),
    ] {
        assert_eq!(Format::from_accept(accept), expected, "{accept:?}");
    }
    assert_eq!(
        Format::Text.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(
        Format::OpenMetrics.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
}

#[test]
fn formats_numbers() {
    assert_eq!(Number::U64(48_234_496).to_string(), "48234496");
    assert_eq!(Number::I64(-1).to_string(), "-1");
    assert_eq!(Number::F64(2.0).to_string(), "2.0");
    assert_eq!(Number::F64(0.1 + 0.2).to_string(), "0.30000000000000004");
    assert_eq!(Number::F64(1e21).to_string(), "1e21");
    assert_eq!(Number::F64(f64::INFINITY).to_string(), "+Inf");
    assert_eq!(Number::F64(f64::NEG_INFINITY).to_string(), "-Inf");
    assert_eq!(Number::F64(f64::NAN).to_string(), "NaN");
}

#[test]
fn formats_le_in_the_text_format_as_the_objective_thresholds_are_written() {
    for (value, expected) in [
        (0.0, "0"),
        (0.005, "0.005"),
        (0.25, "0.25"),
        (1.0, "1"),
        (2.5, "2.5"),
        (5.0, "5"),
        (10.0, "10"),
        (100_000.0, "100000"),
        (1e6, "1e+06"),
        (1e-5, "1e-05"),
        (-10.0, "-10"),
        (f64::INFINITY, "+Inf"),
    ] {
        assert_eq!(text_le(value), expected, "{value}");
    }
    // Every autometrics latency threshold is the `le` of its bucket, as a string.
    use crate::metrics::ObjectiveLatency::*;
    let thresholds = [
        Ms5, Ms10, Ms25, Ms50, Ms75, Ms100, Ms250, Ms500, Ms750, Ms1000, Ms2500, Ms5000, Ms7500,
        Ms10000,
    ];
    for (bound, threshold) in crate::metrics::CALL_DURATION_BUCKETS
        .into_iter()
        .zip(thresholds)
    {
        assert_eq!(text_le(bound), threshold.as_str(), "{bound}");
    }
}

#[test]
fn formats_le_canonically() {
    for (value, expected) in [
        (0.0, "0.0"),
        (0.001, "0.001"),
        (0.005, "0.005"),
        (0.95, "0.95"),
        (1.0, "1.0"),
        (1.7, "1.7"),
        (10.0, "10.0"),
        (2500.0, "2500.0"),
        (100_000.0, "100000.0"),
        (123_456.5, "123456.5"),
        (1e6, "1e+06"),
        (2.5e6, "2.5e+06"),
        (1e10, "1e+10"),
        (0.0001, "0.0001"),
        (1e-5, "1e-05"),
        (1.5e-10, "1.5e-10"),
        (1.5e300, "1.5e+300"),
        (-2.5, "-2.5"),
        (-1e7, "-1e+07"),
        (f64::INFINITY, "+Inf"),
    ] {
        assert_eq!(canonical_float(value), expected, "{value}");
    }
}

#[test]
fn formats_timestamps() {
    let at = |secs: u64, nanos: u32| UNIX_EPOCH + Duration::new(secs, nanos);
    assert_eq!(timestamp(at(1_700_000_000, 0)), "1700000000.0");
    assert_eq!(timestamp(at(1_700_000_000, 500_000_000)), "1700000000.5");
    assert_eq!(
        timestamp(at(1_700_000_000, 123_456_789)),
        "1700000000.123456789"
    );
    assert_eq!(timestamp(at(1, 1_000)), "1.000001");
    assert_eq!(timestamp(UNIX_EPOCH - Duration::from_millis(1500)), "-1.5");
}
