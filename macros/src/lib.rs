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

/// Instruments a function with an OpenTelemetry span. See the `traced` crate's docs.
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

/// A struct of OpenTelemetry instruments. See `traced::Metrics`.
#[proc_macro_derive(Metrics, attributes(metrics, metric))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    metrics::derive(input.into()).into()
}

/// A struct of attributes with checked keys. See `traced::Attributes`.
#[proc_macro_derive(Attributes, attributes(attr))]
pub fn derive_attributes(input: TokenStream) -> TokenStream {
    attributes::derive(input.into()).into()
}
