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
//! - The call metrics of `#[traced(metrics)]` bind the exemplar cell of each of
//!   their label sets once per thread and meter provider, as they bind the
//!   instruments: a sampled call then stores its exemplars without hashing its
//!   labels or looking them up.

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

/// The exemplars of one series: one slot per bucket for histograms, else one.
type Slots = Mutex<Vec<Option<Exemplar>>>;

/// The exemplars of one instrument.
#[derive(Debug)]
pub struct Reservoir {
    /// Histogram bucket bounds; `None` for one slot per series.
    bounds: Option<Vec<f64>>,
    series: Mutex<HashMap<u64, Arc<Slots>>>,
}

/// The exemplar cell of one attribute set of one instrument, bound once (see
/// [`Reservoir::bind`]): storing into it neither hashes the attributes nor looks
/// them up.
#[cfg(feature = "enabled")]
pub(crate) struct BoundExemplars {
    reservoir: Arc<Reservoir>,
    slots: Arc<Slots>,
}

#[cfg(feature = "enabled")]
impl BoundExemplars {
    /// Keeps `value`, measured at `time` in the span `(trace_id, span_id)`, in its
    /// bucket (the caller checked the filter).
    #[inline]
    pub(crate) fn store(&self, value: Num, time: SystemTime, trace_id: TraceId, span_id: SpanId) {
        let slot = self.reservoir.slot(value);
        let exemplar = Exemplar {
            value,
            time,
            trace_id,
            span_id,
        };
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = slots.get_mut(slot) {
            *s = Some(exemplar);
        }
    }
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

    /// The slot of `value`: its bucket in a histogram, else the only one.
    #[inline]
    fn slot(&self, value: Num) -> usize {
        match &self.bounds {
            Some(bounds) => {
                let v = value.as_f64();
                bounds.partition_point(|b| *b < v)
            }
            None => 0,
        }
    }

    /// The slots of the series `key`, created if there is room ([`MAX_SERIES`]).
    fn slots(&self, key: u64) -> Option<Arc<Slots>> {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slots) = series.get(&key) {
            return Some(Arc::clone(slots));
        }
        if series.len() >= MAX_SERIES {
            return None;
        }
        let n = self.bounds.as_ref().map_or(1, |b| b.len() + 1);
        let slots = Arc::new(Mutex::new(vec![None; n]));
        series.insert(key, Arc::clone(&slots));
        Some(slots)
    }

    /// The exemplar cell of the attribute set `attributes`, for measurements that
    /// will be made with it again; `None` when the reservoir holds [`MAX_SERIES`]
    /// other sets already. The cell stays this set's until the meter provider
    /// changes (then the reservoir forgets it: bind again).
    #[cfg(feature = "enabled")]
    pub(crate) fn bind(self: &Arc<Self>, attributes: &[KeyValue]) -> Option<BoundExemplars> {
        let slots = self.slots(attributes_key(attributes))?;
        Some(BoundExemplars {
            reservoir: Arc::clone(self),
            slots,
        })
    }

    fn store(&self, value: Num, attributes: &[KeyValue], trace_id: TraceId, span_id: SpanId) {
        let slot = self.slot(value);
        let exemplar = Exemplar {
            value,
            time: SystemTime::now(),
            trace_id,
            span_id,
        };
        let Some(slots) = self.slots(attributes_key(attributes)) else {
            return;
        };
        let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = slots.get_mut(slot) {
            *s = Some(exemplar);
        }
    }

    /// The exemplars of a series: one slot per bucket for histograms, else one.
    pub fn snapshot(&self, attributes: &[KeyValue]) -> Vec<Option<Exemplar>> {
        let key = attributes_key(attributes);
        let slots = self
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        slots.map_or_else(Vec::new, |slots| {
            slots.lock().unwrap_or_else(PoisonError::into_inner).clone()
        })
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

    #[test]
    fn a_bound_cell_keeps_each_exemplar_in_its_own_bucket_of_its_own_series() {
        let r = reservoir("test.bound", Some(vec![1.0, 10.0]));
        let a = [KeyValue::new("k", "a")];
        let b = [KeyValue::new("k", "b")];
        let cell = r.bind(&a).expect("room for the series");
        let (t, s, _) = ids(7);
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(42);
        cell.store(Num::Float(5.0), time, t, s);
        let slots = r.snapshot(&a);
        assert_eq!(slots.len(), 3);
        assert!(slots[0].is_none() && slots[2].is_none(), "{slots:?}");
        let kept = slots[1].as_ref().expect("5 is in (1, 10]");
        assert_eq!((kept.trace_id, kept.span_id), (t, s));
        assert_eq!((kept.value, kept.time), (Num::Float(5.0), time));
        assert!(r.snapshot(&b).is_empty(), "another series has none");
        // The unbound path and the bound cell share the series.
        r.offer_in(Num::Float(0.5), &a, ids(8));
        let slots = r.snapshot(&a);
        assert_eq!(slots[0].as_ref().unwrap().trace_id, ids(8).0);
        assert_eq!(slots[1].as_ref().unwrap().trace_id, t);
    }

    #[test]
    fn binding_respects_the_series_bound_and_a_cleared_reservoir_forgets_the_cell() {
        let r = reservoir("test.bind_bounded", None);
        for i in 0..MAX_SERIES as i64 {
            assert!(r.bind(&[KeyValue::new("i", i)]).is_some());
        }
        assert!(r.bind(&[KeyValue::new("i", -1)]).is_none(), "full");
        let again = r.bind(&[KeyValue::new("i", 0)]);
        assert!(again.is_some(), "a set kept already binds again");
        r.clear();
        again
            .unwrap()
            .store(Num::Int(1), SystemTime::now(), ids(1).0, ids(1).1);
        assert!(
            r.snapshot(&[KeyValue::new("i", 0)]).is_empty(),
            "a cell bound before the meter provider changed is not exported"
        );
    }
}
