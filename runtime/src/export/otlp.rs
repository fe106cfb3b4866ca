//! OTLP export (gRPC or HTTP/protobuf) through `opentelemetry-otlp`, built from
//! the resolved settings alone, on the export runtime (`on_runtime.rs`), with
//! failures reported by `health.rs`.
//!
//! Every export runs on the crate's export runtime (see `runtime.rs`). The batch
//! processor's thread only waits for the result, bounded by the export timeout:
//! the application's own threads never block on the network.

use super::health::{chain, Health};
use super::on_runtime::OnRuntime;
use super::runtime::runtime;
use crate::config::{Env, OtlpTarget, Protocol};
use opentelemetry_otlp::WithExportConfig;
use std::sync::Arc;
use std::time::Duration;

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
    health: Arc<Health>,
    strip: Vec<http::HeaderName>,
    headers: http::HeaderMap,
}

impl<C> ExactHeaders<C> {
    pub(crate) fn new(inner: C, signal: &str, target: &OtlpTarget, health: &Arc<Health>) -> Self {
        ExactHeaders {
            inner,
            health: Arc::clone(health),
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
        let target = format!("{} {}", request.method(), request.uri());
        let result = self.inner.send_bytes(request).await;
        match &result {
            Err(e) => self.health.note(format!("{target}: {}", chain(&**e))),
            Ok(response) if !response.status().is_success() => {
                let body = String::from_utf8_lossy(response.body());
                let start: String = body
                    .chars()
                    .take(120)
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let start = start.trim();
                self.health.note(if start.is_empty() {
                    format!("{target}: HTTP {}", response.status())
                } else {
                    format!("{target}: HTTP {}: {start:?}", response.status())
                });
            }
            Ok(_) => {}
        }
        result
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
pub(crate) fn http_builder<B>(
    builder: B,
    signal: &str,
    target: &OtlpTarget,
    health: &Arc<Health>,
) -> Result<B, String>
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
            health,
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
    let health = Arc::new(Health::new("traces", &target.endpoint));
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
            &health,
        )?
        .build(),
    }
    .map_err(|e| e.to_string())?;
    // Both bound one export: the OTLP request timeout and the batch processor's.
    let timeout = env.otlp_timeout.min(env.bsp_export_timeout);
    Ok(OnRuntime::new(
        exporter,
        rt.handle().clone(),
        timeout,
        health,
    ))
}

/// The OTLP metric exporter configured by `env`, adding `traced`'s exemplars to
/// the data points it sends (see `otlp_metrics.rs`).
pub(crate) fn otlp_metrics(
    env: &Env,
) -> Result<OnRuntime<super::otlp_metrics::OtlpMetricExporter>, String> {
    let rt = runtime()?;
    let _enter = rt.enter();
    let health = Arc::new(Health::new("metrics", &env.metrics_otlp.endpoint));
    let exporter = super::otlp_metrics::exporter(env, &health)?;
    Ok(OnRuntime::new(
        exporter,
        rt.handle().clone(),
        env.metrics_otlp_timeout.min(env.metric_export_timeout),
        health,
    ))
}
