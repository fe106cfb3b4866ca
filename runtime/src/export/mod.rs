//! Exporters `init` can install.

pub mod console;
pub mod console_logs;
pub mod console_metrics;
#[cfg(feature = "otlp")]
mod otlp_logs;
mod text;
#[cfg(feature = "otlp")]
pub(crate) use otlp_logs::otlp_logs;
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
mod delivery;
#[cfg(feature = "otlp")]
mod health;
#[cfg(feature = "otlp")]
mod on_runtime;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
mod otlp_file;
#[cfg(feature = "otlp")]
mod otlp_grpc;
#[cfg(feature = "otlp")]
mod otlp_json;
#[cfg(feature = "otlp")]
mod otlp_metrics;
#[cfg(feature = "tls")]
mod tls;

#[cfg(feature = "otlp")]
pub(crate) use otlp::{otlp, otlp_metrics};

#[cfg(feature = "otlp")]
pub(crate) use otlp_file::from_env::{
    logs as otlp_file_logs, metrics as otlp_file_metrics, spans as otlp_file_spans,
};

/// Waits, at most `timeout`, for the OTLP/HTTP retry queues to be delivered.
#[cfg(feature = "otlp")]
pub(crate) fn drain_deliveries(timeout: std::time::Duration) -> Result<(), String> {
    delivery::drain_all(timeout)
}

/// Without the `otlp` feature there is nothing queued.
#[cfg(not(feature = "otlp"))]
pub(crate) fn drain_deliveries(_: std::time::Duration) -> Result<(), String> {
    Ok(())
}

/// At shutdown: for each OTLP exporter that met trouble, what it exported,
/// retried and dropped.
#[cfg(feature = "otlp")]
pub(crate) fn delivery_shutdown_lines() -> Vec<String> {
    delivery::shutdown_lines()
}

/// Without the `otlp` feature there is nothing to say.
#[cfg(not(feature = "otlp"))]
pub(crate) fn delivery_shutdown_lines() -> Vec<String> {
    Vec::new()
}

#[cfg(not(feature = "otlp"))]
pub(crate) use no_otlp::{
    otlp, otlp as otlp_file_spans, otlp_logs, otlp_logs as otlp_file_logs, otlp_metrics,
    otlp_metrics as otlp_file_metrics,
};

/// Without the `otlp` feature: exporters that cannot exist.
#[cfg(not(feature = "otlp"))]
mod no_otlp {
    use crate::settings::Settings;
    use opentelemetry_sdk::error::OTelSdkResult;
    use std::future::Future;
    use std::time::Duration;

    /// An exporter of a build without OTLP: never built.
    #[derive(Debug)]
    pub(crate) enum NoOtlp {}

    const WHY: &str = "this build of traced has no `otlp` feature";

    pub(crate) fn otlp(_: &Settings) -> Result<NoOtlp, String> {
        Err(WHY.to_owned())
    }

    pub(crate) fn otlp_metrics(_: &Settings) -> Result<NoOtlp, String> {
        Err(WHY.to_owned())
    }

    pub(crate) fn otlp_logs(_: &Settings) -> Result<NoOtlp, String> {
        Err(WHY.to_owned())
    }

    impl opentelemetry_sdk::trace::SpanExporter for NoOtlp {
        fn export(
            &self,
            _: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> impl Future<Output = OTelSdkResult> + Send {
            match *self {}
            #[allow(unreachable_code)]
            std::future::ready(Ok(()))
        }
    }

    impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for NoOtlp {
        fn export(
            &self,
            _: &opentelemetry_sdk::metrics::data::ResourceMetrics,
        ) -> impl Future<Output = OTelSdkResult> + Send {
            match *self {}
            #[allow(unreachable_code)]
            std::future::ready(Ok(()))
        }
        fn force_flush(&self) -> OTelSdkResult {
            match *self {}
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            match *self {}
        }
        fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
            match *self {}
        }
    }

    impl opentelemetry_sdk::logs::LogExporter for NoOtlp {
        fn export(
            &self,
            _: opentelemetry_sdk::logs::LogBatch<'_>,
        ) -> impl Future<Output = OTelSdkResult> + Send {
            match *self {}
            #[allow(unreachable_code)]
            std::future::ready(Ok(()))
        }
    }
}
