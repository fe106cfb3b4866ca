//! W3C baggage: key-value pairs that travel with the context, across threads,
//! `.await`s and processes (in the `baggage` header, with the default propagators).
//!
//! ```
//! # use traced_runtime as traced;
//! let _scope = traced::baggage::set([("tenant.id", "acme"), ("plan", "gold")]);
//! assert_eq!(traced::baggage::get("tenant.id").as_deref(), Some("acme"));
//! // Outgoing requests carry them: traced::propagation::inject(&mut headers).
//! ```
//!
//! Baggage is not added to spans by itself: it is sent to other services, so it
//! must not hold secrets.

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::{Context, ContextGuard, Key, StringValue};

/// Adds entries to the baggage of the current context until the guard drops.
/// An entry whose key is already there replaces it.
#[must_use = "the baggage is current only while the guard lives"]
pub fn set<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> ContextGuard
where
    K: Into<Key>,
    V: Into<StringValue>,
{
    Context::map_current(|cx| {
        let mut baggage = Baggage::new();
        for (k, (v, metadata)) in cx.baggage() {
            let _ = baggage.insert_with_metadata(k.clone(), v.clone(), metadata.clone());
        }
        for (k, v) in entries {
            let _ = baggage.insert(k, v);
        }
        cx.with_baggage(baggage)
    })
    .attach()
}

/// The value of a baggage entry in the current context.
pub fn get(key: &str) -> Option<String> {
    Context::map_current(|cx| cx.baggage().get(key).map(|v| v.as_str().to_owned()))
}

/// Every baggage entry of the current context.
pub fn all() -> Vec<(String, String)> {
    Context::map_current(|cx| {
        cx.baggage()
            .iter()
            .map(|(k, (v, _))| (k.to_string(), v.as_str().to_owned()))
            .collect()
    })
}
