//! Filtering: spans nobody wants (health checks, noisy internals) never reach the
//! exporters, and optionally not the span metrics either.

use super::glob::KeyPattern;
use opentelemetry::trace::SpanKind;
use opentelemetry::Key;

#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
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
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
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

    #[cfg(feature = "enabled")]
    pub(crate) fn metrics_too(&self) -> bool {
        self.metrics_too
    }

    /// Whether `span` is to be dropped (with the `enabled` feature).
    #[cfg(feature = "enabled")]
    pub fn drops(&self, span: &opentelemetry_sdk::trace::SpanData) -> bool {
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
