//! OTLP export (gRPC or HTTP/protobuf) through `opentelemetry-otlp`.
//!
//! Every export runs on the crate's export runtime (see `runtime.rs`). The batch
//! processor's thread only waits for the result, bounded by the export timeout:
//! the application's own threads never block on the network.

use super::runtime::runtime;
use crate::config::{Env, Protocol};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// The endpoint and headers set in code (`Builder::setting`): `opentelemetry-otlp`
/// reads the process environment itself and cannot see them, so they are passed
/// to its builders explicitly, resolved as the specification says (a signal's
/// endpoint is used as it is; the general one gets `/v1/<signal>` over HTTP).
#[derive(Debug, Default)]
pub(crate) struct CodeSettings {
    endpoint: Option<String>,
    headers: Option<std::collections::HashMap<String, String>>,
}

pub(crate) fn code_settings(env: &Env, signal: &str, http: bool) -> CodeSettings {
    let endpoint = match env.set_in_code(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")) {
        Some(e) => Some(e.to_owned()),
        None => env.set_in_code("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| {
            if http {
                format!(
                    "{}/v1/{}",
                    base.trim_end_matches('/'),
                    signal.to_ascii_lowercase()
                )
            } else {
                base.to_owned()
            }
        }),
    };
    let headers = env
        .set_in_code(&format!("OTEL_EXPORTER_OTLP_{signal}_HEADERS"))
        .or_else(|| env.set_in_code("OTEL_EXPORTER_OTLP_HEADERS"))
        .map(parse_headers);
    CodeSettings { endpoint, headers }
}

/// `key=value,key2=value2`, values percent-decoded.
fn parse_headers(text: &str) -> std::collections::HashMap<String, String> {
    crate::config::key_value_list(text).collect()
}

/// Applies code settings to an HTTP exporter builder.
pub(crate) fn with_http_settings<B>(mut builder: B, settings: &CodeSettings) -> B
where
    B: WithExportConfig + opentelemetry_otlp::WithHttpConfig,
{
    if let Some(e) = &settings.endpoint {
        builder = builder.with_endpoint(e.clone());
    }
    if let Some(h) = &settings.headers {
        builder = builder.with_headers(h.clone());
    }
    builder
}

/// Applies code settings to a gRPC exporter builder.
pub(crate) fn with_grpc_settings<B>(mut builder: B, settings: &CodeSettings) -> B
where
    B: WithExportConfig + opentelemetry_otlp::WithTonicConfig,
{
    if let Some(e) = &settings.endpoint {
        builder = builder.with_endpoint(e.clone());
    }
    if let Some(h) = &settings.headers {
        let mut map = http::HeaderMap::new();
        for (k, v) in h {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                map.insert(k, v);
            }
        }
        builder = builder.with_metadata(tonic::metadata::MetadataMap::from_headers(map));
    }
    builder
}

/// The OTLP span exporter configured by `env` (endpoint and headers are read by
/// `opentelemetry-otlp` from the standard variables, or set in code).
pub(crate) fn otlp(env: &Env) -> Result<OnRuntime<opentelemetry_otlp::SpanExporter>, String> {
    let rt = runtime()?;
    let _enter = rt.enter();
    let exporter = match env.protocol {
        Protocol::Grpc => with_grpc_settings(
            opentelemetry_otlp::SpanExporter::builder().with_tonic(),
            &code_settings(env, "TRACES", false),
        )
        .with_timeout(env.otlp_timeout)
        .build(),
        Protocol::HttpProtobuf => with_http_settings(
            opentelemetry_otlp::SpanExporter::builder().with_http(),
            &code_settings(env, "TRACES", true),
        )
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_timeout(env.otlp_timeout)
        .build(),
    }
    .map_err(|e| e.to_string())?;
    Ok(OnRuntime {
        inner: Arc::new(exporter),
        reported: Arc::new(AtomicBool::new(false)),
        handle: rt.handle().clone(),
        // Both bound one export: the OTLP request timeout and the batch processor's.
        timeout: env.otlp_timeout.min(env.bsp_export_timeout),
    })
}

/// The OTLP metric exporter configured by `env`, adding `traced`'s exemplars to
/// the data points it sends (see `otlp_metrics.rs`). Endpoint, headers and the
/// temporality preference come from the standard variables.
pub(crate) fn otlp_metrics(
    env: &Env,
) -> Result<MetricsOnRuntime<super::otlp_metrics::OtlpMetricExporter>, String> {
    let rt = runtime()?;
    let _enter = rt.enter();
    let exporter = super::otlp_metrics::exporter(env)?;
    Ok(MetricsOnRuntime {
        inner: exporter,
        reported: AtomicBool::new(false),
        handle: rt.handle().clone(),
        timeout: env.metrics_otlp_timeout.min(env.metric_export_timeout),
    })
}

/// Runs a metric exporter's exports on the export runtime. The periodic reader
/// calls it from its own thread, which blocks on the export, bounded by `timeout`.
#[derive(Debug)]
pub(crate) struct MetricsOnRuntime<E> {
    inner: E,
    reported: AtomicBool,
    handle: Handle,
    timeout: Duration,
}

impl<E: PushMetricExporter> PushMetricExporter for MetricsOnRuntime<E> {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let result = if Handle::try_current().is_ok() {
            // Already on a runtime thread (never the case for the periodic reader):
            // blocking here would panic, so report instead.
            Err(OTelSdkError::InternalFailure(
                "metric export called from inside a Tokio runtime".to_owned(),
            ))
        } else {
            self.handle.block_on(async {
                match tokio::time::timeout(self.timeout, self.inner.export(metrics)).await {
                    Ok(result) => result,
                    Err(_) => Err(OTelSdkError::Timeout(self.timeout)),
                }
            })
        };
        report_once(&self.reported, "metric", &result);
        std::future::ready(result)
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

/// Says on stderr that exports fail, once per exporter: the data of a failed
/// export is dropped (and the SDK counts it), the program goes on.
fn report_once(reported: &AtomicBool, signal: &str, result: &OTelSdkResult) {
    if let Err(e) = result {
        if !reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "traced: OTLP {signal} export failed: {e} (the data is dropped; later failures are not printed)"
            );
        }
    }
}

/// Runs another exporter's futures on the export runtime.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: Arc<E>,
    reported: Arc<AtomicBool>,
    handle: Handle,
    timeout: Duration,
}

impl<E: SpanExporter + 'static> SpanExporter for OnRuntime<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let inner = Arc::clone(&self.inner);
        let reported = Arc::clone(&self.reported);
        let timeout = self.timeout;
        let task = self.handle.spawn(async move {
            match tokio::time::timeout(timeout, inner.export(batch)).await {
                Ok(result) => result,
                Err(_) => Err(OTelSdkError::Timeout(timeout)),
            }
        });
        async move {
            let result = task
                .await
                .unwrap_or_else(|e| Err(OTelSdkError::InternalFailure(e.to_string())));
            report_once(&reported, "span", &result);
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
