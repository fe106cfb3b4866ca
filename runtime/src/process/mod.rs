//! Processors in the OpenTelemetry Collector's spirit, run inside the process.

mod baggage;

pub use baggage::BaggageSpanProcessor;
