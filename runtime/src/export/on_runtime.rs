//! The one wrapper that runs a network exporter of any signal on the export
//! runtime (`runtime.rs`), bounds each export by its timeout, and reports its
//! health (`health.rs`). The application's own threads never block on the
//! network: the span batch processor's export is a task on the runtime, the
//! periodic reader's and the log batch processor's threads wait for theirs.

use super::delivery::carrying;
use super::health::Health;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// `inner`'s exports, on the export runtime, each bounded by `timeout`.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: Arc<E>,
    handle: Handle,
    timeout: Duration,
    /// `None` when another part reports (the retry queue of `delivery.rs`,
    /// which every OTLP exporter `init` builds has).
    health: Option<Arc<Health>>,
}

impl<E> OnRuntime<E> {
    pub(crate) fn new(
        inner: E,
        handle: Handle,
        timeout: Duration,
        health: Option<Arc<Health>>,
    ) -> Self {
        OnRuntime {
            inner: Arc::new(inner),
            handle,
            timeout,
            health,
        }
    }

    /// Runs `export` on the runtime from a thread outside it, waiting at most
    /// the timeout.
    fn block_on<'a>(
        &self,
        what: &str,
        export: impl Future<Output = OTelSdkResult> + 'a,
    ) -> OTelSdkResult {
        let result = if Handle::try_current().is_ok() {
            // Already on a runtime thread (never the case for the SDK's reader
            // and processors): blocking here would panic, so report instead.
            Err(OTelSdkError::InternalFailure(format!(
                "{what} export called from inside a Tokio runtime"
            )))
        } else {
            self.handle.block_on(bounded(self.timeout, export))
        };
        self.report(&result);
        result
    }

    fn report(&self, result: &OTelSdkResult) {
        report(self.health.as_deref(), result);
    }
}

fn report(health: Option<&Health>, result: &OTelSdkResult) {
    if let Some(health) = health {
        let failure = result
            .as_ref()
            .err()
            .map(|e| format!("{e}; the batch is dropped"));
        health.record(failure.as_ref().map(|e| e as &dyn std::fmt::Display));
    }
}

async fn bounded(timeout: Duration, export: impl Future<Output = OTelSdkResult>) -> OTelSdkResult {
    match tokio::time::timeout(timeout, export).await {
        Ok(result) => result,
        Err(_) => Err(OTelSdkError::Timeout(timeout)),
    }
}

/// The data points of `metrics`: what a metric export carries.
fn data_points(metrics: &ResourceMetrics) -> usize {
    fn count<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(g) => g.data_points().count(),
            MetricData::Sum(s) => s.data_points().count(),
            MetricData::Histogram(h) => h.data_points().count(),
            MetricData::ExponentialHistogram(e) => e.data_points().count(),
        }
    }
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(|metric| match metric.data() {
            AggregatedMetrics::F64(data) => count(data),
            AggregatedMetrics::U64(data) => count(data),
            AggregatedMetrics::I64(data) => count(data),
        })
        .sum()
}

impl<E: SpanExporter + 'static> SpanExporter for OnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let inner = Arc::clone(&self.inner);
        let health = self.health.clone();
        let timeout = self.timeout;
        let items = batch.len();
        let task = self
            .handle
            .spawn(async move { carrying(items, bounded(timeout, inner.export(batch))).await });
        async move {
            let result = task
                .await
                .unwrap_or_else(|e| Err(OTelSdkError::InternalFailure(e.to_string())));
            report(health.as_deref(), &result);
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for OnRuntime<E> {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        let items = data_points(metrics);
        std::future::ready(self.block_on("metric", carrying(items, self.inner.export(metrics))))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: LogExporter> LogExporter for OnRuntime<E> {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.iter().count();
        std::future::ready(self.block_on("log", carrying(items, self.inner.export(batch))))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}
