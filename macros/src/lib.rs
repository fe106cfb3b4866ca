//! Procedural macros of the [`traced`](https://docs.rs/traced) crate.
//!
//! Use them through `traced`: `#[traced::traced]`, `traced::event!`, `traced::attr!`.
//! The generated code calls only `::traced::__private`, so the `traced` crate must be
//! a direct dependency under that name.

mod attributes;
mod ctx;
mod fields;
mod metrics;
mod traced;

use proc_macro::TokenStream;

/// Whether to generate instrumentation (the `enabled` feature of `traced`).
const ENABLED: bool = cfg!(feature = "enabled");

/// Instruments a function with an OpenTelemetry span: every call is a span,
/// named after the function, that ends when the call returns, unwinds or (for a
/// future) completes or is dropped.
///
/// | option | effect |
/// |---|---|
/// | `name = "GET /cart"` | the span name (default: the function's name) |
/// | `kind = server` | `internal` (default), `client`, `server`, `producer`, `consumer` |
/// | `attrs(key = expr, "dotted.key" = expr, k = %expr, k = ?expr)` | attributes evaluated at entry; `%` records `Display`, `?` records `Debug` |
/// | `args(a, b)` | records the named arguments under their names |
/// | `err` / `err(debug)` | on `Err`: status Error with the message and an `exception` event |
/// | `ret` / `ret(display)` / `ret(debug)` | records the return value (its `Ok` value with `err`) as `return`: as itself when its type is an `AttrValue` written out in the signature, else its `Debug` form; `ret(display)` and `ret(debug)` always record a string |
/// | `parent = expr` | the parent: an `opentelemetry::Context` or `SpanContext` |
/// | `links(expr, ..)` | links to other spans (`SpanContext`, `Context` or `Link`) |
/// | `root` | starts a new trace whatever the current context |
/// | `metrics` | call metrics: `function.calls` and `function.calls.duration`, labelled `function`, `module`, `result`, `caller.function` and `caller.module` |
/// | `metrics(objective = NAME)` | the same, with the labels of the service-level objective `NAME`, a `const traced::Objective` that several functions may share (`objective.name`, `objective.percentile`, `objective.latency_threshold`) |
/// | `metrics(track_concurrency)` | also the `function.calls.concurrent` up-down counter of the calls in flight, labelled `function`, `module`, `service.name` (combines with `objective = NAME`) |
///
/// Use it as `traced::traced`; the `traced` crate's documentation has the details.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    traced::expand(args.into(), item.into(), ENABLED).into()
}

/// Adds an event to the current span: `event!("cache.miss", key = k)`.
#[proc_macro]
pub fn event(input: TokenStream) -> TokenStream {
    fields::expand_event(input.into(), ENABLED).into()
}

/// Adds a link to the current span: `link!(span_context, messaging.message.id = id)`.
#[proc_macro]
pub fn link(input: TokenStream) -> TokenStream {
    fields::expand_link(input.into(), ENABLED).into()
}

/// Sets attributes on the current span: `attr!(cart.items = n)`.
#[proc_macro]
pub fn attr(input: TokenStream) -> TokenStream {
    fields::expand_attr(input.into(), ENABLED).into()
}

// Documented where users find it, on the re-export `traced::Metrics` (whose
// examples run as doctests of `traced`).
#[proc_macro_derive(Metrics, attributes(metrics, metric))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    metrics::derive(input.into()).into()
}

// Documented on the re-export `traced::Attributes`.
#[proc_macro_derive(Attributes, attributes(attr))]
pub fn derive_attributes(input: TokenStream) -> TokenStream {
    attributes::derive(input.into()).into()
}
