//! OTLP/gRPC export of spans and log records through the generated
//! `TraceServiceClient` and `LogsServiceClient`, on the channel of
//! [`grpc_channel`](super::otlp::grpc_channel) (TLS included), with the
//! resolved headers as metadata and the resolved compression: built from the
//! settings alone (the tonic exporters of `opentelemetry-otlp` read
//! `OTEL_EXPORTER_OTLP_*_COMPRESSION` from the process environment when no
//! compression is set in code, and "none" cannot be set).
//!
//! [`GrpcClient`] (its [`GrpcTarget::call`]) is what all three gRPC exporters share (the metric one is in
//! `otlp_metrics.rs`): through the retry queue of `delivery.rs` when the exporter
//! has one (every exporter `init` builds), else retried in place.

use super::delivery::{Attempt, Delivery};
use crate::settings::{Compression, OtlpTarget};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

/// What every gRPC exporter keeps of its target.
pub(crate) struct GrpcTarget {
    pub(crate) endpoint: String,
    pub(crate) metadata: MetadataMap,
    pub(crate) timeout: Duration,
    pub(crate) compression: Option<CompressionEncoding>,
    shut_down: AtomicBool,
    /// The retry queue requests go through (none: retried in place).
    delivery: Option<Arc<Delivery>>,
}

impl GrpcTarget {
    /// `target` checked, and its channel (connected at the first export);
    /// requests go through `delivery` when there is one.
    pub(crate) fn new(
        target: &OtlpTarget,
        delivery: Option<Arc<Delivery>>,
    ) -> Result<(Self, Channel), String> {
        target.check()?;
        let channel = super::otlp::grpc_channel(target)?;
        Ok((
            GrpcTarget {
                endpoint: target.endpoint.clone(),
                metadata: MetadataMap::from_headers(super::otlp::header_map(&target.headers)),
                timeout: target.timeout,
                compression: match target.compression {
                    Compression::Gzip => Some(CompressionEncoding::Gzip),
                    Compression::None => None,
                },
                shut_down: AtomicBool::new(false),
                delivery,
            },
            channel,
        ))
    }

    /// Sends `message` with `export` (a client's export call, given the request
    /// with the metadata and what is left of the timeout). With a retry queue
    /// it is queued and this answers at once; without, it is retried as
    /// `opentelemetry-otlp`'s recommended policy does: up to 3 times, with
    /// exponential backoff from 100 ms to 1.6 s, all within the timeout.
    pub(crate) async fn call<M, F, Fut>(&self, message: M, export: F) -> OTelSdkResult
    where
        M: prost::Message + Clone + Send + Sync + 'static,
        F: Fn(tonic::Request<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), tonic::Status>> + Send + 'static,
    {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let metadata = self.metadata.clone();
        let request = move |message: M, left: Duration| {
            let mut request = tonic::Request::new(message);
            *request.metadata_mut() = metadata.clone();
            request.set_timeout(left.max(Duration::from_millis(1)));
            request
        };
        if let Some(delivery) = &self.delivery {
            let timeout = delivery.timeout();
            let bytes = message.encoded_len();
            let target = format!("gRPC export to {}", self.endpoint);
            let attempt: Attempt = Box::new(move || {
                let call = export(request(message.clone(), timeout));
                let target = target.clone();
                Box::pin(async move {
                    let result = match tokio::time::timeout(timeout, call).await {
                        Ok(result) => result,
                        Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                            "no answer within {timeout:?}"
                        ))),
                    };
                    super::delivery::grpc_outcome(&target, result)
                })
            });
            return delivery
                .submit_attempt(bytes, attempt)
                .map_err(OTelSdkError::InternalFailure);
        }
        let attempt = |left: Duration| export(request(message.clone(), left));
        let start = Instant::now();
        let mut delay = Duration::from_millis(100);
        let mut retries = 0;
        loop {
            let left = self.timeout.saturating_sub(start.elapsed());
            let status = match attempt(left).await {
                Ok(()) => return Ok(()),
                Err(status) => status,
            };
            let asked = retry_delay(&status);
            let wait = delay.max(asked.unwrap_or_default());
            let left = self.timeout.saturating_sub(start.elapsed());
            if retries == 3 || !retryable(&status, asked.is_some()) || wait >= left {
                return Err(OTelSdkError::InternalFailure(format!(
                    "OTLP/gRPC export to {} failed: {}",
                    self.endpoint,
                    describe(&status, asked)
                )));
            }
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(Duration::from_millis(1600));
            retries += 1;
        }
    }

    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            Err(OTelSdkError::AlreadyShutdown)
        } else {
            Ok(())
        }
    }
}

/// Whether an export that failed with `status` may succeed if tried again: the
/// OTLP specification's list of codes, `RESOURCE_EXHAUSTED` only when the
/// server sent a `google.rpc.RetryInfo` (`retry_info`: it can recover from the
/// exhaustion; without one the code is final); and any failure of the
/// connection itself, whatever code tonic gives it (a connection the server
/// closes in the middle of a call is `UNKNOWN: transport error`): the server
/// said nothing, as with OTLP/HTTP's connection errors.
pub(crate) fn retryable(status: &tonic::Status, retry_info: bool) -> bool {
    let by_code = match status.code() {
        tonic::Code::Unavailable
        | tonic::Code::Cancelled
        | tonic::Code::DeadlineExceeded
        | tonic::Code::Aborted
        | tonic::Code::OutOfRange
        | tonic::Code::DataLoss => true,
        tonic::Code::ResourceExhausted => retry_info,
        _ => false,
    };
    by_code || from_transport(status)
}

/// Whether `status` is tonic's account of a transport failure rather than an
/// answer of the server (a status the server sent has no source error).
fn from_transport(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some()
}

/// The delay of the `google.rpc.RetryInfo` in `status`'s details (the
/// `grpc-status-details-bin` trailer, a serialized `google.rpc.Status`), if the
/// server sent one: how long to wait before trying again (OTLP/gRPC
/// throttling). A `RetryInfo` without a delay counts as a zero delay.
pub(crate) fn retry_delay(status: &tonic::Status) -> Option<Duration> {
    use tonic_types::StatusExt;
    if status.details().is_empty() {
        return None;
    }
    status
        .get_details_retry_info()
        .map(|info| info.retry_delay.unwrap_or_default())
}

/// The canonical name of a gRPC status code, as the gRPC and OTLP
/// specifications write it.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A failed call for a person: the code's canonical name, the server's message,
/// the transport's causes and the delay the server asked for, e.g.
/// `RESOURCE_EXHAUSTED: "over quota" (the server asks to retry in 1.5s)`.
pub(crate) fn describe(status: &tonic::Status, retry_delay: Option<Duration>) -> String {
    let mut text = code_name(status.code()).to_owned();
    let causes = std::error::Error::source(status).map(super::health::chain);
    let message = status.message();
    // tonic's message of a transport failure is where its causes start.
    if !message.is_empty() && !causes.as_ref().is_some_and(|c| c.starts_with(message)) {
        text.push_str(&format!(": {message:?}"));
    }
    if let Some(causes) = causes {
        text.push_str(": ");
        text.push_str(&causes);
    }
    if let Some(delay) = retry_delay {
        text.push_str(&format!(" (the server asks to retry in {delay:?})"));
    }
    text
}

/// A generated OTLP service client, as the exporters call it: connected to a
/// channel, compressed or not, and its one `Export` call.
pub(crate) trait OtlpService: Clone + Send + Sync + 'static {
    /// The service's `Export*ServiceRequest`.
    type Request: prost::Message + Clone + Send + Sync + 'static;
    fn connect(channel: Channel) -> Self;
    fn compressed(self, encoding: CompressionEncoding) -> Self;
    fn send(
        self,
        request: tonic::Request<Self::Request>,
    ) -> impl Future<Output = Result<(), tonic::Status>> + Send;
}

macro_rules! otlp_service {
    ($client:ident, $request:ty) => {
        impl OtlpService for $client<Channel> {
            type Request = $request;
            fn connect(channel: Channel) -> Self {
                $client::new(channel)
            }
            fn compressed(self, encoding: CompressionEncoding) -> Self {
                self.send_compressed(encoding)
            }
            fn send(
                mut self,
                request: tonic::Request<$request>,
            ) -> impl Future<Output = Result<(), tonic::Status>> + Send {
                async move { self.export(request).await.map(|_| ()) }
            }
        }
    };
}

otlp_service!(TraceServiceClient, ExportTraceServiceRequest);
otlp_service!(LogsServiceClient, ExportLogsServiceRequest);
otlp_service!(MetricsServiceClient, ExportMetricsServiceRequest);

/// What each gRPC exporter holds: its service's client on the target's
/// channel, and the target it sends through.
pub(crate) struct GrpcClient<S> {
    client: S,
    pub(crate) target: GrpcTarget,
}

impl<S: OtlpService> GrpcClient<S> {
    /// A client of `target` (checked), compressed as it says; requests go
    /// through `delivery` when there is one.
    pub(crate) fn new(
        target: &OtlpTarget,
        delivery: Option<Arc<Delivery>>,
    ) -> Result<Self, String> {
        let (target, channel) = GrpcTarget::new(target, delivery)?;
        let mut client = S::connect(channel);
        if let Some(encoding) = target.compression {
            client = client.compressed(encoding);
        }
        Ok(GrpcClient { client, target })
    }

    /// Sends `message` ([`GrpcTarget::call`]).
    pub(crate) async fn send(&self, message: S::Request) -> OTelSdkResult {
        let client = self.client.clone();
        self.target
            .call(message, move |request| client.clone().send(request))
            .await
    }

    pub(crate) fn shutdown(&self) -> OTelSdkResult {
        self.target.shutdown()
    }
}

/// OTLP/gRPC span export.
pub(crate) struct GrpcSpanExporter {
    grpc: GrpcClient<TraceServiceClient<Channel>>,
    resource: ResourceAttributesWithSchema,
}

impl fmt::Debug for GrpcSpanExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrpcSpanExporter({})", self.grpc.target.endpoint)
    }
}

impl GrpcSpanExporter {
    pub(crate) fn new(
        target: &OtlpTarget,
        delivery: Option<Arc<Delivery>>,
    ) -> Result<Self, String> {
        Ok(GrpcSpanExporter {
            grpc: GrpcClient::new(target, delivery)?,
            resource: ResourceAttributesWithSchema::default(),
        })
    }
}

impl opentelemetry_sdk::trace::SpanExporter for GrpcSpanExporter {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
        self.grpc
            .send(ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
            })
            .await
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.grpc.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// OTLP/gRPC log export.
pub(crate) struct GrpcLogExporter {
    grpc: GrpcClient<LogsServiceClient<Channel>>,
    resource: ResourceAttributesWithSchema,
}

impl fmt::Debug for GrpcLogExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrpcLogExporter({})", self.grpc.target.endpoint)
    }
}

impl GrpcLogExporter {
    pub(crate) fn new(
        target: &OtlpTarget,
        delivery: Option<Arc<Delivery>>,
    ) -> Result<Self, String> {
        Ok(GrpcLogExporter {
            grpc: GrpcClient::new(target, delivery)?,
            resource: ResourceAttributesWithSchema::default(),
        })
    }
}

impl opentelemetry_sdk::logs::LogExporter for GrpcLogExporter {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
        self.grpc
            .send(ExportLogsServiceRequest {
                resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
            })
            .await
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.grpc.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// The OTLP span exporter of either transport.
#[derive(Debug)]
pub(crate) enum OtlpSpanExporter {
    Http(opentelemetry_otlp::SpanExporter),
    Grpc(GrpcSpanExporter),
}

impl opentelemetry_sdk::trace::SpanExporter for OtlpSpanExporter {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        match self {
            OtlpSpanExporter::Http(e) => e.export(batch).await,
            OtlpSpanExporter::Grpc(e) => e.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            OtlpSpanExporter::Http(e) => e.shutdown_with_timeout(timeout),
            OtlpSpanExporter::Grpc(e) => e.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self {
            OtlpSpanExporter::Http(e) => e.force_flush(),
            OtlpSpanExporter::Grpc(e) => e.force_flush(),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            OtlpSpanExporter::Http(e) => e.set_resource(resource),
            OtlpSpanExporter::Grpc(e) => e.set_resource(resource),
        }
    }
}

/// The OTLP log exporter of either transport.
#[derive(Debug)]
pub(crate) enum OtlpLogExporter {
    Http(opentelemetry_otlp::LogExporter),
    Grpc(GrpcLogExporter),
}

impl opentelemetry_sdk::logs::LogExporter for OtlpLogExporter {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        match self {
            OtlpLogExporter::Http(e) => e.export(batch).await,
            OtlpLogExporter::Grpc(e) => e.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            OtlpLogExporter::Http(e) => e.shutdown_with_timeout(timeout),
            OtlpLogExporter::Grpc(e) => e.shutdown_with_timeout(timeout),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            OtlpLogExporter::Http(e) => e.set_resource(resource),
            OtlpLogExporter::Grpc(e) => e.set_resource(resource),
        }
    }
}
