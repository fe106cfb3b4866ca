//! An application written from the README: every documented setup form, the
//! body macros, the derives and (with their features) the HTTP integrations. It
//! compiles unchanged whatever the features (CI builds it with `enabled` off and
//! with the HTTP and log features but not `enabled`), and with `enabled` off it
//! runs and installs nothing.

use std::time::Duration;
use traced::metrics::{Counter, Histogram, UpDownCounter};
use traced::process::{Action, BaggageSpanProcessor, Redaction, SpanFilter, SpanMetrics};
use traced::{traced, Attributes, Metrics, Sampler};

#[derive(Metrics)]
#[metrics(prefix = "shop.cart")]
struct CartMetrics {
    /// Items added to carts.
    #[metric(unit = "{item}")]
    items_added: Counter<u64>,
    open: UpDownCounter<i64>,
    #[metric(unit = "s", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
    checkout_duration: Histogram<f64>,
}

#[derive(Attributes)]
struct CartLabels {
    #[attr(name = "shop.region")]
    region: &'static str,
}

#[derive(Debug)]
struct OutOfStock;

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

#[traced(kind = client, err, args(sku))]
fn reserve(sku: &str) -> Result<u64, OutOfStock> {
    if sku == "umbrella" {
        return Err(OutOfStock);
    }
    Ok(1)
}

#[traced(kind = server, name = "POST /checkout", attrs(cart.size = items.len()), metrics)]
async fn checkout(items: &[&str]) -> u64 {
    let metrics = CartMetrics::global();
    let mut total = 0;
    for sku in items {
        match reserve(sku) {
            Ok(n) => {
                total += n;
                metrics
                    .items_added
                    .add(1, &CartLabels { region: "eu" }.attributes());
            }
            Err(e) => {
                traced::event!("item.skipped", sku = *sku);
                traced::error!(&e);
            }
        }
    }
    traced::attr!(order.total = total);
    traced::link!(traced::propagation::extract(&std::collections::HashMap::<
        String,
        String,
    >::new()));
    if total == 0 {
        traced::status!(error, "nothing reserved out of {}", items.len());
    } else {
        traced::status!(ok);
    }
    metrics.checkout_duration.record(0.01, &[]);
    metrics.open.add(-1, &[]);
    total
}

/// Every `Builder` method the README and rustdoc show.
fn builder() -> traced::Builder {
    traced::Builder::new()
        .service_name("checkout")
        .service_version("1.4.2")
        .resource_attribute(opentelemetry::KeyValue::new(
            "deployment.environment.name",
            "test",
        ))
        .traces_exporters([traced::TracesExporter::Console])
        .metrics_exporters([traced::MetricsExporter::Console])
        .logs_exporters([traced::LogsExporter::Console])
        .span_processor(BaggageSpanProcessor::new(["tenant.id"]))
        .sampler(Sampler::parent_based(Sampler::ratio(0.1)))
        .span_metrics(
            SpanMetrics::new()
                .dimension("http.route")
                .cardinality_limit(500),
        )
        .span_logs(true)
        .redact(
            Redaction::default_rules()
                .hash_key("user.id")
                .hash_secret(b"shared key")
                .mask_key("session.*")
                .delete_key("http.request.header.x-debug-*")
                .value_pattern(r"acct-\d{8}", Action::Mask)
                .expect("a valid pattern"),
        )
        .filter(
            SpanFilter::new()
                .drop_name("GET /health*")
                .drop_attribute("http.route", "/metrics")
                .drop_kind(opentelemetry::trace::SpanKind::Internal)
                .also_from_span_metrics(),
        )
        .metric_export_interval(Duration::from_secs(30))
        .prometheus_endpoint("127.0.0.1", 0)
        .log_filter("warn,surface=debug")
        .exemplar_filter(traced::metrics::exemplars::ExemplarFilter::TraceBased)
        .setting("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .shutdown_timeout(Duration::from_secs(2))
        .ignore_env()
}

#[cfg(feature = "tower")]
#[allow(dead_code)]
fn server_layer() -> traced::http::ServerLayer {
    traced::http::ServerLayer::new()
}

#[cfg(feature = "reqwest")]
#[allow(dead_code)]
async fn call(client: &reqwest::Client) -> reqwest::Result<reqwest::StatusCode> {
    use traced::http::RequestBuilderExt as _;
    let response = client.get("http://127.0.0.1:1/price").send_traced().await?;
    Ok(response.status())
}

#[cfg(feature = "tracing")]
#[allow(dead_code)]
fn tracing_layer() -> traced::logs::TracingLayer {
    traced::logs::tracing_layer()
}

#[allow(dead_code)]
fn setup_forms() -> Result<(), traced::ConfigError> {
    let _a = traced::init();
    drop(_a);
    let _b = traced::init!();
    drop(_b);
    // An application that keeps its own OpenTelemetry setup.
    traced::use_global_tracer_provider();
    let guard = traced::init_from_file("config/development.yaml")?;
    let _ = guard.flush();
    let _ = guard.prometheus_addr();
    let _ = guard.tracer_provider().is_some();
    let _ = guard.meter_provider().is_some();
    let _ = guard.logger_provider().is_some();
    let _ = traced::DEFAULT_SHUTDOWN_TIMEOUT;
    let _ = traced::Protocol::Grpc;
    let _ = traced::TracesExporter::OtlpFile;
    let _ = (
        Sampler::always_on(),
        Sampler::always_off(),
        Sampler::default(),
    );
    let _baggage = traced::baggage::set([("tenant.id", "acme")]);
    let _ = traced::baggage::get("tenant.id");
    let mut headers = std::collections::HashMap::new();
    traced::propagation::inject(&mut headers);
    guard
        .shutdown()
        .map_err(|e| -> traced::ConfigError { panic!("{e}") })?;
    Ok(())
}

#[test]
fn the_readme_application_runs() {
    let guard = builder().init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    assert_eq!(rt.block_on(checkout(&["apple", "umbrella", "pear"])), 2);
    #[cfg(not(feature = "enabled"))]
    {
        assert!(guard.tracer_provider().is_none());
        assert!(guard.prometheus_addr().is_none());
    }
    guard.flush().expect("flush");
    guard.shutdown().expect("shutdown");
}
