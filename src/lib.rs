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
//! | `ret` / `ret(display)` / `ret(debug)` | records the return value (its `Ok` value with `err`) as `return`: as itself when its type is an [`AttrValue`] written out in the signature (a `u64` is an integer attribute, `None` records nothing), else its `Debug` form; `ret(display)` and `ret(debug)` always record a string |
//! | `parent = expr` | the parent: an `opentelemetry::Context` or `SpanContext` |
//! | `links(expr, ..)` | links to other spans (`SpanContext`, `Context` or `Link`) |
//! | `root` | starts a new trace whatever the current context |
//! | `metrics` | call metrics: the counter `function.calls` and the histogram `function.calls.duration` (seconds), labelled `function`, `module`, `service.name`, `result` (`ok`, or `error` on an `Err` or a panic), `caller.function` and `caller.module`; plus the gauge `build_info` |
//! | `metrics(objective = NAME)` | the same, with the labels of a service-level objective ([`Objective`], a `const` several functions may share): `objective.name` and `objective.percentile` on both, `objective.latency_threshold` on the histogram |
//! | `metrics(track_concurrency)` | also the up-down counter `function.calls.concurrent` (a gauge in Prometheus): the calls in flight, labelled `function`, `module` and `service.name`, +1 on entry and -1 on exit (a return, `?`, a panic, a future completing or dropped); `metrics(objective = NAME, track_concurrency)` gives both |
//!
//! An attribute key is given once: the same key twice in `args(..)` and `attrs(..)`
//! (`"a.b"` and `a.b` are the same key), a `code.*` key or, with `ret`, `return`
//! is a compile error.
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

pub use traced_macros::{attr, event, link, traced};

/// A struct of OpenTelemetry instruments, one per field, built from a `Meter`.
///
/// ```
/// use traced::metrics::{Counter, Histogram, UpDownCounter};
/// use traced::Metrics;
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "shop.cart")]
/// struct CartMetrics {
///     /// Items added to carts.
///     #[metric(unit = "{item}")]
///     items_added: Counter<u64>,
///     /// Carts open right now.
///     open: UpDownCounter<i64>,
///     #[metric(name = "checkout.duration", unit = "s", buckets = [0.01, 0.1, 1.0])]
///     checkout: Histogram<f64>,
/// }
///
/// let m = CartMetrics::global();
/// m.items_added.add(2, &[]);
/// m.open.add(1, &[]);
/// m.checkout.record(0.05, &[]);
/// ```
///
/// The derive writes two functions:
///
/// - `fn new(meter: &Meter) -> Self` builds every instrument from `meter`;
/// - `fn global() -> &'static Self` is the instance of the global meter provider,
///   under a meter named after the crate (name and version). It is built on first
///   use, and again after [`init()`] installs a new provider, so it can be called
///   anywhere, before or after `init()`.
///
/// # Fields
///
/// Each field is an instrument of [`metrics`], with its value type:
///
/// | field type | value types |
/// |---|---|
/// | [`Counter`](metrics::Counter), [`ObservableCounter`](metrics::ObservableCounter) | `u64`, `f64` |
/// | [`UpDownCounter`](metrics::UpDownCounter), [`ObservableUpDownCounter`](metrics::ObservableUpDownCounter) | `i64`, `f64` |
/// | [`Gauge`](metrics::Gauge), [`ObservableGauge`](metrics::ObservableGauge) | `u64`, `i64`, `f64` |
/// | [`Histogram`](metrics::Histogram) | `u64`, `f64` |
///
/// The metric is named after the field (`items_added`), behind the prefix
/// (`shop.cart.items_added`); its description is the field's doc comment.
///
/// # `#[metrics(..)]` on the struct
///
/// | option | effect |
/// |---|---|
/// | `prefix = "shop.cart"` | put before every metric name, with a dot |
///
/// # `#[metric(..)]` on a field
///
/// | option | effect |
/// |---|---|
/// | `name = "checkout.duration"` | the metric name instead of the field's (the prefix still applies) |
/// | `unit = "s"` | the unit, in UCUM: `"s"`, `"ms"`, `"By"`, `"{request}"` |
/// | `description = "..."` | the description instead of the doc comment |
/// | `buckets = [0.01, 0.1, 1.0]` | a histogram's bucket boundaries, strictly increasing (default: the SDK's, 0 to 10000) |
/// | `callback = path::to::fn` | an observable instrument's callback (required for them, refused for the others): a `fn(&dyn AsyncInstrument<T>)` or a closure |
///
/// ```
/// use traced::metrics::{AsyncInstrument, ObservableGauge};
/// use traced::Metrics;
///
/// fn queue_depth(obs: &dyn AsyncInstrument<u64>) {
///     obs.observe(7, &[]);
/// }
///
/// #[derive(Metrics)]
/// struct QueueMetrics {
///     /// Jobs waiting.
///     #[metric(unit = "{job}", callback = queue_depth)]
///     depth: ObservableGauge<u64>,
/// }
///
/// // An observable instrument works through its callback: build it once.
/// let _ = QueueMetrics::global();
/// ```
///
/// Names, units and buckets are checked at compile time against the OpenTelemetry
/// rules (a name starts with a letter, then up to 254 letters, digits, `_`, `.`,
/// `-` or `/`; a unit is at most 63 ASCII characters). The struct has named fields
/// and no generic parameters.
#[doc(inline)]
pub use traced_macros::Metrics;

/// A struct of attributes whose keys cannot be misspelled: one attribute per
/// field, named after it, for instruments (or any `KeyValue` list).
///
/// ```
/// use traced::metrics::Counter;
/// use traced::{Attributes, Metrics};
///
/// #[derive(Attributes)]
/// struct OrderLabels<'a> {
///     region: &'a str,
///     #[attr(name = "payment.method")]
///     payment: &'static str,
///     express: bool,
/// }
///
/// #[derive(Metrics)]
/// struct OrderMetrics {
///     orders: Counter<u64>,
/// }
///
/// let labels = OrderLabels { region: "eu", payment: "card", express: true };
/// OrderMetrics::global().orders.add(1, &labels.attributes());
/// assert_eq!(labels.attributes()[1].key.as_str(), "payment.method");
/// ```
///
/// The derive writes `fn attributes(&self) -> [KeyValue; N]`, one `KeyValue` per
/// field in order. A field's type is an [`AttrValue`] (a bool, an integer, a float,
/// a string, an `Option` or a slice of these); a `None` records an empty string.
///
/// # `#[attr(..)]` on a field
///
/// | option | effect |
/// |---|---|
/// | `name = "payment.method"` | the attribute key instead of the field's name |
///
/// Each key is used once; an empty key is refused.
#[doc(inline)]
pub use traced_macros::Attributes;
pub use traced_runtime::metrics;
/// With `#[traced(metrics(objective = NAME))]`, functions share the objective:
///
/// ```
/// use traced::{Objective, ObjectiveLatency, ObjectivePercentile};
///
/// const API: Objective = Objective::new("api")
///     .success_rate(ObjectivePercentile::P99_9)
///     .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
///
/// #[traced::traced(metrics(objective = API))]
/// fn get_cart(id: u64) -> Result<u64, String> {
///     Ok(id)
/// }
///
/// #[traced::traced(metrics(objective = API))]
/// fn add_item(id: u64) -> Result<u64, String> {
///     Ok(id + 1)
/// }
/// # let _ = (get_cart(1), add_item(1));
/// ```
pub use traced_runtime::metrics::Objective;
pub use traced_runtime::metrics::{ObjectiveLatency, ObjectivePercentile};

#[cfg(feature = "enabled")]
pub use traced_runtime::export;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub use traced_runtime::http;
pub use traced_runtime::{baggage, file_config, logs, process, propagation};
pub use traced_runtime::{
    init, init_from_file, providers, sdk_bounds, use_global_tracer_provider, AttrValue, Builder,
    ConfigError, Error, Guard, LogsExporter, MetricsExporter, Protocol, Sampler, TracesExporter,
    DEFAULT_SHUTDOWN_TIMEOUT,
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
    #[cfg(feature = "enabled")]
    pub use traced_runtime::metrics::{in_flight, ConcurrentCalls, InFlight, InFlightFuture};
    pub use traced_runtime::metrics::{
        meter, FromInstrument, GlobalInstance, DEFAULT_HISTOGRAM_BOUNDS,
    };
    #[cfg(feature = "enabled")]
    pub use traced_runtime::private::*;
    pub use traced_runtime::{init_for_crate, CrateBuild};
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
            $crate::__private::CrateBuild {
                commit: match ::core::option_env!("AUTOMETRICS_COMMIT") {
                    ::core::option::Option::Some(v) => ::core::option::Option::Some(v),
                    ::core::option::Option::None => ::core::option_env!("VERGEN_GIT_SHA"),
                },
                branch: match ::core::option_env!("AUTOMETRICS_BRANCH") {
                    ::core::option::Option::Some(v) => ::core::option::Option::Some(v),
                    ::core::option::Option::None => ::core::option_env!("VERGEN_GIT_BRANCH"),
                },
                repository_url: match ::core::option_env!("AUTOMETRICS_REPOSITORY_URL") {
                    ::core::option::Option::Some(v) => ::core::option::Option::Some(v),
                    ::core::option::Option::None => ::core::option_env!("CARGO_PKG_REPOSITORY"),
                },
                repository_provider: ::core::option_env!("AUTOMETRICS_REPOSITORY_PROVIDER"),
            },
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
