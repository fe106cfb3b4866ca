//! W3C trace context and baggage across process boundaries.
//!
//! `init` installs the W3C `traceparent`/`tracestate` and `baggage` propagators
//! globally. [`inject`] writes the current context into outgoing headers and
//! [`extract`] reads an incoming one; a malformed header is ignored, so the span
//! started under it begins a new trace.
//!
//! ```
//! use std::collections::HashMap;
//!
//! let mut headers = HashMap::new();
//! traced_runtime::propagation::inject(&mut headers);
//! let parent = traced_runtime::propagation::extract(&headers);
//! # let _ = parent;
//! ```

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::Context;
#[cfg(feature = "enabled")]
pub(crate) fn default_propagator() -> opentelemetry::propagation::TextMapCompositePropagator {
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// Writes the current context into `carrier` with the global propagator.
pub fn inject(carrier: &mut dyn Injector) {
    inject_context(&Context::current(), carrier);
}

/// Writes `cx` into `carrier` with the global propagator.
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, carrier));
}

/// Reads a context from `carrier` with the global propagator, on top of the
/// current context. Use it as `#[traced(parent = traced::propagation::extract(&headers))]`.
pub fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier))
}
