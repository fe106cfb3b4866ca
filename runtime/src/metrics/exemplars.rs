//! Exemplars: measurements linked to the span they were recorded in.
//!
//! The OpenTelemetry SDK 0.33 does not collect exemplars, and its exported metric
//! data cannot be extended from outside. So `traced` keeps them itself, per
//! instrument, next to the SDK's aggregation: each instrument of
//! [`traced::metrics`](crate::metrics) offers its measurements to a reservoir,
//! and the exporters of this crate (Prometheus/OpenMetrics, and OTLP over HTTP and
//! gRPC) look exemplars up by instrument name and attribute set when they encode a
//! data point.
//!
//! - Which measurements are eligible is the exemplar filter
//!   (`OTEL_METRICS_EXEMPLAR_FILTER`): `trace_based` (default: those made inside a
//!   sampled span), `always_on`, `always_off`.
//! - A histogram keeps the last eligible measurement of each bucket, as the
//!   specification's aligned-histogram-bucket reservoir does; counters, up-down
//!   counters and gauges keep the last one of each series.
//! - Memory is bounded: at most [`MAX_SERIES`] attribute sets per instrument; a
//!   measurement of a new set beyond that is not kept.

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// Attribute sets kept per instrument, as the SDK's default cardinality limit.
pub const MAX_SERIES: usize = 2000;

/// Which measurements may become exemplars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExemplarFilter {
    /// Measurements made inside a sampled span (the default).
    #[default]
    TraceBased,
    /// Every measurement (those outside a span carry no trace id).
    AlwaysOn,
    /// None.
    AlwaysOff,
}

static FILTER: AtomicU8 = AtomicU8::new(0);

/// Sets the process-wide exemplar filter (done by `init` from `OTEL_METRICS_EXEMPLAR_FILTER`).
pub fn set_filter(filter: ExemplarFilter) {
    let v = match filter {
        ExemplarFilter::TraceBased => 0,
        ExemplarFilter::AlwaysOn => 1,
        ExemplarFilter::AlwaysOff => 2,
    };
    FILTER.store(v, Ordering::Relaxed);
}

fn filter() -> ExemplarFilter {
    match FILTER.load(Ordering::Relaxed) {
        1 => ExemplarFilter::AlwaysOn,
        2 => ExemplarFilter::AlwaysOff,
        _ => ExemplarFilter::TraceBased,
    }
}

/// Whether a measurement made in a span sampled or not (`sampled`) may become an exemplar.
#[inline]
#[cfg(feature = "enabled")]
pub(crate) fn eligible(sampled: bool) -> bool {
    match filter() {
        ExemplarFilter::AlwaysOff => false,
        ExemplarFilter::TraceBased => sampled,
        ExemplarFilter::AlwaysOn => true,
    }
}

/// A measured value, as recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// From a `u64` or `i64` instrument.
    Int(i64),
    /// From an `f64` instrument.
    Float(f64),
}

impl Num {
    /// The value as `f64`.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// One exemplar.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The measurement.
    pub value: Num,
    /// When it was made.
    pub time: SystemTime,
    /// The trace it was made in (invalid outside a span).
    pub trace_id: TraceId,
    /// The span it was made in (invalid outside a span).
    pub span_id: SpanId,
}

/// The exemplars of one instrument.
#[derive(Debug)]
pub struct Reservoir {
    /// Histogram bucket bounds; `None` for one slot per series.
    bounds: Option<Vec<f64>>,
    series: Mutex<HashMap<u64, Vec<Option<Exemplar>>>>,
}

impl Reservoir {
    /// Offers a measurement made in the current context.
    #[inline]
    pub fn offer(&self, value: Num, attributes: &[KeyValue]) {
        let f = filter();
        if f == ExemplarFilter::AlwaysOff {
            return;
        }
        let (trace_id, span_id, sampled) = Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            (sc.trace_id(), sc.span_id(), sc.is_sampled())
        });
        if f == ExemplarFilter::TraceBased && !sampled {
            return;
        }
        self.store(value, attributes, trace_id, span_id);
    }

    /// Offers a measurement made in the span `(trace_id, span_id, sampled)`.
    #[cfg(feature = "enabled")]
    pub(crate) fn offer_in(
        &self,
        value: Num,
        attributes: &[KeyValue],
        (trace_id, span_id, sampled): (TraceId, SpanId, bool),
    ) {
        match filter() {
            ExemplarFilter::AlwaysOff => {}
            ExemplarFilter::TraceBased if !sampled => {}
            _ => self.store(value, attributes, trace_id, span_id),
        }
    }

    fn store(&self, value: Num, attributes: &[KeyValue], trace_id: TraceId, span_id: SpanId) {
        let slots = self.bounds.as_ref().map_or(1, |b| b.len() + 1);
        let slot = match &self.bounds {
            Some(bounds) => {
                let v = value.as_f64();
                bounds.partition_point(|b| *b < v)
            }
            None => 0,
        };
        let key = attributes_key(attributes);
        let exemplar = Exemplar {
            value,
            time: SystemTime::now(),
            trace_id,
            span_id,
        };
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        if series.len() >= MAX_SERIES && !series.contains_key(&key) {
            return;
        }
        let entry = series.entry(key).or_insert_with(|| vec![None; slots]);
        if let Some(s) = entry.get_mut(slot) {
            *s = Some(exemplar);
        }
    }

    /// The exemplars of a series: one slot per bucket for histograms, else one.
    pub fn snapshot(&self, attributes: &[KeyValue]) -> Vec<Option<Exemplar>> {
        let key = attributes_key(attributes);
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    #[cfg(feature = "enabled")]
    fn clear(&self) {
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// An attribute set's identity, whatever the order of its attributes.
fn attributes_key(attributes: &[KeyValue]) -> u64 {
    attributes.iter().fold(0u64, |acc, kv| {
        let mut h = std::hash::DefaultHasher::new();
        kv.key.as_str().hash(&mut h);
        hash_value(&kv.value, &mut h);
        acc.wrapping_add(h.finish())
    })
}

fn hash_value(value: &Value, h: &mut impl Hasher) {
    match value {
        Value::Bool(b) => b.hash(h),
        Value::I64(i) => i.hash(h),
        Value::F64(f) => f.to_bits().hash(h),
        Value::String(s) => s.as_str().hash(h),
        other => other.to_string().hash(h),
    }
}

static REGISTRY: Mutex<Option<HashMap<String, Arc<Reservoir>>>> = Mutex::new(None);

/// The reservoir of the instrument `name` (created, or replaced when its bounds changed).
pub fn reservoir(name: &str, bounds: Option<Vec<f64>>) -> Arc<Reservoir> {
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let map = registry.get_or_insert_with(HashMap::new);
    if let Some(existing) = map.get(name) {
        if existing.bounds == bounds {
            return Arc::clone(existing);
        }
    }
    let r = Arc::new(Reservoir {
        bounds,
        series: Mutex::new(HashMap::new()),
    });
    map.insert(name.to_owned(), Arc::clone(&r));
    r
}

/// The reservoir of `name`, if an instrument of that name was created.
pub fn lookup(name: &str) -> Option<Arc<Reservoir>> {
    REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|m| m.get(name).cloned())
}

/// Forgets every exemplar (a new meter provider starts from nothing).
#[cfg(feature = "enabled")]
pub(crate) fn clear_all() {
    if let Some(map) = REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        for r in map.values() {
            r.clear();
        }
    }
}

#[cfg(all(test, feature = "enabled"))]
mod tests {
    use super::*;

    fn ids(n: u8) -> (TraceId, SpanId, bool) {
        (
            TraceId::from_bytes([n; 16]),
            SpanId::from_bytes([n; 8]),
            true,
        )
    }

    #[test]
    fn histogram_keeps_the_last_exemplar_per_bucket() {
        let r = reservoir("test.histogram", Some(vec![1.0, 10.0]));
        let a = [KeyValue::new("k", "v")];
        r.offer_in(Num::Float(0.5), &a, ids(1));
        r.offer_in(Num::Float(0.7), &a, ids(2));
        r.offer_in(Num::Float(10.0), &a, ids(3));
        r.offer_in(Num::Float(99.0), &a, ids(4));
        let slots = r.snapshot(&a);
        assert_eq!(slots.len(), 3);
        assert_eq!(slots[0].as_ref().unwrap().value, Num::Float(0.7));
        assert_eq!(
            slots[1].as_ref().unwrap().trace_id,
            ids(3).0,
            "10 is in (1, 10]"
        );
        assert_eq!(slots[2].as_ref().unwrap().span_id, ids(4).1);
    }

    #[test]
    fn attribute_order_does_not_matter() {
        let r = reservoir("test.order", None);
        r.offer_in(
            Num::Int(1),
            &[KeyValue::new("a", 1), KeyValue::new("b", "x")],
            ids(1),
        );
        assert!(r.snapshot(&[KeyValue::new("b", "x"), KeyValue::new("a", 1)])[0].is_some());
        assert!(r.snapshot(&[KeyValue::new("a", 1)]).is_empty());
    }

    #[test]
    fn unsampled_spans_give_no_exemplar_with_the_trace_based_filter() {
        let r = reservoir("test.unsampled", None);
        let (t, s, _) = ids(5);
        r.offer_in(Num::Int(1), &[], (t, s, false));
        assert!(r.snapshot(&[]).is_empty());
    }

    #[test]
    fn series_are_bounded() {
        let r = reservoir("test.bounded", None);
        for i in 0..(MAX_SERIES as i64 + 50) {
            r.offer_in(Num::Int(i), &[KeyValue::new("i", i)], ids(1));
        }
        assert_eq!(r.series.lock().unwrap().len(), MAX_SERIES);
    }
}
