//! Filtering: spans nobody wants (health checks, noisy internals) never reach the
//! exporters, and optionally not the span metrics either.
//!
//! A span dropped when it starts takes the spans started below it in this
//! process with it (its local subtree): [`FilterMarker`], the first span
//! processor, marks it by its trace and span id when a rule matches or its
//! parent is marked; every filtering step asks the marks; [`FilterRelease`],
//! the last one, forgets a mark when its span ends (keeping the last few
//! thousand, for children that start after their parent ended). Children
//! find their parent through the `Context` they start in, so this holds
//! across threads and `.await` wherever the context goes.

use crate::redact::glob::KeyPattern;
use opentelemetry::trace::SpanKind;
use opentelemetry::Key;
#[cfg(feature = "enabled")]
use {
    opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceId},
    opentelemetry::Context,
    opentelemetry_sdk::error::OTelSdkResult,
    opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor},
    std::collections::{HashSet, VecDeque},
    std::sync::atomic::{AtomicUsize, Ordering},
    std::sync::{Arc, Mutex, PoisonError},
    std::time::Duration,
};

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
/// A span dropped when it starts drops its local subtree too: every span
/// started below it in this process, on any thread or task its context goes
/// to, so that no child is exported with a parent nobody will see. That is
/// the case for rules on the name, the kind and the attributes a span starts
/// with (for `#[traced]`, those of `attrs(..)` and `args(..)`; for the HTTP
/// integrations, the request's). A span that matches only by an attribute
/// set later in its life (`traced::attr!`) is dropped alone. Span metrics
/// follow the same choice: with [`also_from_span_metrics`](Self::also_from_span_metrics)
/// the subtree is left out of them as well, otherwise it is counted. Spans of
/// other services below a dropped span (called with its context) are theirs
/// to keep or drop.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::process::SpanFilter;
/// let _telemetry = traced::Builder::new()
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
    /// The spans dropped at start, shared by the clones an `init` makes.
    #[cfg(feature = "enabled")]
    marks: Arc<Marks>,
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

    /// Whether `span` is dropped: it was marked when it started (it matched
    /// then, or is below a span that did), or it matches now.
    #[cfg(feature = "enabled")]
    pub(crate) fn dropped(&self, span: &SpanData) -> bool {
        self.marks.contains(&span.span_context) || self.drops(span)
    }

    /// Marks `span`, which starts below `parent`, if it is dropped: its
    /// parent is, or a rule matches what it starts with.
    #[cfg(feature = "enabled")]
    fn mark_at_start(&self, span: &Span, parent: &SpanContext) {
        use opentelemetry::trace::Span as _;
        let sc = span.span_context();
        let below_dropped =
            parent.is_valid() && parent.trace_id() == sc.trace_id() && self.marks.contains(parent);
        // Reading the span's name, kind and attributes takes a copy of them.
        if below_dropped
            || (!self.rules.is_empty()
                && span.exported_data().is_some_and(|data| self.drops(&data)))
        {
            self.marks.insert(sc);
        }
    }

    /// Marks `span` if an attribute rule matches it now that its first
    /// attributes are set (`#[traced]` sets them just after the start).
    #[cfg(feature = "enabled")]
    fn mark_after_attributes(&self, span: &Span) {
        use opentelemetry::trace::Span as _;
        let has_attribute_rules = self
            .rules
            .iter()
            .any(|rule| matches!(rule, Rule::Attribute(..)));
        if !has_attribute_rules || self.marks.contains(span.span_context()) {
            return;
        }
        if span.exported_data().is_some_and(|data| self.drops(&data)) {
            self.marks.insert(span.span_context());
        }
    }

    /// Whether `span` matches a rule (with the `enabled` feature). The rules
    /// alone: a span below a dropped one is dropped too, whatever this says.
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

/// Most spans marked at once; spans dropped beyond are dropped alone.
#[cfg(feature = "enabled")]
const MAX_MARKED: usize = 65_536;
/// How many ended dropped spans are remembered, for children that start
/// after their parent ended (a task spawned and left running).
#[cfg(feature = "enabled")]
const MAX_ENDED_MARKS: usize = 4096;

/// The spans dropped when they started: those running, and the last ended.
#[cfg(feature = "enabled")]
#[derive(Default)]
struct Marks {
    /// How many spans are marked, running or ended: none is the fast path.
    count: AtomicUsize,
    inner: Mutex<MarksInner>,
}

#[cfg(feature = "enabled")]
#[derive(Default)]
struct MarksInner {
    running: HashSet<(TraceId, SpanId)>,
    ended: HashSet<(TraceId, SpanId)>,
    ended_order: VecDeque<(TraceId, SpanId)>,
}

#[cfg(feature = "enabled")]
impl std::fmt::Debug for Marks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Marks")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(feature = "enabled")]
impl Marks {
    fn lock(&self) -> std::sync::MutexGuard<'_, MarksInner> {
        // The sets are consistent after every update.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn key(sc: &SpanContext) -> (TraceId, SpanId) {
        (sc.trace_id(), sc.span_id())
    }

    fn contains(&self, sc: &SpanContext) -> bool {
        if self.count.load(Ordering::Acquire) == 0 {
            return false;
        }
        let key = Self::key(sc);
        let inner = self.lock();
        inner.running.contains(&key) || inner.ended.contains(&key)
    }

    fn insert(&self, sc: &SpanContext) {
        let mut inner = self.lock();
        if inner.running.len() < MAX_MARKED && inner.running.insert(Self::key(sc)) {
            self.count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The span ended: remembered among the last ended ones.
    fn release(&self, sc: &SpanContext) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let key = Self::key(sc);
        let mut inner = self.lock();
        if !inner.running.remove(&key) {
            return;
        }
        if inner.ended.insert(key) {
            inner.ended_order.push_back(key);
        } else {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
        if inner.ended_order.len() > MAX_ENDED_MARKS {
            if let Some(oldest) = inner.ended_order.pop_front() {
                inner.ended.remove(&oldest);
                self.count.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

/// The first span processor when a filter is set: marks the spans it drops
/// when they start (see the module docs).
#[cfg(feature = "enabled")]
#[derive(Debug)]
pub(crate) struct FilterMarker(pub(crate) SpanFilter);

#[cfg(feature = "enabled")]
impl SpanProcessor for FilterMarker {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0
            .mark_at_start(span, &cx.span().span_context().clone());
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The last span processor when a filter is set: forgets the mark of a span
/// that ended, after every other processor asked for it.
#[cfg(feature = "enabled")]
#[derive(Debug)]
pub(crate) struct FilterRelease(pub(crate) SpanFilter);

#[cfg(feature = "enabled")]
impl SpanProcessor for FilterRelease {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.0.marks.release(&span.span_context);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The filter of the installed pipeline, for [`after_attributes`].
#[cfg(feature = "enabled")]
static CURRENT: arc_swap::ArcSwapOption<SpanFilter> = arc_swap::ArcSwapOption::const_empty();

/// Makes `filter` the one [`after_attributes`] applies (`None`: none).
#[cfg(feature = "enabled")]
pub(crate) fn set_current(filter: Option<SpanFilter>) {
    CURRENT.store(filter.map(Arc::new));
}

/// Called by `#[traced]` once the attributes it starts a span with are set:
/// marks the span if an attribute rule of the installed filter matches, so
/// that its subtree is dropped with it.
#[cfg(feature = "enabled")]
#[inline]
pub(crate) fn after_attributes(span: &Span) {
    if let Some(filter) = &*CURRENT.load() {
        filter.mark_after_attributes(span);
    }
}

#[cfg(all(test, feature = "enabled"))]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceFlags, TraceState};

    fn sc(span: u64) -> SpanContext {
        SpanContext::new(
            TraceId::from(1),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    }

    #[test]
    fn marks_outlive_their_span_for_a_while() {
        let marks = Marks::default();
        assert!(!marks.contains(&sc(1)));
        marks.insert(&sc(1));
        marks.insert(&sc(2));
        assert!(marks.contains(&sc(1)));
        marks.release(&sc(1));
        assert!(marks.contains(&sc(1)), "a late child still finds it");
        // Releasing what is not marked changes nothing.
        marks.release(&sc(99));
        assert!(!marks.contains(&sc(99)));

        for span in 100..100 + MAX_ENDED_MARKS as u64 {
            marks.insert(&sc(span));
            marks.release(&sc(span));
        }
        assert!(
            !marks.contains(&sc(1)),
            "the oldest ended mark is forgotten"
        );
        assert!(marks.contains(&sc(2)), "a running span keeps its mark");
        assert_eq!(marks.count.load(Ordering::Relaxed), MAX_ENDED_MARKS + 1);
        marks.release(&sc(2));
        assert_eq!(marks.count.load(Ordering::Relaxed), MAX_ENDED_MARKS);
    }
}
