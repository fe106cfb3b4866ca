//! `#[derive(Metrics)]` with every instrument kind, `#[derive(Attributes)]`, and the
//! call metrics of `#[traced(metrics)]`, read back through the SDK's in-memory exporter.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use traced::metrics::{
    AsyncInstrument, Counter, Gauge, Histogram, ObservableCounter, ObservableGauge,
    ObservableUpDownCounter, UpDownCounter,
};
use traced::{traced, Attributes, Metrics};

fn cpu_seconds(obs: &dyn AsyncInstrument<f64>) {
    obs.observe(12.5, &[]);
}

fn pool_size(obs: &dyn AsyncInstrument<i64>) {
    obs.observe(-2, &[opentelemetry::KeyValue::new("pool", "db")]);
}

fn queue_depth(obs: &dyn AsyncInstrument<u64>) {
    obs.observe(7, &[]);
}

#[derive(Metrics)]
#[metrics(prefix = "shop.cart")]
struct CartMetrics {
    /// Items added to carts.
    #[metric(unit = "{item}")]
    items_added: Counter<u64>,
    /// Money taken.
    #[metric(unit = "EUR")]
    revenue: Counter<f64>,
    /// Carts open right now.
    open: UpDownCounter<i64>,
    #[metric(
        name = "temperature",
        unit = "Cel",
        description = "Warehouse temperature."
    )]
    temp: Gauge<f64>,
    #[metric(unit = "s", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
    checkout_duration: Histogram<f64>,
    #[metric(unit = "s", callback = cpu_seconds)]
    cpu: ObservableCounter<f64>,
    #[metric(callback = pool_size)]
    pool: ObservableUpDownCounter<i64>,
    #[metric(callback = queue_depth)]
    queue: ObservableGauge<u64>,
    #[metric(callback = |o: &dyn AsyncInstrument<i64>| o.observe(-40, &[]))]
    freezer: ObservableGauge<i64>,
}

#[derive(Attributes)]
struct CartLabels<'a> {
    region: &'a str,
    #[attr(name = "payment.method")]
    payment: &'static str,
    express: bool,
}

#[test]
fn every_instrument_kind_reaches_the_exporter() {
    let (_, _, metrics) = capture_all(|| {
        let m = CartMetrics::global();
        let labels = CartLabels {
            region: "eu",
            payment: "card",
            express: true,
        };
        m.items_added.add(2, &labels.attributes());
        m.items_added.add(3, &labels.attributes());
        m.items_added.add(1, &[]);
        m.revenue.add(9.5, &[]);
        m.open.add(3, &[]);
        m.open.add(-1, &[]);
        m.temp.record(4.5, &[]);
        for v in [0.003, 0.007, 0.2, 2.0] {
            m.checkout_duration.record(v, &[]);
        }
    });

    let added = metrics.with(
        "shop.cart.items_added",
        &[
            ("region", "eu"),
            ("payment.method", "card"),
            ("express", "true"),
        ],
    );
    assert_eq!(
        (added.kind, added.monotonic, added.value),
        ("sum", true, 5.0)
    );
    assert_eq!(added.unit, "{item}");
    assert_eq!(added.description, "Items added to carts.");
    assert_eq!(metrics.named("shop.cart.items_added").len(), 2);

    assert_eq!(metrics.one("shop.cart.revenue").value, 9.5);
    let open = metrics.one("shop.cart.open");
    assert_eq!((open.kind, open.monotonic, open.value), ("sum", false, 2.0));

    let temp = metrics.one("shop.cart.temperature");
    assert_eq!((temp.kind, temp.value), ("gauge", 4.5));
    assert_eq!(temp.description, "Warehouse temperature.");
    assert_eq!(temp.unit, "Cel");

    let h = metrics.one("shop.cart.checkout_duration");
    assert_eq!(h.kind, "histogram");
    assert_eq!(h.count, 4);
    assert_eq!(h.bounds, [0.005, 0.01, 0.05, 0.1, 0.5, 1.0]);
    assert_eq!(h.buckets, [1, 1, 0, 0, 1, 0, 1]);
    assert!((h.value - 2.21).abs() < 1e-9);

    let cpu = metrics.one("shop.cart.cpu");
    assert_eq!((cpu.kind, cpu.monotonic, cpu.value), ("sum", true, 12.5));
    let pool = metrics.with("shop.cart.pool", &[("pool", "db")]);
    assert_eq!(
        (pool.kind, pool.monotonic, pool.value),
        ("sum", false, -2.0)
    );
    assert_eq!(metrics.one("shop.cart.queue").value, 7.0);
    assert_eq!(metrics.one("shop.cart.freezer").value, -40.0);
}

#[test]
fn global_instance_follows_init() {
    // Before init the instruments are no-ops; after init the same call records.
    without_telemetry(|| CartMetrics::global().items_added.add(100, &[]));
    let (_, _, metrics) = capture_all(|| CartMetrics::global().items_added.add(1, &[]));
    assert_eq!(metrics.one("shop.cart.items_added").value, 1.0);
    let (_, _, metrics) = capture_all(|| CartMetrics::global().items_added.add(2, &[]));
    assert_eq!(
        metrics.one("shop.cart.items_added").value,
        2.0,
        "a re-init starts from a new provider"
    );
}

#[test]
fn new_builds_from_any_meter() {
    let (_, _, metrics) = capture_all(|| {
        let meter = traced::metrics::meter("billing", "1.0.0");
        let m = CartMetrics::new(&meter);
        m.open.add(5, &[]);
    });
    assert_eq!(metrics.one("shop.cart.open").value, 5.0);
}

#[traced(metrics)]
fn handler(fail: bool) -> Result<u8, String> {
    helper();
    if fail {
        Err("nope".into())
    } else {
        Ok(1)
    }
}

#[traced(metrics)]
fn helper() -> u8 {
    2
}

#[traced(metrics)]
async fn async_handler(fail: bool) -> Result<u8, String> {
    tokio::task::yield_now().await;
    helper();
    if fail {
        Err("async nope".into())
    } else {
        Ok(1)
    }
}

#[traced(metrics)]
fn panics() {
    panic!("metrics see panics")
}

#[test]
fn traced_metrics_count_calls_with_autometrics_labels() {
    let (_, spans, metrics) = capture_all(|| {
        let _ = handler(false);
        let _ = handler(false);
        let _ = handler(true);
        let _ = std::panic::catch_unwind(panics);
    });
    let ok = metrics.with(
        "function.calls",
        &[
            ("function", "handler"),
            ("module", "metrics"),
            ("result", "ok"),
        ],
    );
    assert_eq!(ok.value, 2.0);
    assert_eq!(ok.attrs["caller.function"], "");
    let err = metrics.with(
        "function.calls",
        &[("function", "handler"), ("result", "error")],
    );
    assert_eq!(err.value, 1.0);
    let helper = metrics.with("function.calls", &[("function", "helper")]);
    assert_eq!(helper.value, 3.0);
    assert_eq!(helper.attrs["caller.function"], "handler");
    assert_eq!(helper.attrs["caller.module"], "metrics");
    assert_eq!(helper.attrs["result"], "ok");
    let panicked = metrics.with("function.calls", &[("function", "panics")]);
    assert_eq!(panicked.attrs["result"], "error");

    let duration = metrics.with("function.calls.duration", &[("function", "handler")]);
    assert_eq!(duration.kind, "histogram");
    assert_eq!(duration.unit, "s");
    assert_eq!(duration.count, 3);
    assert_eq!(duration.bounds.len(), 14);
    // The span is still there as usual.
    assert_eq!(spans.all("handler").len(), 3);
}

#[test]
fn traced_metrics_on_async_functions() {
    let (_, _, metrics) = capture_all(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let _ = async_handler(false).await;
                let _ = async_handler(true).await;
            })
    });
    assert_eq!(
        metrics
            .with(
                "function.calls",
                &[("function", "async_handler"), ("result", "ok")]
            )
            .value,
        1.0
    );
    assert_eq!(
        metrics
            .with(
                "function.calls",
                &[("function", "async_handler"), ("result", "error")]
            )
            .value,
        1.0
    );
    let helper = metrics.with("function.calls", &[("function", "helper")]);
    assert_eq!(helper.attrs["caller.function"], "async_handler");
}

#[test]
fn traced_metrics_count_unsampled_calls_too() {
    let exporter = traced::opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    // One turn for the whole test: no other test installs a provider meanwhile.
    let metrics = without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .sampler(traced::opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .traces_exporters([])
            .metric_exporter(exporter.clone())
            .init();
        let _ = handler(false);
        guard.flush().unwrap();
        let metrics = common::metrics::last_export(&exporter);
        drop(guard);
        metrics
    });
    assert_eq!(
        metrics
            .with("function.calls", &[("function", "handler")])
            .value,
        1.0
    );
}

#[test]
fn call_metrics_carry_the_service_name_and_build_info_the_build() {
    let exporter = traced::opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let metrics = without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .service_name("shop-api")
            .service_version("0.9.1")
            .setting("AUTOMETRICS_COMMIT", "4cfd2f3")
            .setting("AUTOMETRICS_BRANCH", "main")
            .setting("AUTOMETRICS_REPOSITORY_URL", "https://github.com/shop/api")
            .traces_exporters([])
            .metric_exporter(exporter.clone())
            .init();
        let _ = handler(false);
        guard.flush().unwrap();
        let metrics = common::metrics::last_export(&exporter);
        drop(guard);
        metrics
    });
    let calls = metrics.with("function.calls", &[("function", "handler")]);
    assert_eq!(calls.attrs["service.name"], "shop-api");
    let duration = metrics.with("function.calls.duration", &[("function", "handler")]);
    assert_eq!(duration.attrs["service.name"], "shop-api");
    let build = metrics.one("build_info");
    assert_eq!(build.value, 1.0);
    for (key, value) in [
        ("version", "0.9.1"),
        ("commit", "4cfd2f3"),
        ("branch", "main"),
        ("service.name", "shop-api"),
        ("repository.url", "https://github.com/shop/api"),
        ("repository.provider", "github"),
        ("autometrics.version", "1.0.0"),
    ] {
        assert_eq!(build.attrs[key], value, "{key}");
    }
}

#[test]
fn autometrics_service_name_renames_the_call_metrics_and_build_info() {
    let exporter = traced::opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let metrics = without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .service_name("shop-api")
            .setting("AUTOMETRICS_SERVICE_NAME", "checkout")
            .traces_exporters([])
            .metric_exporter(exporter.clone())
            .init();
        let _ = handler(false);
        guard.flush().unwrap();
        let metrics = common::metrics::last_export(&exporter);
        drop(guard);
        metrics
    });
    let calls = metrics.with("function.calls", &[("function", "handler")]);
    assert_eq!(calls.attrs["service.name"], "checkout");
    assert_eq!(metrics.one("build_info").attrs["service.name"], "checkout");
}

const CART_API: traced::Objective = traced::Objective::new("cart-api")
    .success_rate(traced::ObjectivePercentile::P99_9)
    .latency(
        traced::ObjectiveLatency::Ms250,
        traced::ObjectivePercentile::P99,
    );

const SEARCH_LATENCY: traced::Objective = traced::Objective::new("search").latency(
    traced::ObjectiveLatency::Ms50,
    traced::ObjectivePercentile::P95,
);

#[traced(metrics(objective = CART_API))]
fn get_cart(fail: bool) -> Result<u32, String> {
    if fail {
        Err("no cart".into())
    } else {
        Ok(1)
    }
}

#[traced(metrics(objective = CART_API))]
fn add_to_cart() {}

#[traced(metrics(objective = SEARCH_LATENCY))]
fn search() {}

#[test]
fn an_objective_labels_the_call_metrics_of_every_function_sharing_it() {
    let (_, _, metrics) = capture_all(|| {
        let _ = get_cart(false);
        let _ = get_cart(true);
        add_to_cart();
        search();
        let _ = handler(false);
    });
    for function in ["get_cart", "add_to_cart"] {
        let calls = metrics.with(
            "function.calls",
            &[("function", function), ("result", "ok")],
        );
        assert_eq!(calls.attrs["objective.name"], "cart-api", "{function}");
        assert_eq!(calls.attrs["objective.percentile"], "99.9", "{function}");
        assert!(!calls.attrs.contains_key("objective.latency_threshold"));
        let duration = metrics.with("function.calls.duration", &[("function", function)]);
        assert_eq!(duration.attrs["objective.name"], "cart-api", "{function}");
        assert_eq!(duration.attrs["objective.percentile"], "99", "{function}");
        assert_eq!(
            duration.attrs["objective.latency_threshold"], "0.25",
            "{function}"
        );
    }
    let failed = metrics.with(
        "function.calls",
        &[("function", "get_cart"), ("result", "error")],
    );
    assert_eq!(failed.attrs["objective.name"], "cart-api");
    // A latency objective only: the counter has no objective labels.
    let calls = metrics.with("function.calls", &[("function", "search")]);
    assert!(
        !calls.attrs.contains_key("objective.name"),
        "{:?}",
        calls.attrs
    );
    let duration = metrics.with("function.calls.duration", &[("function", "search")]);
    assert_eq!(duration.attrs["objective.name"], "search");
    assert_eq!(duration.attrs["objective.percentile"], "95");
    assert_eq!(duration.attrs["objective.latency_threshold"], "0.05");
    // No objective: no objective labels.
    let plain = metrics.with("function.calls.duration", &[("function", "handler")]);
    assert!(
        !plain.attrs.contains_key("objective.name"),
        "{:?}",
        plain.attrs
    );
}

#[test]
fn dropping_the_guard_exports_the_last_metrics() {
    let exporter = traced::opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    without_telemetry(|| {
        let guard = traced::Builder::new()
            .ignore_env()
            .traces_exporters([])
            .metric_exporter(exporter.clone())
            .init();
        CartMetrics::global().items_added.add(4, &[]);
        drop(guard);
    });
    let metrics = common::metrics::last_export(&exporter);
    assert_eq!(metrics.one("shop.cart.items_added").value, 4.0);
}

#[test]
fn call_metrics_exemplars_link_each_sampled_call_in_its_own_bucket() {
    use opentelemetry::KeyValue;
    use traced::metrics::exemplars::{self, Num};
    let ((calls, duration), spans, _) = capture_with(
        |b| b.service_name("shop"),
        || {
            let _ = helper();
            let _ = helper();
            let duration = [
                KeyValue::new("function", "helper"),
                KeyValue::new("module", "metrics"),
                KeyValue::new("service.name", "shop"),
            ];
            let calls = [
                KeyValue::new("function", "helper"),
                KeyValue::new("module", "metrics"),
                KeyValue::new("service.name", "shop"),
                KeyValue::new("result", "ok"),
                KeyValue::new("caller.function", ""),
                KeyValue::new("caller.module", ""),
            ];
            (
                exemplars::lookup("function.calls")
                    .expect("the call counter's reservoir")
                    .snapshot(&calls),
                exemplars::lookup("function.calls.duration")
                    .expect("the call histogram's reservoir")
                    .snapshot(&duration),
            )
        },
    );
    let helpers = spans.all("helper");
    assert_eq!(helpers.len(), 2);
    let ids = |s: &&traced::opentelemetry_sdk::trace::SpanData| {
        (s.span_context.trace_id(), s.span_context.span_id())
    };
    let second = ids(&helpers[1]);
    // The counter keeps the last call: the second span.
    assert_eq!(calls.len(), 1);
    let counted = calls[0].as_ref().expect("an exemplar for the counter");
    assert_eq!((counted.trace_id, counted.span_id), second);
    assert_eq!(counted.value, Num::Int(1));
    // The histogram keeps one per bucket, each in the bucket of its own value.
    let buckets = traced::metrics::CALL_DURATION_BUCKETS;
    assert_eq!(duration.len(), buckets.len() + 1);
    let mut kept = Vec::new();
    for (slot, exemplar) in duration.iter().enumerate() {
        if let Some(e) = exemplar {
            let v = e.value.as_f64();
            assert_eq!(slot, buckets.partition_point(|b| *b < v), "{e:?}");
            assert!(helpers.iter().any(|s| ids(s) == (e.trace_id, e.span_id)));
            kept.push((e.trace_id, e.span_id));
        }
    }
    assert!(kept.contains(&second), "{duration:?}");
    assert!(!kept.is_empty() && kept.len() <= 2, "{duration:?}");
}
