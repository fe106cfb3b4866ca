//! Ready-made HTTP integrations: a server span per request for `tower` services
//! (axum, hyper through hyper-util, tonic) and a client span per request for reqwest,
//! both named and described by the OpenTelemetry HTTP semantic conventions, both
//! carrying the W3C `traceparent` and `baggage` across.
//!
//! | feature | item | span |
//! |---|---|---|
//! | `tower` | [`ServerLayer`] | `SERVER`, parent from the request headers |
//! | `axum` | (with `tower`) `http.route` from axum's `MatchedPath` | |
//! | `reqwest` | [`RequestBuilderExt::send_traced`] | `CLIENT`, headers injected into the request |
//!
//! A client in one service and a server in another give one trace:
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "reqwest"))] fn main() {
//! # use traced_runtime as traced;
//! use traced::http::{RequestBuilderExt as _, ServerLayer};
//!
//! async fn price() -> &'static str { "120" }
//!
//! // Service A: every request gets a SERVER span, a child of the caller's span.
//! let app: axum::Router = axum::Router::new()
//!     .route("/price/{sku}", axum::routing::get(price))
//!     .layer(ServerLayer::new());
//!
//! // Service B: every request gets a CLIENT span and carries it in `traceparent`.
//! async fn fetch_price(client: &reqwest::Client) -> reqwest::Result<reqwest::StatusCode> {
//!     let response = client.get("http://127.0.0.1:3000/price/apple").send_traced().await?;
//!     Ok(response.status())
//! }
//! # let _ = (app, fetch_price);
//! # }
//! # #[cfg(not(all(feature = "axum", feature = "reqwest")))] fn main() {}
//! ```
//!
//! **Only the attributes the conventions name are recorded**: `http.request.method`,
//! `url.path` (server) or `url.full` (client, without query string and user
//! information), `url.scheme`, `http.route`, `server.address`, `server.port`,
//! `network.protocol.version`, `user_agent.original` (server),
//! `http.response.status_code` and `error.type`. No other header, no query string
//! (it may hold secrets), no body.
//!
//! HTTP methods outside the conventions' list (the RFC 9110 methods, `PATCH` and
//! `QUERY`) are recorded as `_OTHER` with `http.request.method_original`, and the span
//! is named `HTTP`, so that a client sending made-up methods cannot flood the span
//! names. `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` (a comma-separated,
//! case-sensitive list, read once) replaces the list.

// With instrumentation compiled out the layer and the client extension pass
// requests straight through, and the helpers below go unused.
#![cfg_attr(not(feature = "enabled"), allow(dead_code, unused_imports))]

#[cfg(feature = "reqwest")]
mod client;
#[cfg(feature = "tower")]
mod server;

#[cfg(feature = "reqwest")]
pub use client::RequestBuilderExt;
#[cfg(feature = "tower")]
pub use server::{ResponseFuture, Route, ServerLayer, ServerService};

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Reads propagation fields from an [`http::HeaderMap`], for
/// [`propagation::extract`](crate::propagation::extract).
///
/// [`get`](Extractor::get) gives the first value of a header, and none when it is
/// not visible ASCII. [`get_all`](Extractor::get_all) gives every value, in order
/// (several header lines of one name are several values), so that the propagator
/// sees two `traceparent` headers as two and joins the `tracestate` ones; a value
/// that is not visible ASCII is given as `"\u{FFFD}"`, which still counts and
/// which no W3C header accepts.
///
/// ```
/// # use traced_runtime as traced;
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "traceparent",
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
/// );
/// let parent = traced::propagation::extract(&traced::http::HeaderExtractor(&headers));
/// # let _ = parent;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .map(|v| v.to_str().unwrap_or(NOT_VISIBLE_ASCII))
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// What [`HeaderExtractor::get_all`] gives for a value that is not visible ASCII.
const NOT_VISIBLE_ASCII: &str = "\u{FFFD}";

/// Writes propagation fields into an [`http::HeaderMap`], for
/// [`propagation::inject`](crate::propagation::inject). A field that is not a valid
/// header name or value is skipped; an existing header of the same name is replaced.
///
/// ```
/// # use traced_runtime as traced;
/// let mut headers = http::HeaderMap::new();
/// traced::propagation::inject(&mut traced::http::HeaderInjector(&mut headers));
/// ```
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }

    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
}

/// The methods the semantic conventions know, or the list in
/// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`.
static KNOWN_METHODS: LazyLock<Vec<Box<str>>> = LazyLock::new(|| {
    known_methods_from(std::env::var("OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS").ok())
});

const DEFAULT_KNOWN_METHODS: [&str; 10] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE",
];

fn known_methods_from(env: Option<String>) -> Vec<Box<str>> {
    match env {
        Some(list) if !list.trim().is_empty() => list
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(Box::from)
            .collect(),
        _ => DEFAULT_KNOWN_METHODS
            .iter()
            .map(|m| Box::from(*m))
            .collect(),
    }
}

/// The method as the conventions record it: `Some` when known, `None` for `_OTHER`.
pub(crate) fn known_method(method: &http::Method) -> Option<&'static str> {
    let list: &'static [Box<str>] = &KNOWN_METHODS;
    list.iter()
        .find(|known| ***known == *method.as_str())
        .map(|known| &**known)
}

/// `{method}` or `{method} {target}`, with `HTTP` for an unknown method.
pub(crate) fn span_name(method: Option<&'static str>, target: Option<&str>) -> Cow<'static, str> {
    let method = method.unwrap_or("HTTP");
    match target {
        Some(target) => Cow::Owned(format!("{method} {target}")),
        None => Cow::Borrowed(method),
    }
}

/// `http.request.method` (and `http.request.method_original` for `_OTHER`).
pub(crate) fn method_attributes(
    attributes: &mut Vec<KeyValue>,
    known: Option<&'static str>,
    method: &http::Method,
) {
    match known {
        Some(known) => attributes.push(KeyValue::new(semconv::HTTP_REQUEST_METHOD, known)),
        None => {
            attributes.push(KeyValue::new(semconv::HTTP_REQUEST_METHOD, "_OTHER"));
            attributes.push(KeyValue::new(
                semconv::HTTP_REQUEST_METHOD_ORIGINAL,
                method.as_str().to_owned(),
            ));
        }
    }
}

/// `network.protocol.version`.
pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    Some(match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// Starts a span of `kind` under `parent`. With the tracer `init` installed the
/// attributes are given at creation (samplers see them, as the conventions ask);
/// with the global provider they are computed only when the span records.
#[cfg(feature = "enabled")]
pub(crate) fn start_span(
    name: Cow<'static, str>,
    kind: SpanKind,
    parent: &Context,
    attributes: impl FnOnce() -> Vec<KeyValue>,
) -> Context {
    let builder = SpanBuilder::from_name(name).with_kind(kind);
    if crate::tracer::with_installed(|installed| installed.is_some()) {
        crate::tracer::start_span(builder.with_attributes(attributes()), parent)
    } else {
        let cx = crate::tracer::start_span(builder, parent);
        if cx.span().is_recording() {
            cx.span().set_attributes(attributes());
        }
        cx
    }
}

/// Owns a started span: ends it when dropped (a future dropped before completion).
#[derive(Debug)]
pub(crate) struct SpanOwner(pub(crate) Option<Context>);

impl SpanOwner {
    /// The context with the span, while it has not ended.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn context(&self) -> Option<&Context> {
        self.0.as_ref()
    }

    /// Ends the span after `record` has seen it, when it records.
    pub(crate) fn finish(&mut self, record: impl FnOnce(&opentelemetry::trace::SpanRef<'_>)) {
        if let Some(cx) = self.0.take() {
            let span = cx.span();
            if span.is_recording() {
                record(&span);
            }
            span.end();
        }
    }
}

impl Drop for SpanOwner {
    fn drop(&mut self) {
        if let Some(cx) = self.0.take() {
            cx.span().end();
        }
    }
}

/// Records an error: an `exception` event, `error.type` and status Error with the message.
pub(crate) fn record_exception(
    span: &opentelemetry::trace::SpanRef<'_>,
    exception_type: &'static str,
    error_type: Cow<'static, str>,
    message: String,
) {
    span.add_event(
        "exception",
        vec![
            KeyValue::new(semconv::EXCEPTION_TYPE, exception_type),
            KeyValue::new(semconv::EXCEPTION_MESSAGE, message.clone()),
        ],
    );
    span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type));
    span.set_status(opentelemetry::trace::Status::error(message));
}

/// Records a status code that the conventions count as an error: `error.type` (the
/// code) and status Error without a description (the code says it all).
pub(crate) fn record_error_status(span: &opentelemetry::trace::SpanRef<'_>, code: u16) {
    span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, code.to_string()));
    span.set_status(opentelemetry::trace::Status::error(""));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_default_and_override() {
        let default = known_methods_from(None);
        assert!(default.iter().any(|m| &**m == "GET"));
        assert!(default.iter().any(|m| &**m == "QUERY"));
        assert_eq!(known_methods_from(Some("  ".into())), default);
        let custom = known_methods_from(Some("GET, PURGE,,".into()));
        assert_eq!(custom, vec![Box::from("GET"), Box::from("PURGE")]);
    }

    #[test]
    fn names() {
        assert_eq!(span_name(Some("GET"), None), "GET");
        assert_eq!(
            span_name(Some("GET"), Some("/users/{id}")),
            "GET /users/{id}"
        );
        assert_eq!(span_name(None, Some("/users/{id}")), "HTTP /users/{id}");
        assert_eq!(span_name(None, None), "HTTP");
    }

    #[test]
    fn header_carriers() {
        let mut headers = http::HeaderMap::new();
        let mut injector = HeaderInjector(&mut headers);
        injector.set("traceparent", "00-a-b-01".into());
        injector.set("bad name", "x".into());
        injector.set("baggage", "bad\nvalue".into());
        assert_eq!(headers.len(), 1);
        headers.append("baggage", "a=1".parse().unwrap());
        headers.append("baggage", "b=2".parse().unwrap());
        headers.append("x-bin", http::HeaderValue::from_bytes(b"\xff").unwrap());
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("traceparent"), Some("00-a-b-01"));
        assert_eq!(extractor.get_all("baggage"), Some(vec!["a=1", "b=2"]));
        assert_eq!(extractor.get("x-bin"), None);
        assert_eq!(extractor.get_all("x-bin"), Some(vec!["\u{FFFD}"]));
        assert_eq!(extractor.get_all("missing"), None);
        assert_eq!(extractor.keys().len(), 3);
    }
}
