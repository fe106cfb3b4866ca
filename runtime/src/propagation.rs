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
/// The propagators `init` installs by default: W3C trace context (strict, see
/// [`StrictTraceContext`]) and W3C baggage.
#[cfg(feature = "enabled")]
pub fn default_propagator() -> opentelemetry::propagation::TextMapCompositePropagator {
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry_sdk::propagation::BaggagePropagator;
    TextMapCompositePropagator::new(vec![
        Box::new(StrictTraceContext::default()),
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

/// Reads a context from `carrier` alone with the global propagator: nothing of
/// the current context comes along, so a carrier without a valid `traceparent`
/// gives a context without a span (a parent of nothing: the span starts a new
/// trace; a link to nothing: no link).
///
/// Use it as `#[traced(parent = traced::propagation::extract(&headers))]`, or in
/// `traced::link!(traced::propagation::extract(&message.headers))`.
pub fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&Context::new(), carrier)
    })
}

/// The W3C trace-context propagator of the SDK, behind an exact check of the
/// incoming `traceparent`: the SDK's parser accepts ids of the wrong length, which
/// the W3C specification says to reject. A header that is not exactly
/// `version-traceid-spanid-flags` (lowercase hex, 2-32-16-2 digits, version not
/// `ff`, ids not all zero) is ignored, so the span starts a new trace.
#[cfg(feature = "enabled")]
#[derive(Debug, Default)]
pub struct StrictTraceContext {
    inner: opentelemetry_sdk::propagation::TraceContextPropagator,
}

#[cfg(feature = "enabled")]
impl opentelemetry::propagation::TextMapPropagator for StrictTraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.inner.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor.get("traceparent") {
            Some(header) if valid_traceparent(header) => {
                self.inner.extract_with_context(cx, extractor)
            }
            _ => cx.clone(),
        }
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        self.inner.fields()
    }
}

/// Whether `header` is a `traceparent` the W3C specification accepts.
pub fn valid_traceparent(header: &str) -> bool {
    fn hex(s: &str, len: usize) -> bool {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
    fn zero(s: &str) -> bool {
        s.bytes().all(|b| b == b'0')
    }
    let header = header.trim();
    let mut parts = header.split('-');
    let (Some(version), Some(trace_id), Some(span_id), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let rest_ok = match version {
        // Version 00 has exactly four fields; later versions may add more.
        "00" => parts.next().is_none(),
        _ => true,
    };
    hex(version, 2)
        && version != "ff"
        && hex(trace_id, 32)
        && !zero(trace_id)
        && hex(span_id, 16)
        && !zero(span_id)
        && hex(flags, 2)
        && rest_ok
}

/// The propagators `OTEL_PROPAGATORS` names, in its order.
#[cfg(feature = "enabled")]
pub(crate) fn from_choices(
    choices: &[crate::config::PropagatorChoice],
) -> opentelemetry::propagation::TextMapCompositePropagator {
    use crate::config::PropagatorChoice;
    use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
    let mut list: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for choice in choices {
        match choice {
            PropagatorChoice::TraceContext => list.push(Box::new(StrictTraceContext::default())),
            PropagatorChoice::Baggage => list.push(Box::new(
                opentelemetry_sdk::propagation::BaggagePropagator::new(),
            )),
        }
    }
    TextMapCompositePropagator::new(list)
}

#[cfg(test)]
mod tests {
    use super::valid_traceparent;

    #[test]
    fn traceparent_checks() {
        assert!(valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        ));
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "",
        ] {
            assert!(!valid_traceparent(bad), "{bad}");
        }
    }
}
