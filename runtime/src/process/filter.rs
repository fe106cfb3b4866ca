//! Filtering: spans nobody wants (health checks, noisy internals) never reach the
//! exporters, and optionally not the span metrics either.

use super::glob::KeyPattern;
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, Key};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::time::Duration;

#[derive(Clone, Debug)]
enum Rule {
    Name(KeyPattern),
    Attribute(Key, KeyPattern),
    Kind(SpanKind),
}

/// Which spans to drop before export. A span matching any rule is dropped.
/// Name and value patterns are case-insensitive, with `*` matching any run of
/// characters.
///
/// ```
/// use traced_runtime::process::SpanFilter;
/// let _telemetry = traced_runtime::Builder::new()
///     .filter(
///         SpanFilter::new()
///             .drop_name("GET /health*")
///             .drop_attribute("http.route", "/metrics")
///             .also_from_span_metrics(),
///     )
///     .init();
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct SpanFilter {
    rules: Vec<Rule>,
    metrics_too: bool,
}

impl SpanFilter {
    /// Drops nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops spans whose name matches `pattern`.
    pub fn drop_name(mut self, pattern: &str) -> Self {
        self.rules.push(Rule::Name(KeyPattern::new(pattern)));
        self
    }

    /// Drops spans with the attribute `key` whose value (as a string) matches `pattern`.
    pub fn drop_attribute(mut self, key: impl Into<Key>, pattern: &str) -> Self {
        self.rules
            .push(Rule::Attribute(key.into(), KeyPattern::new(pattern)));
        self
    }

    /// Drops spans of this kind.
    pub fn drop_kind(mut self, kind: SpanKind) -> Self {
        self.rules.push(Rule::Kind(kind));
        self
    }

    /// Leaves the dropped spans out of span metrics too (by default they are
    /// still counted: filtering is about export volume).
    pub fn also_from_span_metrics(mut self) -> Self {
        self.metrics_too = true;
        self
    }

    pub(crate) fn metrics_too(&self) -> bool {
        self.metrics_too
    }

    /// Whether `span` is to be dropped.
    pub fn drops(&self, span: &SpanData) -> bool {
        self.rules.iter().any(|rule| match rule {
            Rule::Name(p) => p.matches(&span.name),
            Rule::Kind(k) => &span.span_kind == k,
            Rule::Attribute(key, p) => span
                .attributes
                .iter()
                .any(|kv| &kv.key == key && p.matches(&kv.value.as_str())),
        })
    }
}

/// Passes on to `inner` only the spans `filter` keeps.
#[derive(Debug)]
pub(crate) struct Filtering<P> {
    pub(crate) filter: SpanFilter,
    pub(crate) inner: P,
}

impl<P: SpanProcessor> SpanProcessor for Filtering<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if !self.filter.drops(&span) {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
