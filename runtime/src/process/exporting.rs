//! The one wrapper in front of every exporting span processor: it keeps
//! unsampled spans, filtered spans and secrets away from the exporter; and
//! [`Redacting`], the redaction of a batch on its way into an exporter (off the
//! calling thread behind a batch processor).

use super::{Redaction, SpanFilter};
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::future::Future;
use std::time::Duration;

/// Redacts each span of a batch, then hands the batch to `inner`. Behind the
/// SDK's batch processor this runs on its worker, so the threads that make
/// spans pay nothing for the rules (the secret-key rules are on by default).
#[derive(Debug)]
pub(crate) struct Redacting<E> {
    pub(crate) rules: Option<Redaction>,
    pub(crate) inner: E,
}

impl<E: SpanExporter> SpanExporter for Redacting<E> {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Some(rules) = &self.rules {
            for span in &mut batch {
                rules.redact_span(span);
            }
        }
        self.inner.export(batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Passes on to `inner`, in this order: only sampled spans (when
/// `sampled_only`: the SDK's batch processor would export the record-only spans
/// that span metrics count but the sampler did not keep), only the spans the
/// filter keeps (a dropped span is not worth redacting; see
/// [`SpanFilter`] for the subtree of a dropped span), redacted. Every span's
/// start is passed on; a span the filter drops at its end is announced with
/// [`Inner::dropped`] instead.
#[derive(Debug)]
pub(crate) struct Exporting<P> {
    pub(crate) sampled_only: bool,
    pub(crate) filter: Option<SpanFilter>,
    pub(crate) redaction: Option<Redaction>,
    pub(crate) inner: P,
}

/// An exporting processor behind [`Exporting`].
pub(crate) trait Inner: SpanProcessor {
    /// `span`, whose start this processor saw, ended and was filtered out.
    fn dropped(&self, _span: &SpanData) {}
}

impl<E: opentelemetry_sdk::trace::SpanExporter> Inner
    for opentelemetry_sdk::trace::SimpleSpanProcessor<E>
{
}

impl Inner for opentelemetry_sdk::trace::BatchSpanProcessor {}

impl<P: Inner> SpanProcessor for Exporting<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if self.sampled_only && !span.span_context.is_sampled() {
            return;
        }
        if self.filter.as_ref().is_some_and(|f| f.dropped(&span)) {
            self.inner.dropped(&span);
            return;
        }
        if let Some(rules) = &self.redaction {
            rules.redact_span(&mut span);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
