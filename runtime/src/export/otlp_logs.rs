//! OTLP log export, run on the export runtime like the other OTLP exporters.

use crate::config::{Env, Protocol};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::runtime::Handle;

/// The OTLP log exporter configured by `env` (endpoint and headers are read by
/// `opentelemetry-otlp` from the standard variables).
pub(crate) fn otlp_logs(
    env: &Env,
) -> Result<LogsOnRuntime<opentelemetry_otlp::LogExporter>, String> {
    let rt = super::runtime::runtime()?;
    let _enter = rt.enter();
    let target = &env.logs_otlp;
    let exporter = match env.logs_protocol {
        Protocol::Grpc => super::otlp::grpc_builder(
            opentelemetry_otlp::LogExporter::builder().with_tonic(),
            target,
        )?
        .build(),
        Protocol::HttpProtobuf => super::otlp::http_builder(
            opentelemetry_otlp::LogExporter::builder().with_http(),
            "LOGS",
            target,
        )?
        .build(),
    }
    .map_err(|e| e.to_string())?;
    Ok(LogsOnRuntime {
        inner: exporter,
        reported: AtomicBool::new(false),
        handle: rt.handle().clone(),
        // Both bound one export: the OTLP request timeout and the batch processor's.
        timeout: env.logs_otlp_timeout.min(env.blrp_export_timeout),
    })
}

/// Runs a log exporter's exports on the export runtime. The batch log processor
/// calls it from its own thread, which blocks on the export, bounded by `timeout`.
#[derive(Debug)]
pub(crate) struct LogsOnRuntime<E> {
    inner: E,
    reported: AtomicBool,
    handle: Handle,
    timeout: Duration,
}

impl<E: LogExporter> LogExporter for LogsOnRuntime<E> {
    fn export(
        &self,
        batch: LogBatch<'_>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let result = if Handle::try_current().is_ok() {
            Err(OTelSdkError::InternalFailure(
                "log export called from inside a Tokio runtime".to_owned(),
            ))
        } else {
            self.handle.block_on(async {
                match tokio::time::timeout(self.timeout, self.inner.export(batch)).await {
                    Ok(result) => result,
                    Err(_) => Err(OTelSdkError::Timeout(self.timeout)),
                }
            })
        };
        if let Err(e) = &result {
            if !self.reported.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "traced: OTLP log export failed: {e} (the data is dropped; later failures are not printed)"
                );
            }
        }
        std::future::ready(result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
