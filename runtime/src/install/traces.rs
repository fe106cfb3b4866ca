//! The tracer provider: sampler, span metrics and span logs, the processors
//! added in code, then the exporters, each behind [`Exporting`].

use crate::builder::{Builder, TracesExporter};
use crate::process::exporting::{Exporting, Inner, Redacting};
use crate::process::filter::{FilterMarker, FilterRelease};
use crate::process::{Redaction, SpanFilter};
use crate::settings::{SamplerChoice, Settings};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SimpleSpanProcessor,
    SpanExporter, SpanProcessor, TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

/// A span processor or exporter added in code, built at install time.
pub(crate) type SpanStep =
    Box<dyn FnOnce(TracerProviderBuilder, &Settings, &Shaping) -> TracerProviderBuilder>;

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
    Box::new(move |b, _, _| b.with_span_processor(processor))
}

pub(crate) fn batch_step(exporter: impl SpanExporter + 'static) -> SpanStep {
    Box::new(move |b, settings, shaping| b.with_span_processor(shaping.batch(exporter, settings)))
}

pub(crate) fn simple_step(exporter: impl SpanExporter + 'static) -> SpanStep {
    Box::new(move |b, _, shaping| b.with_span_processor(shaping.simple(exporter)))
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

pub(crate) fn provider(
    builder: &mut Builder,
    settings: &Settings,
    resource: Resource,
    exporters: Vec<TracesExporter>,
    meter_provider: &SdkMeterProvider,
    logger_provider: &SdkLoggerProvider,
    trace_logs: Option<crate::export::console_logs::TraceLogs>,
) -> (SdkTracerProvider, Option<Sampler>) {
    let mut b = SdkTracerProvider::builder().with_resource(resource);
    // First: every processor after it, span metrics included, sees which
    // spans the filter drops from their start.
    if let Some(filter) = &builder.filter {
        b = b.with_span_processor(FilterMarker(filter.clone()));
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
    b = match &builder.span_metrics {
        Some(config) => {
            let meter = opentelemetry::metrics::MeterProvider::meter_with_scope(
                meter_provider,
                opentelemetry::InstrumentationScope::builder("traced.spanmetrics")
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
            );
            b.with_sampler(crate::process::span_metrics::RecordAll(chosen))
                .with_span_processor(config.processor(
                    &meter,
                    builder.filter.clone().filter(SpanFilter::metrics_too),
                ))
        }
        None => b.with_sampler(chosen),
    };
    if builder.span_logs {
        use opentelemetry::logs::LoggerProvider as _;
        b = b.with_span_processor(crate::process::span_logs::SpanLogs {
            logger: logger_provider.logger("traced.spanlogs"),
        });
    }
    crate::process::redact::set_current(builder.redaction.clone());
    let release = builder.filter.clone().map(FilterRelease);
    let shaping = Shaping {
        filter: builder.filter.take(),
        redaction: builder.redaction.take(),
    };
    for step in builder.steps.drain(..) {
        b = step(b, settings, &shaping);
    }
    for exporter in exporters {
        b = match exporter {
            TracesExporter::Console => {
                let mut console = crate::export::console::ConsoleExporter::new();
                if let Some(logs) = &trace_logs {
                    console = console.with_logs(logs.clone());
                }
                // Printed when complete, not at the batch interval.
                b.with_span_processor(shaping.wrap(
                    crate::export::console::ConsoleSpanProcessor::new(console),
                    true,
                ))
            }
            TracesExporter::Otlp => match crate::export::otlp(settings) {
                Ok(exporter) => b.with_span_processor(shaping.batch(exporter, settings)),
                Err(reason) => {
                    eprintln!("traced: OTLP span export is off: {reason}");
                    b
                }
            },
            // Written on the batch worker, never on the application's threads.
            TracesExporter::OtlpFile => match crate::export::otlp_file_spans(settings) {
                Ok(exporter) => b.with_span_processor(shaping.batch(exporter, settings)),
                Err(reason) => {
                    eprintln!("traced: OTLP file span export is off: {reason}");
                    b
                }
            },
        };
    }
    // Last: the marks of spans that end are forgotten once all asked.
    if let Some(release) = release {
        b = b.with_span_processor(release);
    }
    (b.build(), silent)
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
