//! Exporters `init` can install.

pub mod console;

#[cfg(feature = "otlp")]
mod otlp;

#[cfg(feature = "otlp")]
pub(crate) use otlp::otlp;

#[cfg(not(feature = "otlp"))]
pub(crate) fn otlp(
    _env: &crate::config::Env,
) -> Result<opentelemetry_sdk::trace::InMemorySpanExporter, String> {
    Err("this build of traced has no `otlp` feature".to_owned())
}
