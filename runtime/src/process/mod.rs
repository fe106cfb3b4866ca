//! Processors in the OpenTelemetry Collector's spirit, run inside the process.
//!
//! The rules ([`Redaction`], [`SpanFilter`], [`SpanMetrics`]) and
//! [`BaggageSpanProcessor`] exist whatever the features; with `enabled` off they
//! are kept and never applied.

mod baggage;
#[cfg(feature = "enabled")]
pub(crate) mod exporting;
pub(crate) mod filter;
#[cfg(feature = "enabled")]
pub(crate) mod span_logs;
pub mod span_metrics;

pub use crate::redact::{Action, PatternError, Redaction, MASK};
pub use baggage::BaggageSpanProcessor;
pub use filter::SpanFilter;
pub use span_metrics::SpanMetrics;
