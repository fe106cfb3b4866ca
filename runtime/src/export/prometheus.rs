//! The Prometheus pull endpoint: `GET /metrics` collects the metrics at scrape
//! time and answers in the Prometheus text format, or in OpenMetrics (with
//! exemplars) when the scraper asks for it in `Accept`.
//!
//! `OTEL_METRICS_EXPORTER=prometheus` turns it on; it listens on
//! `OTEL_EXPORTER_PROMETHEUS_HOST` (default `localhost`) and
//! `OTEL_EXPORTER_PROMETHEUS_PORT` (default `9464`). The server runs on the
//! export runtime, never on the application's threads.

use super::prometheus_text::{self, ExemplarLookup, Format};
use crate::metrics::exemplars;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A `ManualReader` shared by the meter provider and the HTTP server.
#[derive(Debug, Clone)]
pub(crate) struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// The running endpoint; dropping it stops the server and frees the port.
#[derive(Debug)]
pub(crate) struct Endpoint {
    task: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
}

impl Endpoint {
    /// The address the server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `host:port` now (so that a taken port is reported by `init`) and serves
/// scrapes of `reader` on the export runtime.
pub(crate) fn start(host: &str, port: u16) -> Result<(SharedReader, Endpoint), String> {
    let rt = super::runtime::runtime()?;
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port} resolves to no address"))?;
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let reader = SharedReader(Arc::new(
        ManualReader::builder()
            .with_temporality(Temporality::Cumulative)
            .build(),
    ));
    let serving = reader.clone();
    let task = {
        let _enter = rt.enter();
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        rt.spawn(serve(listener, serving))
    };
    Ok((reader, Endpoint { task, addr }))
}

async fn serve(listener: tokio::net::TcpListener, reader: SharedReader) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let reader = reader.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let reader = reader.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&reader, &req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer<B>(reader: &SharedReader, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    let mut rm = ResourceMetrics::default();
    if let Err(e) = reader.collect(&mut rm) {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("metrics unavailable: {e}\n"),
        );
    }
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept);
    let body = prometheus_text::render(&rm, format, &Reservoirs);
    Response::builder()
        .header(hyper::header::CONTENT_TYPE, format.content_type())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response error\n"))
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Exemplars from the runtime's reservoirs.
struct Reservoirs;

fn convert(e: exemplars::Exemplar) -> prometheus_text::Exemplar {
    prometheus_text::Exemplar {
        value: e.value.as_f64(),
        time: e.time,
        trace_id: e.trace_id,
        span_id: e.span_id,
    }
}

impl ExemplarLookup for Reservoirs {
    fn series(&self, metric: &str, attributes: &[KeyValue]) -> Option<prometheus_text::Exemplar> {
        let slots = exemplars::lookup(metric)?.snapshot(attributes);
        slots.into_iter().next().flatten().map(convert)
    }

    fn buckets(
        &self,
        metric: &str,
        attributes: &[KeyValue],
    ) -> Vec<Option<prometheus_text::Exemplar>> {
        exemplars::lookup(metric)
            .map(|r| r.snapshot(attributes))
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.map(convert))
            .collect()
    }
}
