//! Processors in the OpenTelemetry Collector's spirit, run inside the process.

mod baggage;
pub(crate) mod filter;
mod glob;
pub(crate) mod redact;
pub(crate) mod sampled;
pub(crate) mod span_logs;
pub mod span_metrics;

pub use baggage::BaggageSpanProcessor;
pub use filter::SpanFilter;
pub use redact::{Action, Redaction, MASK};
pub use span_metrics::SpanMetrics;
