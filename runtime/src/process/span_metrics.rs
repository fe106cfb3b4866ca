//! Span metrics: RED metrics (rate, errors, duration) derived from spans, named as
//! the OpenTelemetry Collector's `spanmetrics` connector names them, so its
//! dashboards work unchanged.
//!
//! | metric | type | attributes |
//! |---|---|---|
//! | `traces.span.metrics.calls` | counter | `service.name`, `span.name`, `span.kind` (`SPAN_KIND_SERVER`, ...), `status.code` (`STATUS_CODE_UNSET`, `STATUS_CODE_OK`, `STATUS_CODE_ERROR`), plus the configured span attributes |
//! | `traces.span.metrics.duration` | histogram, milliseconds | the same |
//!
//! Unlike the Collector, which sees only the spans that were sampled, this runs
//! in the process and counts every span: with span metrics on, the sampler's
//! "drop" becomes "record only", so every span ends through the processors while
//! only the sampled ones are exported. Metrics stay exact at any sampling ratio;
//! the price is that unsampled spans are recorded (attributes evaluated) too.
//!
//! Cardinality is bounded by the SDK: past the limit (2000 attribute sets by
//! default, [`SpanMetrics::cardinality_limit`]) measurements of new attribute
//! sets go to one more series, the overflow, with the attribute
//! `otel.metric.overflow=true`: nothing is lost, memory stays bounded. Each measurement of a
//! sampled span carries an exemplar pointing at it.

use opentelemetry::Key;
#[cfg(feature = "enabled")]
use {
    crate::metrics::{Counter, Histogram},
    opentelemetry::trace::{SpanKind, Status},
    opentelemetry::{Context, KeyValue, Value},
    opentelemetry_sdk::error::OTelSdkResult,
    opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor},
    opentelemetry_sdk::Resource,
    std::time::Duration,
};

/// The name of the calls counter.
pub const CALLS: &str = "traces.span.metrics.calls";
/// The name of the duration histogram.
pub const DURATION: &str = "traces.span.metrics.duration";
/// The connector's default duration buckets, in milliseconds.
pub const DEFAULT_BUCKETS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10000.0, 15000.0,
];

/// Configures span metrics; pass it to `Builder::span_metrics`.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::process::SpanMetrics;
/// let _telemetry = traced::Builder::new()
///     .span_metrics(SpanMetrics::new().dimension("http.route").cardinality_limit(500))
///     .init();
/// ```
#[derive(Debug, Clone)]
#[must_use]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub struct SpanMetrics {
    pub(crate) dimensions: Vec<Key>,
    pub(crate) buckets_ms: Vec<f64>,
    pub(crate) cardinality_limit: Option<usize>,
}

impl Default for SpanMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl SpanMetrics {
    /// The connector's defaults: its four dimensions, its buckets.
    pub fn new() -> Self {
        SpanMetrics {
            dimensions: Vec::new(),
            buckets_ms: DEFAULT_BUCKETS_MS.to_vec(),
            cardinality_limit: None,
        }
    }

    /// Adds a span attribute as a dimension (left out on spans without it).
    pub fn dimension(mut self, key: impl Into<Key>) -> Self {
        self.dimensions.push(key.into());
        self
    }

    /// Histogram bucket bounds, in milliseconds.
    pub fn buckets_ms(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.buckets_ms = bounds.into_iter().collect();
        self
    }

    /// At most this many attribute sets per metric; the rest go to the overflow series.
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = Some(limit);
        self
    }

    /// The processor, with instruments from `meter`.
    #[cfg(feature = "enabled")]
    pub(crate) fn processor(
        &self,
        meter: &opentelemetry::metrics::Meter,
        filter: Option<super::SpanFilter>,
    ) -> SpanMetricsProcessor {
        SpanMetricsProcessor {
            filter,
            dimensions: self.dimensions.clone(),
            service_name: Value::from("unknown_service"),
            calls: Counter::new(
                meter
                    .u64_counter(CALLS)
                    .with_description("Spans ended, by service, name, kind and status")
                    .build(),
                CALLS,
                None,
            ),
            duration: Histogram::new(
                meter
                    .f64_histogram(DURATION)
                    .with_unit("ms")
                    .with_description("Span durations, by service, name, kind and status")
                    .with_boundaries(self.buckets_ms.clone())
                    .build(),
                DURATION,
                Some(self.buckets_ms.clone()),
            ),
        }
    }
}

#[cfg(feature = "enabled")]
/// Records the span metrics of every span that ends.
#[derive(Debug)]
pub(crate) struct SpanMetricsProcessor {
    /// Spans left out of the metrics too (`SpanFilter::also_from_span_metrics`).
    filter: Option<super::SpanFilter>,
    dimensions: Vec<Key>,
    service_name: Value,
    calls: Counter<u64>,
    duration: Histogram<f64>,
}

#[cfg(feature = "enabled")]
fn kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "SPAN_KIND_CLIENT",
        SpanKind::Server => "SPAN_KIND_SERVER",
        SpanKind::Producer => "SPAN_KIND_PRODUCER",
        SpanKind::Consumer => "SPAN_KIND_CONSUMER",
        SpanKind::Internal => "SPAN_KIND_INTERNAL",
    }
}

#[cfg(feature = "enabled")]
fn status(status: &Status) -> &'static str {
    match status {
        Status::Unset => "STATUS_CODE_UNSET",
        Status::Ok => "STATUS_CODE_OK",
        Status::Error { .. } => "STATUS_CODE_ERROR",
    }
}

#[cfg(feature = "enabled")]
impl SpanProcessor for SpanMetricsProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if self.filter.as_ref().is_some_and(|f| f.dropped(&span)) {
            return;
        }
        let mut attributes = Vec::with_capacity(4 + self.dimensions.len());
        attributes.push(KeyValue::new("service.name", self.service_name.clone()));
        attributes.push(KeyValue::new("span.name", span.name.clone()));
        attributes.push(KeyValue::new("span.kind", kind(&span.span_kind)));
        attributes.push(KeyValue::new("status.code", status(&span.status)));
        for key in &self.dimensions {
            if let Some(kv) = span.attributes.iter().find(|kv| &kv.key == key) {
                attributes.push(kv.clone());
            }
        }
        let millis = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        let sc = &span.span_context;
        let ids = (sc.trace_id(), sc.span_id(), sc.is_sampled());
        self.calls.add_in(1, &attributes, ids);
        self.duration.record_in(millis, &attributes, ids);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&Key::from_static_str("service.name")) {
            self.service_name = name;
        }
    }
}

#[cfg(feature = "enabled")]
/// Makes a sampler's "drop" a "record only", so that every span reaches the
/// span processors (span metrics) while the exporters see only sampled ones.
#[derive(Debug, Clone)]
pub(crate) struct RecordAll(pub(crate) opentelemetry_sdk::trace::Sampler);

#[cfg(feature = "enabled")]
impl opentelemetry_sdk::trace::ShouldSample for RecordAll {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> opentelemetry_sdk::trace::SamplingResult {
        use opentelemetry_sdk::trace::SamplingDecision;
        let mut result =
            self.0
                .should_sample(parent_context, trace_id, name, span_kind, attributes, links);
        if result.decision == SamplingDecision::Drop {
            result.decision = SamplingDecision::RecordOnly;
        }
        result
    }
}
