//! Keeps unsampled spans from exporters.

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::time::Duration;

/// Passes only sampled spans on to `inner`.
///
/// The SDK's batch processor exports every span that ended while recording,
/// including the record-only ones that span metrics count but the sampler did
/// not keep; `init` puts this in front of every exporting processor.
#[derive(Debug)]
pub(crate) struct SampledOnly<P>(pub(crate) P);

impl<P: SpanProcessor> SpanProcessor for SampledOnly<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.0.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
