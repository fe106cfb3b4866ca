//! OpenTelemetry spans by annotation: put `#[traced]` on a function, call
//! [`init()`] once in `main`, and every call becomes a span, exported to the
//! console or, with `OTEL_EXPORTER_OTLP_ENDPOINT` set, to an OpenTelemetry Collector.
//!
//! ```
//! use traced::traced;
//!
//! #[derive(Debug)]
//! struct NotFound;
//! impl std::fmt::Display for NotFound {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("no such cart")
//!     }
//! }
//!
//! #[traced(err, attrs(cart.id = id))]
//! fn load(id: u64) -> Result<Vec<String>, NotFound> {
//!     traced::event!("cache.miss", key = id);
//!     if id == 0 { return Err(NotFound) }
//!     Ok(vec!["apple".into()])
//! }
//!
//! #[traced(kind = server, name = "GET /cart")]
//! async fn get_cart(id: u64) -> usize {
//!     let items = load(id).unwrap_or_default();
//!     traced::attr!(cart.items = items.len());
//!     items.len()
//! }
//!
//! fn main() {
//!     let _telemetry = traced::init();
//!     # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//!     # rt.block_on(get_cart(7));
//! }
//! ```
//!
//! # `#[traced]`
//!
//! Works on free functions, methods (`self`, `&self`, `&mut self`, `self: Box<Self>`,
//! `self: Pin<&mut Self>`), associated functions, generic functions, `async fn`
//! (native, in traits, and with `#[async_trait]`), functions returning
//! `impl Future` or `Pin<Box<dyn Future>>`, `unsafe fn` and `extern "C" fn`. The
//! signature and the behaviour are unchanged: arguments, `return`, `?`, panics
//! and recursion behave as without the attribute.
//!
//! | option | effect |
//! |---|---|
//! | `name = "GET /cart"` | the span name (default: the function's name) |
//! | `kind = server` | `internal` (default), `client`, `server`, `producer`, `consumer` |
//! | `attrs(key = expr, "dotted.key" = expr, k = %expr, k = ?expr)` | attributes evaluated at entry; `%` records `Display`, `?` records `Debug` |
//! | `args(a, b)` | records the named arguments under their names |
//! | `err` / `err(debug)` | on `Err`: status Error with the message and an `exception` event |
//! | `ret` / `ret(display)` | records the return value (its `Ok` value with `err`) as `return` |
//! | `parent = expr` | the parent: an `opentelemetry::Context` or `SpanContext` |
//! | `links(expr, ..)` | links to other spans (`SpanContext`, `Context` or `Link`) |
//! | `root` | starts a new trace whatever the current context |
//!
//! Every span carries `code.function.name`, `code.file.path` and `code.line.number`.
//!
//! **Arguments are never recorded unless named** in `args(..)` or `attrs(..)`: a
//! password passed to a traced function stays out of your telemetry. Attribute
//! expressions are evaluated only when the span is recorded (sampled in).
//!
//! A panic inside a traced function ends its span (and every traced caller it
//! unwinds through) with status Error and an `exception` event carrying the panic
//! message; the panic then goes on unchanged.
//!
//! An `async fn` span starts at the first poll, takes its parent from the context
//! current then, is current during every poll, and ends when the future completes
//! or is dropped.
//!
//! # In the body
//!
//! - [`event!`]`("name", key = value, ..)` adds an event to the current span;
//! - [`attr!`]`(key = value, ..)` sets attributes on it;
//! - [`link!`]`(span_context, key = value, ..)` links it to another span (a
//!   `SpanContext`, an `opentelemetry::Context` or a `Link`), e.g. each message
//!   a batch consumer handles;
//! - [`status!`]`(ok)` / `status!(error, "format {}", args)` sets its status;
//! - [`error!`]`(&err)` records an error: status Error and an `exception` event.
//!
//! Each does nothing (and evaluates nothing) when the current span does not record.
//!
//! # Features
//!
//! | feature | default | effect |
//! |---|---|---|
//! | `enabled` | yes | without it every annotation compiles to the plain function and [`init()`] does nothing |
//! | `otlp` | yes | the OTLP exporters (gRPC and HTTP/protobuf) |
//! | `prometheus` | yes | the Prometheus pull endpoint |
//! | `log` | no | bridge the `log` crate into OpenTelemetry logs |
//! | `tracing` | no | bridge `tracing` events into OpenTelemetry logs |
//! | `tower` | no | `http::ServerLayer`: a SERVER span per HTTP request |
//! | `axum` | no | with `tower`: `http.route` from axum's `MatchedPath` |
//! | `reqwest` | no | `http::RequestBuilderExt::send_traced`: a CLIENT span per request |
//!
//! None of the optional features switches `enabled` on: with `enabled` off every
//! item keeps existing and does nothing (`http::ServerLayer` passes requests
//! through, `send_traced` is `send`), and the OpenTelemetry SDK is not compiled.
//!
//! # Configuration
//!
//! [`init()`] reads the standard `OTEL_*` environment; [`Builder`] sets the same
//! things in code. See the README for the full table.
#![warn(missing_docs)]

pub use traced_macros::{attr, event, link, traced, Attributes, Metrics};
pub use traced_runtime::metrics;

#[cfg(feature = "enabled")]
pub use traced_runtime::export;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub use traced_runtime::http;
pub use traced_runtime::{baggage, file_config, logs, process, propagation};
pub use traced_runtime::{
    init, init_from_file, providers, sdk_bounds, AttrValue, Builder, ConfigError, Error, Guard,
    LogsExporter, MetricsExporter, Protocol, Sampler, TracesExporter, DEFAULT_SHUTDOWN_TIMEOUT,
};

/// The OpenTelemetry API crate this version of `traced` is built on.
pub use opentelemetry;
/// The OpenTelemetry semantic conventions (stable attribute and metric names), for
/// `attrs(..)` keys such as `semconv::attribute::HTTP_ROUTE`.
pub use opentelemetry_semantic_conventions as semconv;
/// The OpenTelemetry SDK crate this version of `traced` is built on (with the
/// `enabled` feature; no documented setup needs it: [`Sampler`] chooses the sampler).
#[cfg(feature = "enabled")]
pub use traced_runtime::sdk as opentelemetry_sdk;

/// What generated code calls; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use traced_runtime::init_for_crate;
    pub use traced_runtime::metrics::{
        meter, FromInstrument, GlobalInstance, DEFAULT_HISTOGRAM_BOUNDS,
    };
    #[cfg(feature = "enabled")]
    pub use traced_runtime::private::*;
}

/// Like [`init()`], with `service.name` and `service.version` taken from the calling
/// crate at compile time (unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` set them).
///
/// ```no_run
/// let _telemetry = traced::init!();
/// ```
#[macro_export]
macro_rules! init {
    () => {
        $crate::__private::init_for_crate(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
        )
    };
}

/// Sets the status of the current span: `status!(ok)` or `status!(error, "format", args..)`.
///
/// ```
/// # #[traced::traced]
/// fn pay(amount: u64) {
///     if amount == 0 {
///         traced::status!(error, "amount must be positive, got {}", amount);
///     } else {
///         traced::status!(ok);
///     }
/// }
/// # pay(0);
/// ```
#[cfg(feature = "enabled")]
#[macro_export]
macro_rules! status {
    (ok) => {
        $crate::__private::status_ok()
    };
    (error) => {
        $crate::__private::status_error(::core::format_args!(""))
    };
    (error, $($fmt:tt)+) => {
        $crate::__private::status_error(::core::format_args!($($fmt)+))
    };
}

/// Sets the status of the current span (compiled out: the `enabled` feature is off).
#[cfg(not(feature = "enabled"))]
#[macro_export]
macro_rules! status {
    (ok) => {{}};
    (error) => {{}};
    (error, $($fmt:tt)+) => {{
        #[allow(unreachable_code)]
        if false {
            let _ = ::core::format_args!($($fmt)+);
        }
    }};
}

/// Records an error on the current span: an `exception` event with its type and
/// `Display` message, and status Error.
///
/// ```
/// # #[traced::traced]
/// fn parse(input: &str) -> u32 {
///     match input.parse() {
///         Ok(n) => n,
///         Err(e) => {
///             traced::error!(&e);
///             0
///         }
///     }
/// }
/// # parse("x");
/// ```
#[cfg(feature = "enabled")]
#[macro_export]
macro_rules! error {
    ($err:expr) => {
        $crate::__private::error(&$err)
    };
}

/// Records an error on the current span (compiled out: the `enabled` feature is off).
#[cfg(not(feature = "enabled"))]
#[macro_export]
macro_rules! error {
    ($err:expr) => {{
        #[allow(unreachable_code)]
        if false {
            let _ = $err;
        }
    }};
}
