//! Exporters `init` can install.

pub mod console;
pub mod console_metrics;
#[cfg(feature = "prometheus")]
mod prometheus;
#[cfg(feature = "prometheus")]
mod prometheus_text;
#[cfg(any(feature = "otlp", feature = "prometheus"))]
mod runtime;

#[cfg(feature = "prometheus")]
pub(crate) use prometheus::Endpoint as PrometheusEndpoint;

/// The Prometheus endpoint, or why it is off.
#[cfg(feature = "prometheus")]
pub(crate) fn prometheus(
    host: &str,
    port: u16,
) -> Result<(prometheus::SharedReader, PrometheusEndpoint), String> {
    prometheus::start(host, port)
}

/// Without the `prometheus` feature there is no endpoint.
#[cfg(not(feature = "prometheus"))]
#[derive(Debug)]
pub(crate) struct PrometheusEndpoint;

#[cfg(not(feature = "prometheus"))]
impl PrometheusEndpoint {
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        unreachable!("never built without the prometheus feature")
    }
}

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
