//! OTLP export, built from the resolved settings alone: over HTTP/protobuf
//! through `opentelemetry-otlp`'s exporters and the client here, over gRPC
//! through `otlp_grpc.rs` and `otlp_metrics.rs`; on the export runtime
//! (`on_runtime.rs`), with failures reported by `health.rs`.
//!
//! Every export runs on the crate's export runtime (see `runtime.rs`). The batch
//! processor's thread only waits for the result, bounded by the export timeout:
//! the application's own threads never block on the network.

use super::delivery::Delivery;
use super::health::Health;
use super::on_runtime::OnRuntime;
use super::otlp_grpc::{GrpcSpanExporter, OtlpSpanExporter};
use super::runtime::runtime;
use crate::choices::Protocol;
use crate::settings::{Compression, OtlpTarget, Settings};
use opentelemetry_http::{Bytes, Request};
use opentelemetry_otlp::WithExportConfig;
use std::sync::Arc;

/// The process-environment variables `opentelemetry-otlp` reads headers from
/// on its own, whatever it is given: their header names are removed from every
/// request (see [`ExactHeaders`]), so that only the resolved settings apply.
fn env_header_names(signal: &str) -> Vec<http::HeaderName> {
    std::env::var(format!("OTEL_EXPORTER_OTLP_{signal}_HEADERS"))
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_HEADERS"))
        .map(|text| {
            crate::settings::key_value_list(&text)
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

/// A request as it leaves: what the exporter built, before delivery (the
/// metric exporter adds its exemplars here).
pub(crate) type Prepare = fn(Request<Bytes>) -> Request<Bytes>;

/// The HTTP client behind `opentelemetry-otlp`'s HTTP exporters. Every request
/// leaves with exactly the resolved headers (the exporter adds those of the
/// process environment's `OTEL_EXPORTER_OTLP_(<SIGNAL>_)HEADERS` even when the
/// settings say otherwise, as with `Builder::ignore_env` or a pipeline file:
/// those names are removed, then the configured headers set), is
/// gzip-compressed when the settings say so (after `prepare`, which reads the
/// plain body), and is handed to the signal's [`Delivery`], which retries it
/// across an outage.
#[derive(Debug)]
pub(crate) struct ExactHeaders {
    delivery: Arc<Delivery>,
    prepare: Prepare,
    strip: Vec<http::HeaderName>,
    headers: http::HeaderMap,
    compression: Compression,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExactHeaders {
    async fn send_bytes(
        &self,
        mut request: Request<Bytes>,
    ) -> Result<opentelemetry_http::Response<Bytes>, opentelemetry_http::HttpError> {
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
        let request = (self.prepare)(request);
        let request = match self.compression {
            Compression::Gzip => gzip(request)?,
            Compression::None => request,
        };
        self.delivery.submit(request).map_err(Into::into)
    }
}

/// `request` with its body gzip-compressed and `Content-Encoding: gzip`,
/// unless it already has a content encoding.
fn gzip(request: Request<Bytes>) -> Result<Request<Bytes>, opentelemetry_http::HttpError> {
    use std::io::Write;
    if request
        .headers()
        .contains_key(http::header::CONTENT_ENCODING)
    {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::default(),
    );
    encoder.write_all(&body)?;
    let body = encoder.finish()?;
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts.headers.insert(
        http::header::CONTENT_ENCODING,
        http::HeaderValue::from_static("gzip"),
    );
    Ok(Request::from_parts(parts, Bytes::from(body)))
}

/// The HTTP client of an HTTP exporter, bounded by the export timeout: for an
/// `https` endpoint hyper over rustls with the target's TLS files (see
/// `tls.rs`), else reqwest.
fn http_client(target: &OtlpTarget) -> Result<Box<dyn opentelemetry_http::HttpClient>, String> {
    #[cfg(feature = "tls")]
    if target.is_https() {
        return super::tls::https_client(target);
    }
    let client = reqwest::Client::builder()
        .timeout(target.timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(Box::new(client))
}

/// The gRPC channel to `target`'s endpoint, over TLS (with the target's TLS
/// files) when it is `https`; it connects at the first export.
pub(crate) fn grpc_channel(target: &OtlpTarget) -> Result<tonic::transport::Channel, String> {
    let (var, endpoint) = (target.endpoint_from.as_str(), target.endpoint.as_str());
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .and_then(|e| e.user_agent(concat!("traced/", env!("CARGO_PKG_VERSION"))))
        .map_err(|e| format!("{var}: invalid endpoint {endpoint:?}: {e}"))?
        .timeout(target.timeout)
        .connect_timeout(target.timeout);
    #[cfg(feature = "tls")]
    let channel = if target.is_https() {
        channel
            .tls_config(super::tls::tonic_config(target)?)
            .map_err(|e| {
                format!(
                    "{var}={endpoint:?}: cannot set up TLS: {}",
                    super::health::chain(&e)
                )
            })?
    } else {
        channel
    };
    Ok(channel.connect_lazy())
}

/// An HTTP exporter builder set up from `target` alone, delivering through a
/// retry queue (`settings`' retry bounds) that reports to `health`.
pub(crate) fn http_builder<B>(
    builder: B,
    signal: &str,
    settings: &Settings,
    target: &OtlpTarget,
    health: &Arc<Health>,
    prepare: Prepare,
) -> Result<B, String>
where
    B: WithExportConfig + opentelemetry_otlp::WithHttpConfig,
{
    target.check()?;
    let delivery = Delivery::start(
        Some(http_client(target)?),
        target.timeout,
        settings.export_retry,
        Arc::clone(health),
        runtime()?.handle(),
    );
    Ok(builder
        .with_endpoint(target.endpoint.clone())
        .with_timeout(target.timeout)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(ExactHeaders {
            delivery,
            prepare,
            strip: env_header_names(signal),
            headers: header_map(&target.headers),
            compression: target.compression,
        }))
}

/// The retry queue of a gRPC exporter (`settings`' retry bounds), reporting to
/// `health`.
pub(crate) fn grpc_delivery(
    settings: &Settings,
    target: &OtlpTarget,
    health: &Arc<Health>,
) -> Result<Arc<Delivery>, String> {
    Ok(Delivery::start(
        None,
        target.timeout,
        settings.export_retry,
        Arc::clone(health),
        runtime()?.handle(),
    ))
}

/// Sends a request as the exporter built it.
pub(crate) fn as_built(request: Request<Bytes>) -> Request<Bytes> {
    request
}

/// The OTLP span exporter `settings` describe (built from their values alone).
pub(crate) fn otlp(settings: &Settings) -> Result<OnRuntime<OtlpSpanExporter>, String> {
    let rt = runtime()?;
    let _enter = rt.enter();
    let target = &settings.traces.otlp;
    let health = Arc::new(health("traces", target));
    let exporter = match target.protocol {
        Protocol::Grpc => OtlpSpanExporter::Grpc(GrpcSpanExporter::new(
            target,
            Some(grpc_delivery(settings, target, &health)?),
        )?),
        Protocol::HttpProtobuf => OtlpSpanExporter::Http(
            http_builder(
                opentelemetry_otlp::SpanExporter::builder().with_http(),
                "TRACES",
                settings,
                target,
                &health,
                as_built,
            )?
            .build()
            .map_err(|e| e.to_string())?,
        ),
    };
    // Both bound one export: the OTLP request timeout and the batch processor's.
    let timeout = target.timeout.min(settings.traces.batch.export_timeout);
    Ok(OnRuntime::new(
        exporter,
        rt.handle().clone(),
        timeout,
        // Its delivery reports (the exporter itself answers at once).
        None,
    ))
}

/// The OTLP metric exporter `settings` describe, adding `traced`'s exemplars to
/// the data points it sends (see `otlp_metrics.rs`).
pub(crate) fn otlp_metrics(
    settings: &Settings,
) -> Result<OnRuntime<super::otlp_metrics::OtlpMetricExporter>, String> {
    let rt = runtime()?;
    let _enter = rt.enter();
    let target = &settings.metrics.otlp;
    let health = Arc::new(health("metrics", target));
    let exporter = super::otlp_metrics::exporter(settings, &health)?;
    Ok(OnRuntime::new(
        exporter,
        rt.handle().clone(),
        target.timeout.min(settings.metrics.export_timeout),
        None,
    ))
}

/// The health of one signal's exporter. Over gRPC with TLS and no client
/// certificate, a server that requires one closes the connection after the
/// handshake, and the gRPC error only says so: the line then says what may be
/// missing.
pub(crate) fn health(signal: &'static str, target: &OtlpTarget) -> Health {
    let hint =
        (target.protocol == Protocol::Grpc && target.is_https() && target.client_key.is_none())
            .then(|| {
                "over TLS with no client certificate: if the collector requires one (mutual TLS), \
             set OTEL_EXPORTER_OTLP_CLIENT_KEY and OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
                    .to_owned()
            });
    Health::new(signal, &target.endpoint).with_hint(hint)
}
