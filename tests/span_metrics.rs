//! Span metrics: exact RED metrics from spans, at any sampling ratio, named as the
//! Collector's spanmetrics connector names them, with a bounded cardinality.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use traced::opentelemetry_sdk::trace::Sampler;
use traced::process::SpanMetrics;
use traced::traced;

#[traced(kind = server, attrs(http.route = "/cart/{id}"))]
fn get_cart(fail: bool) -> Result<(), String> {
    if fail {
        traced::status!(error, "boom");
        Err("boom".into())
    } else {
        Ok(())
    }
}

#[traced(root)]
fn job(i: u32) -> u32 {
    i
}

#[test]
fn span_metrics_count_every_call_at_one_percent_sampling() {
    let (_, spans, metrics) = capture_with(
        |b| {
            b.sampler(Sampler::TraceIdRatioBased(0.01))
                .span_metrics(SpanMetrics::new())
        },
        || {
            for i in 0..3000 {
                job(i);
            }
        },
    );
    let calls = metrics.with(
        "traces.span.metrics.calls",
        &[
            ("span.name", "job"),
            ("span.kind", "SPAN_KIND_INTERNAL"),
            ("status.code", "STATUS_CODE_UNSET"),
        ],
    );
    assert_eq!(calls.value, 3000.0, "every span counted");
    let exported = spans.all("job").len();
    assert!(
        exported < 150,
        "only the sampled fraction is exported, got {exported}"
    );
    let duration = metrics.with("traces.span.metrics.duration", &[("span.name", "job")]);
    assert_eq!(duration.count, 3000);
    assert_eq!(duration.unit, "ms");
}

#[test]
fn dimensions_status_and_service_name() {
    let (_, _, metrics) = capture_with(
        |b| {
            b.service_name("cart-service")
                .span_metrics(SpanMetrics::new().dimension("http.route"))
        },
        || {
            let _ = get_cart(false);
            let _ = get_cart(true);
            let _ = get_cart(true);
        },
    );
    let errors = metrics.with(
        "traces.span.metrics.calls",
        &[
            ("span.name", "get_cart"),
            ("span.kind", "SPAN_KIND_SERVER"),
            ("status.code", "STATUS_CODE_ERROR"),
            ("http.route", "/cart/{id}"),
            ("service.name", "cart-service"),
        ],
    );
    assert_eq!(errors.value, 2.0);
    let ok = metrics.with(
        "traces.span.metrics.calls",
        &[
            ("span.name", "get_cart"),
            ("status.code", "STATUS_CODE_UNSET"),
        ],
    );
    assert_eq!(ok.value, 1.0);
}

#[test]
fn cardinality_is_bounded_with_an_overflow_series() {
    let (_, _, metrics) = capture_with(
        |b| b.span_metrics(SpanMetrics::new().dimension("job.id").cardinality_limit(10)),
        || {
            for i in 0..50u32 {
                job_with_id(i);
            }
        },
    );
    let series = metrics.named("traces.span.metrics.calls");
    // The SDK keeps up to the limit of attribute sets, plus the overflow series.
    assert_eq!(series.len(), 11, "{series:#?}");
    let overflow = series
        .iter()
        .find(|p| p.attrs.get("otel.metric.overflow").map(String::as_str) == Some("true"))
        .expect("an overflow series");
    let total: f64 = series.iter().map(|p| p.value).sum();
    assert_eq!(total, 50.0, "nothing lost: {overflow:?}");
}

#[traced(attrs(job.id = id))]
fn job_with_id(id: u32) {}
