//! Temporary: replaced by the console metrics exporter.
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use std::time::Duration;

/// Metrics on stderr.
#[derive(Debug, Default)]
pub struct ConsoleMetricsExporter;

impl ConsoleMetricsExporter {
    /// New.
    pub fn new() -> Self {
        ConsoleMetricsExporter
    }
}

impl PushMetricExporter for ConsoleMetricsExporter {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
