//! The synchronous instruments of `traced`: the OpenTelemetry instruments, plus
//! exemplars (see [`exemplars`](super::exemplars)).
//!
//! They have the same methods as `opentelemetry::metrics`'s; `#[derive(Metrics)]`
//! builds either kind, whichever the field's type names.

use super::exemplars::{self, Num, Reservoir};
use opentelemetry::metrics as otel;
use opentelemetry::KeyValue;
use std::fmt;
use std::sync::Arc;

/// A value type of an instrument: `u64`, `i64` or `f64`.
pub trait Measure: Copy + 'static {
    #[doc(hidden)]
    fn num(self) -> Num;
}

impl Measure for u64 {
    #[inline]
    fn num(self) -> Num {
        Num::Int(i64::try_from(self).unwrap_or(i64::MAX))
    }
}

impl Measure for i64 {
    #[inline]
    fn num(self) -> Num {
        Num::Int(self)
    }
}

impl Measure for f64 {
    #[inline]
    fn num(self) -> Num {
        Num::Float(self)
    }
}

macro_rules! instrument {
    ($(#[$doc:meta])* $name:ident, $method:ident, $method_in:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name<T> {
            inner: otel::$name<T>,
            exemplars: Arc<Reservoir>,
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl<T: Measure> $name<T> {
            /// Wraps an OpenTelemetry instrument named `name`, keeping exemplars
            /// (per bucket when `bounds` is given).
            pub fn new(inner: otel::$name<T>, name: &str, bounds: Option<Vec<f64>>) -> Self {
                $name {
                    inner,
                    exemplars: exemplars::reservoir(name, bounds),
                }
            }

            /// Records a measurement with its attributes (redacted first when
            /// `init` was given redaction rules).
            #[inline]
            pub fn $method(&self, value: T, attributes: &[KeyValue]) {
                #[cfg(feature = "enabled")]
                if let Some(redacted) = crate::redact::redact_metric_attributes(attributes) {
                    self.inner.$method(value, &redacted);
                    self.exemplars.offer(value.num(), &redacted);
                    return;
                }
                self.inner.$method(value, attributes);
                self.exemplars.offer(value.num(), attributes);
            }

            /// Records a measurement made in the given span.
            #[cfg(feature = "enabled")]
            #[allow(dead_code)]
            pub(crate) fn $method_in(
                &self,
                value: T,
                attributes: &[KeyValue],
                span: (opentelemetry::trace::TraceId, opentelemetry::trace::SpanId, bool),
            ) {
                if let Some(redacted) = crate::redact::redact_metric_attributes(attributes) {
                    self.inner.$method(value, &redacted);
                    self.exemplars.offer_in(value.num(), &redacted, span);
                    return;
                }
                self.inner.$method(value, attributes);
                self.exemplars.offer_in(value.num(), attributes, span);
            }

            /// The exemplar cell of the attribute set `attributes`, for a caller
            /// that binds the instrument to it too (see `Reservoir::bind`).
            #[cfg(feature = "enabled")]
            #[allow(dead_code)]
            pub(crate) fn bind_exemplars(
                &self,
                attributes: &[KeyValue],
            ) -> Option<exemplars::BoundExemplars> {
                self.exemplars.bind(attributes)
            }

            /// The OpenTelemetry instrument underneath.
            pub fn inner(&self) -> &otel::$name<T> {
                &self.inner
            }
        }
    };
}

instrument!(
    /// A monotonic sum: `add` only non-negative increments.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use traced::metrics::Counter;
    /// let meter = traced::metrics::meter("docs", "0.1.0");
    /// let orders = Counter::new(meter.u64_counter("orders").build(), "orders", None);
    /// orders.add(1, &[opentelemetry::KeyValue::new("region", "eu")]);
    /// ```
    Counter,
    add,
    add_in
);
instrument!(
    /// A sum that goes up and down.
    UpDownCounter,
    add,
    add_in
);
instrument!(
    /// The last value recorded.
    Gauge,
    record,
    record_in
);
instrument!(
    /// A distribution of values in buckets.
    Histogram,
    record,
    record_in
);

/// How `#[derive(Metrics)]` turns a built OpenTelemetry instrument into the field's
/// type: `traced::metrics` instruments wrap it (and keep exemplars), the
/// `opentelemetry` ones are used as they are.
#[doc(hidden)]
pub trait FromInstrument<I> {
    fn from_instrument(instrument: I, name: &str, bounds: Option<Vec<f64>>) -> Self;
}

macro_rules! from_instrument {
    ($($name:ident),*) => {$(
        impl<T: Measure> FromInstrument<otel::$name<T>> for $name<T> {
            fn from_instrument(i: otel::$name<T>, name: &str, bounds: Option<Vec<f64>>) -> Self {
                $name::new(i, name, bounds)
            }
        }
        impl<T> FromInstrument<otel::$name<T>> for otel::$name<T> {
            fn from_instrument(i: otel::$name<T>, _: &str, _: Option<Vec<f64>>) -> Self {
                i
            }
        }
    )*};
}
from_instrument!(Counter, UpDownCounter, Gauge, Histogram);

macro_rules! observable {
    ($($name:ident),*) => {$(
        impl<T> FromInstrument<otel::$name<T>> for otel::$name<T> {
            fn from_instrument(i: otel::$name<T>, _: &str, _: Option<Vec<f64>>) -> Self {
                i
            }
        }
    )*};
}
observable!(ObservableCounter, ObservableUpDownCounter, ObservableGauge);
