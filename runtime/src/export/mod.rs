//! Exporters `init` can install.

pub mod console;
pub mod console_metrics;

#[cfg(feature = "otlp")]
mod otlp;

#[cfg(feature = "otlp")]
pub(crate) use otlp::{otlp, otlp_metrics};

#[cfg(not(feature = "otlp"))]
pub(crate) fn otlp(
    _env: &crate::config::Env,
) -> Result<opentelemetry_sdk::trace::InMemorySpanExporter, String> {
    Err("this build of traced has no `otlp` feature".to_owned())
}

#[cfg(not(feature = "otlp"))]
pub(crate) fn otlp_metrics(
    _env: &crate::config::Env,
) -> Result<opentelemetry_sdk::metrics::InMemoryMetricExporter, String> {
    Err("this build of traced has no `otlp` feature".to_owned())
}
