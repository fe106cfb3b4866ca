//! OTLP export (gRPC or HTTP/protobuf) through `opentelemetry-otlp`.
//!
//! Every export runs on the crate's export runtime (see `runtime.rs`). The batch
//! processor's thread only waits for the result, bounded by the export timeout:
//! the application's own threads never block on the network.

use super::runtime::runtime;
use crate::config::{Env, OtlpTarget, Protocol};
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

/// The process-environment variables `opentelemetry-otlp` reads headers from
/// on its own, whatever it is given: their header names are removed from every
/// request (see [`ExactHeaders`]), so that only the resolved settings apply.
fn env_header_names(signal: &str) -> Vec<http::HeaderName> {
    std::env::var(format!("OTEL_EXPORTER_OTLP_{signal}_HEADERS"))
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_HEADERS"))
        .map(|text| {
            crate::config::key_value_list(&text)
                .filter_map(|(k, _)| http::HeaderName::from_bytes(k.as_bytes()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The configured headers as an `http::HeaderMap` (pairs that are not valid
/// headers are left out, as the specification allows).
pub(crate) fn header_map(headers: &[(String, String)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            map.append(k, v);
        }
    }
    map
}

/// The HTTP client behind `opentelemetry-otlp`'s HTTP exporters: every request
/// leaves with exactly the resolved headers. The exporter adds the headers of
/// the process environment's `OTEL_EXPORTER_OTLP_(<SIGNAL>_)HEADERS` even when
/// the settings say otherwise (`Builder::ignore_env`, a pipeline file); those
/// names are removed here, then the configured headers set.
#[derive(Debug)]
pub(crate) struct ExactHeaders<C> {
    inner: C,
    strip: Vec<http::HeaderName>,
    headers: http::HeaderMap,
}

impl<C> ExactHeaders<C> {
    pub(crate) fn new(inner: C, signal: &str, target: &OtlpTarget) -> Self {
        ExactHeaders {
            inner,
            strip: env_header_names(signal),
            headers: header_map(&target.headers),
        }
    }
}

#[async_trait::async_trait]
impl<C: opentelemetry_http::HttpClient> opentelemetry_http::HttpClient for ExactHeaders<C> {
    async fn send_bytes(
        &self,
        mut request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        let headers = request.headers_mut();
        for name in &self.strip {
            headers.remove(name);
        }
        for name in self.headers.keys() {
            headers.remove(name);
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        self.inner.send_bytes(request).await
    }
}

/// The reqwest client of the HTTP exporters, bounded by the export timeout.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// An HTTP exporter builder set up from `target` alone.
pub(crate) fn http_builder<B>(builder: B, signal: &str, target: &OtlpTarget) -> Result<B, String>
where
    B: WithExportConfig + opentelemetry_otlp::WithHttpConfig,
{
    target.check()?;
    Ok(builder
        .with_endpoint(target.endpoint.clone())
        .with_timeout(target.timeout)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(ExactHeaders::new(
            http_client(target.timeout)?,
            signal,
            target,
        )))
}

/// A gRPC exporter builder set up from `target` alone: the metadata of every
/// call is replaced by the configured headers (the exporter merges the process
/// environment's headers into it otherwise).
pub(crate) fn grpc_builder<B>(builder: B, target: &OtlpTarget) -> Result<B, String>
where
    B: WithExportConfig + opentelemetry_otlp::WithTonicConfig,
{
    target.check()?;
    let metadata = tonic::metadata::MetadataMap::from_headers(header_map(&target.headers));
    Ok(builder
        .with_endpoint(target.endpoint.clone())
        .with_timeout(target.timeout)
        .with_interceptor(move |mut request: tonic::Request<()>| {
            *request.metadata_mut() = metadata.clone();
            Ok(request)
        }))
}

/// The OTLP span exporter configured by `env` (endpoint and headers are read by
/// `opentelemetry-otlp` from the standard variables, or set in code).
pub(crate) fn otlp(env: &Env) -> Result<OnRuntime<opentelemetry_otlp::SpanExporter>, String> {
    let rt = runtime()?;
    let _enter = rt.enter();
    let target = &env.traces_otlp;
    let exporter = match env.protocol {
        Protocol::Grpc => grpc_builder(
            opentelemetry_otlp::SpanExporter::builder().with_tonic(),
            target,
        )?
        .build(),
        Protocol::HttpProtobuf => http_builder(
            opentelemetry_otlp::SpanExporter::builder().with_http(),
            "TRACES",
            target,
        )?
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
