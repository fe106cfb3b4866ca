//! Sampling: trace ratio from code or `OTEL_TRACES_SAMPLER`, parent decisions kept
//! across processes, and metrics that stay exact whatever the traces keep.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::trace::{SpanId, TraceFlags};
use std::collections::HashMap;
use traced::opentelemetry_sdk::trace::Sampler;
use traced::traced;

#[traced(root)]
fn request(i: u32) -> u32 {
    i
}

#[traced(kind = server, metrics, parent = traced::propagation::extract(headers))]
fn handle(headers: &HashMap<String, String>) -> bool {
    let mut out = HashMap::new();
    traced::propagation::inject(&mut out);
    out.get("traceparent").is_some_and(|t| t.ends_with("-01"))
}

/// The sampled share of `n` root traces at `ratio`, with a bound of 5 standard deviations.
fn sampled_share(ratio: f64, n: u32) -> (f64, f64) {
    let (_, spans, _) = capture_with(
        |b| b.sampler(Sampler::TraceIdRatioBased(ratio)),
        || {
            (0..n).for_each(|i| {
                request(i);
            })
        },
    );
    let share = spans.all("request").len() as f64 / f64::from(n);
    let bound = 5.0 * (ratio * (1.0 - ratio) / f64::from(n)).sqrt();
    (share, bound)
}

#[test]
fn trace_id_ratio_keeps_that_share_of_traces() {
    for ratio in [0.1, 0.5] {
        let (share, bound) = sampled_share(ratio, 4000);
        assert!(
            (share - ratio).abs() <= bound,
            "ratio {ratio}: kept {share}, allowed ±{bound}"
        );
    }
}

fn remote(flags: &str) -> HashMap<String, String> {
    HashMap::from([(
        "traceparent".to_owned(),
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
    )])
}

#[test]
fn parent_based_sampling_follows_the_caller_across_processes() {
    // The caller sampled: kept even though this service alone would drop it.
    let (downstream_sampled, spans, _) = capture_with(
        |b| b.sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff))),
        || handle(&remote("01")),
    );
    assert!(downstream_sampled, "the decision travels on");
    let s = spans.one("handle");
    assert_eq!(
        s.parent_span_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap()
    );
    assert_eq!(s.span_context.trace_flags(), TraceFlags::SAMPLED);

    // The caller did not sample: dropped even though this service alone would keep it,
    // and the outgoing header says so too.
    let (downstream_sampled, spans, metrics) = capture_with(
        |b| b.sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))),
        || handle(&remote("00")),
    );
    assert!(!downstream_sampled);
    assert_eq!(spans.len(), 0);
    // Metrics count the call all the same.
    assert_eq!(
        metrics
            .with("function.calls", &[("function", "handle")])
            .value,
        1.0
    );
}

#[test]
fn sampler_from_the_environment() {
    let exporter = traced::opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let kept = without_telemetry(|| {
        std::env::set_var("OTEL_TRACES_SAMPLER", "traceidratio");
        std::env::set_var("OTEL_TRACES_SAMPLER_ARG", "0.25");
        let guard = traced::Builder::new()
            .simple_exporter(exporter.clone())
            .metrics_exporters([])
            .init();
        std::env::remove_var("OTEL_TRACES_SAMPLER");
        std::env::remove_var("OTEL_TRACES_SAMPLER_ARG");
        (0..4000).for_each(|i| {
            request(i);
        });
        guard.flush().unwrap();
        exporter.get_finished_spans().unwrap().len()
    });
    let share = kept as f64 / 4000.0;
    let bound = 5.0 * (0.25f64 * 0.75 / 4000.0).sqrt();
    assert!((share - 0.25).abs() <= bound, "kept {share}");
}

/// A sampler of the application's own: keeps spans named `keep` only (and
/// says so in an attribute and the trace state, which the SDK's `ParentBased`
/// around it does not pass on).
#[derive(Clone, Debug)]
struct ByName;

impl traced::opentelemetry_sdk::trace::ShouldSample for ByName {
    fn should_sample(
        &self,
        _parent_context: Option<&opentelemetry::Context>,
        _trace_id: opentelemetry::trace::TraceId,
        name: &str,
        _span_kind: &opentelemetry::trace::SpanKind,
        _attributes: &[opentelemetry::KeyValue],
        _links: &[opentelemetry::trace::Link],
    ) -> traced::opentelemetry_sdk::trace::SamplingResult {
        use traced::opentelemetry_sdk::trace::{SamplingDecision, SamplingResult};
        SamplingResult {
            decision: if name == "keep" {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: vec![opentelemetry::KeyValue::new("sampler.rule", "by-name")],
            trace_state: opentelemetry::trace::TraceState::from_key_value([("sampler", "kept")])
                .unwrap(),
        }
    }
}

#[traced(root, attrs(order = 7))]
fn keep() -> Option<String> {
    let mut out = HashMap::new();
    traced::propagation::inject(&mut out);
    out.remove("tracestate")
}

#[traced(root)]
fn drop_me() -> bool {
    use opentelemetry::trace::TraceContextExt as _;
    opentelemetry::Context::current()
        .span()
        .span_context()
        .is_sampled()
}

#[test]
fn a_sampler_written_in_code_decides_the_same_on_both_span_paths() {
    let mut seen = Vec::new();
    for path in ["traced", "sdk"] {
        let ((state, dropped_sampled), spans, _) = capture_with(
            |b| {
                b.sampler(Sampler::ParentBased(Box::new(ByName)))
                    .setting("TRACED_SPAN_PATH", path)
            },
            || {
                let state = keep();
                let dropped = drop_me();
                (state, dropped)
            },
        );
        assert!(!dropped_sampled, "{path}");
        assert_eq!(
            spans.names(),
            ["keep"],
            "{path}: the sampler dropped drop_me"
        );
        let span = spans.one("keep");
        let keys: Vec<String> = span
            .attributes
            .iter()
            .map(|kv| kv.key.to_string())
            .collect();
        assert!(keys.contains(&"order".to_owned()), "{path}: {keys:?}");
        seen.push((keys, state, span.span_context.trace_state().header()));
    }
    // What the SDK's `ParentBased` makes of the root sampler's result (its
    // decision, no attributes, the parent's trace state) on both paths alike.
    assert_eq!(seen[0], seen[1]);
    assert!(
        !seen[0].0.contains(&"sampler.rule".to_owned()),
        "{:?}",
        seen[0]
    );
    assert_eq!(seen[0].1, None);
}
