//! The span processors and exporters added in code, as the `Builder` keeps
//! them until `init` builds each one (behind the filter and redaction, with
//! the batch settings) and says what it needs of the span path.

use crate::process::exporting::{Exporting, Inner, Redacting};
use crate::process::{Redaction, SpanFilter};
use crate::settings::Settings;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanProcessor,
};

/// A span processor or exporter added in code, built at install time.
pub(crate) type SpanStep = Box<dyn FnOnce(&Settings, &Shaping) -> Step>;

/// One span processor of the pipeline, and what it needs of the span path.
pub(crate) struct Step {
    pub(crate) processor: Box<dyn SpanProcessor>,
    pub(crate) needs: Needs,
}

/// What a processor needs of the span path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// To see each span start (`on_start` on an SDK span): the SDK's spans.
    Start,
    /// Each span as it ends, on the thread that ends it.
    End,
    /// Ended spans in batches, later: spans may wait in per-thread buffers.
    Batches,
}

impl Step {
    pub(crate) fn new(processor: impl SpanProcessor + 'static, needs: Needs) -> Self {
        Step {
            processor: Box::new(processor),
            needs,
        }
    }
}

/// What happens to spans between the SDK and each exporting processor.
pub(crate) struct Shaping {
    pub(crate) filter: Option<SpanFilter>,
    pub(crate) redaction: Option<Redaction>,
}

impl Shaping {
    /// `processor` behind the filter and the redaction rules; `sampled_only`
    /// for exporters (see [`Exporting`]).
    pub(crate) fn wrap<P: Inner>(&self, processor: P, sampled_only: bool) -> Exporting<P> {
        Exporting {
            sampled_only,
            filter: self.filter.clone(),
            redaction: self.redaction.clone(),
            inner: processor,
        }
    }

    /// `exporter` behind a batch processor, sampled spans only, filtered on
    /// the calling thread and redacted on the batch worker.
    pub(crate) fn batch<E: SpanExporter + 'static>(
        &self,
        exporter: E,
        settings: &Settings,
    ) -> Exporting<BatchSpanProcessor> {
        Exporting {
            sampled_only: true,
            filter: self.filter.clone(),
            redaction: None,
            inner: batch(
                Redacting {
                    rules: self.redaction.clone(),
                    inner: exporter,
                },
                settings,
            ),
        }
    }

    /// `exporter` called as each span ends (on the thread that ends it),
    /// filtered and redacted first.
    pub(crate) fn simple<E: SpanExporter + 'static>(
        &self,
        exporter: E,
    ) -> Exporting<SimpleSpanProcessor<Redacting<E>>> {
        Exporting {
            sampled_only: false,
            filter: self.filter.clone(),
            redaction: None,
            inner: SimpleSpanProcessor::new(Redacting {
                rules: self.redaction.clone(),
                inner: exporter,
            }),
        }
    }
}

pub(crate) fn processor_step(processor: impl SpanProcessor + 'static) -> SpanStep {
    Box::new(move |_, _| Step::new(processor, Needs::Start))
}

pub(crate) fn batch_step(exporter: impl SpanExporter + 'static) -> SpanStep {
    Box::new(move |settings, shaping| Step::new(shaping.batch(exporter, settings), Needs::Batches))
}

pub(crate) fn simple_step(exporter: impl SpanExporter + 'static) -> SpanStep {
    Box::new(move |_, shaping| Step::new(shaping.simple(exporter), Needs::End))
}

pub(crate) fn batch(
    exporter: impl SpanExporter + 'static,
    settings: &Settings,
) -> BatchSpanProcessor {
    let batch = &settings.traces.batch;
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(batch.schedule_delay)
                .with_max_queue_size(batch.max_queue_size)
                .with_max_export_batch_size(batch.max_export_batch_size)
                .build(),
        )
        .build()
}
