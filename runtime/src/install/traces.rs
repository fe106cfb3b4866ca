//! The tracer provider: sampler, span metrics and span logs, the processors
//! added in code, then the exporters, each behind [`Exporting`].

use crate::builder::{Builder, TracesExporter};
use crate::process::exporting::{Exporting, Inner, Redacting};
use crate::process::filter::{FilterMarker, FilterRelease};
use crate::process::{Redaction, SpanFilter};
use crate::settings::{SamplerChoice, Settings};
use crate::tracer::spans::{Decide, Root};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SimpleSpanProcessor,
    SpanExporter, SpanProcessor,
};
use opentelemetry_sdk::Resource;

/// A span processor or exporter added in code, built at install time.
pub(crate) type SpanStep = Box<dyn FnOnce(&Settings, &Shaping) -> Step>;

/// One span processor of the pipeline, and what it needs of the span path.
pub(crate) struct Step {
    processor: Box<dyn SpanProcessor>,
    needs: Needs,
}

/// What a processor needs of the span path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// To see each span start (`on_start` on an SDK span): the SDK's spans.
    Start,
    /// Each span as it ends, on the thread that ends it.
    End,
    /// Ended spans in batches, later: spans may wait in per-thread buffers.
    Batches,
}

impl Step {
    fn new(processor: impl SpanProcessor + 'static, needs: Needs) -> Self {
        Step {
            processor: Box::new(processor),
            needs,
        }
    }
}

/// What happens to spans between the SDK and each exporting processor.
pub(crate) struct Shaping {
    filter: Option<SpanFilter>,
    redaction: Option<Redaction>,
}

impl Shaping {
    /// `processor` behind the filter and the redaction rules; `sampled_only`
    /// for exporters (see [`Exporting`]).
    fn wrap<P: Inner>(&self, processor: P, sampled_only: bool) -> Exporting<P> {
        Exporting {
            sampled_only,
            filter: self.filter.clone(),
            redaction: self.redaction.clone(),
            inner: processor,
        }
    }

    /// `exporter` behind a batch processor, sampled spans only, filtered on
    /// the calling thread and redacted on the batch worker.
    fn batch<E: SpanExporter + 'static>(
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
    fn simple<E: SpanExporter + 'static>(
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

/// The exporters `init` installs: those the settings name (in code, else
/// `OTEL_TRACES_EXPORTER`), else none when code added its own processors, else
/// OTLP when an endpoint is set, else the console.
pub(crate) fn exporters(builder: &Builder, settings: &Settings) -> Vec<TracesExporter> {
    match settings.traces.exporters.clone() {
        Some(named) => named,
        None if !builder.steps.is_empty() => Vec::new(),
        None if settings.traces.otlp.endpoint_set() => vec![TracesExporter::Otlp],
        None => vec![TracesExporter::Console],
    }
}

/// The tracer provider, whether nothing listens (then its sampler), and
/// `traced`'s own span path when no processor must see spans start.
pub(crate) fn provider(
    builder: &mut Builder,
    settings: &Settings,
    resource: Resource,
    exporters: Vec<TracesExporter>,
    meter_provider: &SdkMeterProvider,
    logger_provider: &SdkLoggerProvider,
    trace_logs: Option<crate::export::console_logs::TraceLogs>,
) -> (
    SdkTracerProvider,
    Option<Sampler>,
    Option<crate::tracer::spans::FastPath>,
) {
    let mut steps: Vec<Step> = Vec::new();
    // First: every processor after it, span metrics included, sees which
    // spans the filter drops from their start.
    if let Some(filter) = &builder.filter {
        steps.push(Step::new(FilterMarker(filter.clone()), Needs::Start));
    }
    crate::process::filter::set_current(builder.filter.clone());
    let chosen = sampler(settings.traces.sampler.clone());
    // No exporter, no processor added in code, no span metrics or span logs:
    // no span would ever be read, so `#[traced]` records none (the sampler
    // still decides the context they carry on).
    let nothing_listens = exporters.is_empty()
        && builder.steps.is_empty()
        && builder.span_metrics.is_none()
        && !builder.span_logs;
    let silent = nothing_listens.then(|| chosen.clone());
    let mut b = SdkTracerProvider::builder().with_resource(resource.clone());
    let inline = inline_form(&settings.traces.sampler);
    let decide = match &builder.span_metrics {
        Some(config) => {
            let meter = opentelemetry::metrics::MeterProvider::meter_with_scope(
                meter_provider,
                opentelemetry::InstrumentationScope::builder("traced.spanmetrics")
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
            );
            b = b.with_sampler(crate::process::span_metrics::RecordAll(chosen.clone()));
            steps.push(Step::new(
                config.processor(
                    &meter,
                    builder.filter.clone().filter(SpanFilter::metrics_too),
                ),
                Needs::End,
            ));
            match inline {
                Some((root, parent_based)) => Decide::Inline {
                    root,
                    parent_based,
                    record_all: true,
                },
                None => Decide::Sampler(Box::new(crate::process::span_metrics::RecordAll(chosen))),
            }
        }
        None => {
            b = b.with_sampler(chosen.clone());
            match inline {
                Some((root, parent_based)) => Decide::Inline {
                    root,
                    parent_based,
                    record_all: false,
                },
                None => Decide::Sampler(Box::new(chosen)),
            }
        }
    };
    if builder.span_logs {
        use opentelemetry::logs::LoggerProvider as _;
        steps.push(Step::new(
            crate::process::span_logs::SpanLogs {
                logger: logger_provider.logger("traced.spanlogs"),
            },
            Needs::End,
        ));
    }
    crate::redact::set_current(builder.redaction.clone());
    let release = builder.filter.clone().map(FilterRelease);
    let shaping = Shaping {
        filter: builder.filter.take(),
        redaction: builder.redaction.take(),
    };
    for step in builder.steps.drain(..) {
        steps.push(step(settings, &shaping));
    }
    for exporter in exporters {
        match exporter {
            TracesExporter::Console => {
                let mut console = crate::export::console::ConsoleExporter::new();
                if let Some(logs) = &trace_logs {
                    console = console.with_logs(logs.clone());
                }
                // Printed when complete, not at the batch interval.
                steps.push(Step::new(
                    shaping.wrap(
                        crate::export::console::ConsoleSpanProcessor::new(console),
                        true,
                    ),
                    Needs::Start,
                ));
            }
            TracesExporter::Otlp => match crate::export::otlp(settings) {
                Ok(exporter) => {
                    steps.push(Step::new(shaping.batch(exporter, settings), Needs::Batches))
                }
                Err(reason) => eprintln!("traced: OTLP span export is off: {reason}"),
            },
            // Written on the batch worker, never on the application's threads.
            TracesExporter::OtlpFile => match crate::export::otlp_file_spans(settings) {
                Ok(exporter) => {
                    steps.push(Step::new(shaping.batch(exporter, settings), Needs::Batches))
                }
                Err(reason) => eprintln!("traced: OTLP file span export is off: {reason}"),
            },
        }
    }
    // Last: the marks of spans that end are forgotten once all asked.
    if let Some(release) = release {
        steps.push(Step::new(release, Needs::End));
    }
    // `TRACED_SPAN_PATH=sdk` keeps the SDK's spans whatever the processors.
    let fast = !settings.traces.sdk_spans && steps.iter().all(|s| s.needs != Needs::Start);
    let buffered = fast && !steps.is_empty() && steps.iter().all(|s| s.needs == Needs::Batches);
    let processors = steps
        .into_iter()
        .map(|mut s| {
            s.processor.set_resource(&resource);
            s.processor
        })
        .collect();
    let pipeline = crate::tracer::spans::Pipeline::new(processors, buffered);
    let fast = fast.then(|| crate::tracer::spans::FastPath::new(pipeline.clone(), decide));
    b = b.with_span_processor(crate::tracer::spans::Shared(pipeline));
    (b.build(), silent, fast)
}

fn sampler(choice: SamplerChoice) -> Sampler {
    match choice {
        SamplerChoice::AlwaysOn => Sampler::AlwaysOn,
        SamplerChoice::AlwaysOff => Sampler::AlwaysOff,
        SamplerChoice::Ratio(r) => Sampler::TraceIdRatioBased(r),
        SamplerChoice::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerChoice::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerChoice::ParentBasedRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
        SamplerChoice::Code(sampler) => sampler.0.into_sdk(),
    }
}

/// The sampler `choice` as `traced`'s own span path decides it without asking
/// the SDK's sampler (the root decision, and whether it is parent-based), when
/// it is one of the specification's samplers.
fn inline_form(choice: &SamplerChoice) -> Option<(Root, bool)> {
    use crate::builder::SamplerKind as K;
    fn root_of(kind: &K) -> Option<Root> {
        match kind {
            K::AlwaysOn => Some(Root::AlwaysOn),
            K::AlwaysOff => Some(Root::AlwaysOff),
            K::Ratio(r) => Some(Root::ratio(*r)),
            K::Sdk(Sampler::AlwaysOn) => Some(Root::AlwaysOn),
            K::Sdk(Sampler::AlwaysOff) => Some(Root::AlwaysOff),
            K::Sdk(Sampler::TraceIdRatioBased(r)) => Some(Root::ratio(*r)),
            // An SDK `ParentBased` hides its root sampler: asked.
            K::ParentBased(_) | K::Sdk(_) => None,
        }
    }
    match choice {
        SamplerChoice::AlwaysOn => Some((Root::AlwaysOn, false)),
        SamplerChoice::AlwaysOff => Some((Root::AlwaysOff, false)),
        SamplerChoice::Ratio(r) => Some((Root::ratio(*r), false)),
        SamplerChoice::ParentBasedAlwaysOn => Some((Root::AlwaysOn, true)),
        SamplerChoice::ParentBasedAlwaysOff => Some((Root::AlwaysOff, true)),
        SamplerChoice::ParentBasedRatio(r) => Some((Root::ratio(*r), true)),
        SamplerChoice::Code(crate::builder::Sampler(K::ParentBased(root))) => {
            root_of(root).map(|root| (root, true))
        }
        SamplerChoice::Code(crate::builder::Sampler(kind)) => {
            root_of(kind).map(|root| (root, false))
        }
    }
}

fn batch(exporter: impl SpanExporter + 'static, settings: &Settings) -> BatchSpanProcessor {
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
