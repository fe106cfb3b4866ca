//! Copies chosen baggage entries onto spans.

use opentelemetry::Key;

/// Sets, on every span that starts, the baggage entries named in its allow-list
/// as span attributes (same key, string value). Only listed keys are copied:
/// baggage comes from callers, so it is untrusted and may be large.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::process::BaggageSpanProcessor;
/// let _telemetry = traced::Builder::new()
///     .span_processor(BaggageSpanProcessor::new(["tenant.id", "session.id"]))
///     .init();
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub struct BaggageSpanProcessor {
    keys: Vec<Key>,
}

impl BaggageSpanProcessor {
    /// Copies the entries whose keys are in `keys`.
    pub fn new<K: Into<Key>>(keys: impl IntoIterator<Item = K>) -> Self {
        BaggageSpanProcessor {
            keys: keys.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(feature = "enabled")]
mod processor {
    use super::BaggageSpanProcessor;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::Span as _;
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
    use std::time::Duration;

    impl SpanProcessor for BaggageSpanProcessor {
        fn on_start(&self, span: &mut Span, cx: &Context) {
            let baggage = cx.baggage();
            if baggage.is_empty() {
                return;
            }
            for key in &self.keys {
                if let Some(value) = baggage.get(key.as_str()) {
                    span.set_attribute(KeyValue::new(key.clone(), value.clone()));
                }
            }
        }

        fn on_end(&self, _span: SpanData) {}

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }
}
