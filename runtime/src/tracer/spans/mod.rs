//! `traced`'s own span path: the spans of `#[traced]` and the body macros are
//! recorded on the calling thread in a compact [`record::Record`] (no SDK span,
//! no processor call at start), and become the SDK's `SpanData` for the span
//! processors `init` installed when they end — on the calling thread, or, when
//! every processor batches anyway, on a collector thread that takes them from
//! per-thread buffers.
//!
//! The configured sampler decides as it does for SDK spans; the span is the
//! current span of its context, so the OpenTelemetry API (`Context::current()`,
//! `set_attribute`, `add_event`, propagation) works on it. A pipeline with a
//! processor that must see spans start (one added with
//! `Builder::span_processor`, the console exporter, a span filter) keeps the
//! SDK's spans: this path cannot call `on_start` with an SDK span.

mod ids;
mod pipeline;
mod record;
mod start;

pub(crate) use pipeline::{Pipeline, Shared};
pub(crate) use record::code_attributes;
pub(crate) use start::{Decide, FastPath, Root};
