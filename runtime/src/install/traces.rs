//! The tracer provider: sampler, span metrics and span logs, the processors
//! added in code, then the exporters, each behind [`Exporting`].

use crate::builder::Builder;
use crate::choices::TracesExporter;
use crate::process::filter::{FilterMarker, FilterRelease};
use crate::process::SpanFilter;
use crate::settings::{SamplerChoice, Settings};
use crate::steps::traces::{Needs, Shaping, Step};
use crate::tracer::spans::{Decide, Root};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;

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
    let fast_sampler: Box<dyn opentelemetry_sdk::trace::ShouldSample> = match &builder.span_metrics
    {
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
            Box::new(crate::process::span_metrics::RecordAll(chosen))
        }
        None => {
            b = b.with_sampler(chosen.clone());
            Box::new(chosen)
        }
    };
    // The same sampler, decided without asking it when it is one of the
    // specification's (span metrics record what it drops: `RecordAll`).
    let decide = match inline_form(&settings.traces.sampler) {
        Some((root, parent_based)) => Decide::Inline {
            root,
            parent_based,
            record_all: builder.span_metrics.is_some(),
        },
        None => Decide::Sampler(fast_sampler),
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
    use crate::choices::SamplerKind as K;
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
        SamplerChoice::Code(crate::choices::Sampler(K::ParentBased(root))) => {
            root_of(root).map(|root| (root, true))
        }
        SamplerChoice::Code(crate::choices::Sampler(kind)) => {
            root_of(kind).map(|root| (root, false))
        }
    }
}
