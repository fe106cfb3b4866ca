//! `init()`, the [`Builder`] and the [`Guard`] that flushes on drop.

use crate::config::{Env, LogsExporter, MetricsExporter, SamplerChoice, TracesExporter};
use crate::export::PrometheusEndpoint;
use crate::process::{Redaction, SpanFilter};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::logs::{LogExporter, LoggerProviderBuilder, SdkLoggerProvider};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanExporter,
    SpanProcessor, TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The default bound on how long dropping the [`Guard`] may take.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

type Step = Box<dyn FnOnce(TracerProviderBuilder, &Env, &Shaping) -> TracerProviderBuilder>;

/// What happens to spans between the SDK and each exporting processor.
#[derive(Default)]
struct Shaping {
    filter: Option<SpanFilter>,
    redaction: Option<Redaction>,
}
type MeterStep = Box<dyn FnOnce(MeterProviderBuilder, &Env) -> MeterProviderBuilder>;
type LogStep = Box<dyn FnOnce(LoggerProviderBuilder, &Env) -> LoggerProviderBuilder>;

/// Which `init` is the installed one, so that an old guard never uninstalls a newer setup.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Configures telemetry in code; whatever is not set comes from the `OTEL_*` environment.
///
/// ```no_run
/// use std::time::Duration;
///
/// let _telemetry = traced_runtime::Builder::new()
///     .service_name("checkout")
///     .service_version("1.4.2")
///     .shutdown_timeout(Duration::from_secs(2))
///     .init();
/// ```
#[must_use = "a Builder does nothing until `.init()`"]
pub struct Builder {
    service_name: Option<String>,
    service_version: Option<String>,
    resource: Vec<KeyValue>,
    exporters: Option<Vec<TracesExporter>>,
    steps: Vec<Step>,
    metrics_exporters: Option<Vec<MetricsExporter>>,
    meter_steps: Vec<MeterStep>,
    metric_interval: Option<Duration>,
    prometheus: Option<(String, u16)>,
    logs_exporters: Option<Vec<LogsExporter>>,
    log_steps: Vec<LogStep>,
    log_filter: Option<String>,
    exemplar_filter: Option<crate::metrics::exemplars::ExemplarFilter>,
    span_metrics: Option<crate::process::SpanMetrics>,
    redaction: Option<Redaction>,
    filter: Option<SpanFilter>,
    span_logs: bool,
    settings: std::collections::HashMap<String, String>,
    sampler: Option<Sampler>,
    shutdown_timeout: Duration,
    read_env: bool,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("resource", &self.resource)
            .field("exporters", &self.exporters)
            .field("processors", &self.steps.len())
            .field("metrics_exporters", &self.metrics_exporters)
            .field("metric_readers", &self.meter_steps.len())
            .field("metric_interval", &self.metric_interval)
            .field("logs_exporters", &self.logs_exporters)
            .field("log_processors", &self.log_steps.len())
            .field("log_filter", &self.log_filter)
            .field("sampler", &self.sampler)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder that takes everything from the environment.
    pub fn new() -> Self {
        Builder {
            service_name: None,
            service_version: None,
            resource: Vec::new(),
            exporters: None,
            steps: Vec::new(),
            metrics_exporters: None,
            meter_steps: Vec::new(),
            metric_interval: None,
            prometheus: None,
            logs_exporters: None,
            log_steps: Vec::new(),
            log_filter: None,
            exemplar_filter: None,
            span_metrics: None,
            redaction: None,
            filter: None,
            span_logs: false,
            settings: std::collections::HashMap::new(),
            sampler: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            read_env: true,
        }
    }

    /// `service.name`, used when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES`
    /// names the service (the environment wins, so operators can rename a deployment).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Adds a resource attribute (for example `deployment.environment.name`).
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.resource.push(attribute);
        self
    }

    /// Chooses the exporters in code, replacing `OTEL_TRACES_EXPORTER`.
    /// An empty list exports nothing but what processors added here export.
    pub fn traces_exporters(mut self, exporters: impl IntoIterator<Item = TracesExporter>) -> Self {
        self.exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Adds a span processor. When code adds processors or exporters, the console
    /// default no longer applies: only an explicit `OTEL_TRACES_EXPORTER` adds more.
    ///
    /// The processor sees spans as they are, before [`redact`](Self::redact) rules.
    pub fn span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.steps
            .push(Box::new(move |b: TracerProviderBuilder, _: &Env, _| {
                b.with_span_processor(processor)
            }));
        self
    }

    /// Adds an exporter behind a batch processor configured by `OTEL_BSP_*`.
    pub fn batch_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.steps.push(Box::new(
            move |b: TracerProviderBuilder, env: &Env, shaping: &Shaping| {
                exporting(b, batch(exporter, env), shaping)
            },
        ));
        self
    }

    /// Adds an exporter that receives each span synchronously when it ends.
    /// Meant for tests and debugging: it runs on the thread that ends the span.
    pub fn simple_exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.steps.push(Box::new(
            move |b: TracerProviderBuilder, _: &Env, shaping: &Shaping| {
                let processor = opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter);
                exporting(b, processor, shaping)
            },
        ));
        self
    }

    /// Turns span events and error statuses into log records correlated with their
    /// span, for programs that have no logging (see [`crate::process`]).
    pub fn span_logs(mut self, on: bool) -> Self {
        self.span_logs = on;
        self
    }

    /// Drops the spans `filter` names before any exporter sees them (see
    /// [`SpanFilter`]); applies where [`redact`](Self::redact) does.
    pub fn filter(mut self, filter: SpanFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Redacts spans before any exporter sees them (see [`Redaction`]); applies to
    /// the exporters `init` installs and those added with `batch_exporter` and
    /// `simple_exporter`.
    pub fn redact(mut self, rules: Redaction) -> Self {
        self.redaction = Some(rules);
        self
    }

    /// Chooses the metric exporters in code, replacing `OTEL_METRICS_EXPORTER`.
    pub fn metrics_exporters(
        mut self,
        exporters: impl IntoIterator<Item = MetricsExporter>,
    ) -> Self {
        self.metrics_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Adds a metric exporter behind a periodic reader (interval from
    /// [`metric_export_interval`](Self::metric_export_interval) or
    /// `OTEL_METRIC_EXPORT_INTERVAL`, 60 s by default). When code adds metric
    /// exporters, the console default no longer applies.
    pub fn metric_exporter(mut self, exporter: impl PushMetricExporter) -> Self {
        self.meter_steps
            .push(Box::new(move |b: MeterProviderBuilder, env: &Env| {
                b.with_reader(periodic(exporter, env))
            }));
        self
    }

    /// How often metrics are exported, replacing `OTEL_METRIC_EXPORT_INTERVAL`.
    /// A longer interval is how to lower metric volume.
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// Serves metrics for Prometheus on `host:port` (port 0 picks a free one; see
    /// [`Guard::prometheus_addr`]), replacing `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`.
    /// Adds the Prometheus exporter if the exporters do not name it.
    pub fn prometheus_endpoint(mut self, host: impl Into<String>, port: u16) -> Self {
        self.prometheus = Some((host.into(), port));
        self
    }

    /// Chooses the log exporters in code, replacing `OTEL_LOGS_EXPORTER`.
    pub fn logs_exporters(mut self, exporters: impl IntoIterator<Item = LogsExporter>) -> Self {
        self.logs_exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Adds a log exporter behind a batch processor configured by `OTEL_BLRP_*`.
    /// When code adds log exporters, the console default no longer applies.
    pub fn log_exporter(mut self, exporter: impl LogExporter + 'static) -> Self {
        self.log_steps
            .push(Box::new(move |b: LoggerProviderBuilder, env: &Env| {
                b.with_log_processor(batch_logs(exporter, env))
            }));
        self
    }

    /// Adds a log exporter that receives each record synchronously (tests, debugging).
    pub fn simple_log_exporter(mut self, exporter: impl LogExporter + 'static) -> Self {
        self.log_steps
            .push(Box::new(move |b: LoggerProviderBuilder, _: &Env| {
                b.with_simple_exporter(exporter)
            }));
        self
    }

    /// The level filter of bridged `log` and `tracing` records, in `RUST_LOG`
    /// syntax (`"warn,my_crate=debug"`), replacing `RUST_LOG` (default `"info"`).
    pub fn log_filter(mut self, filter: impl Into<String>) -> Self {
        self.log_filter = Some(filter.into());
        self
    }

    /// Which measurements become exemplars, replacing `OTEL_METRICS_EXEMPLAR_FILTER`.
    pub fn exemplar_filter(mut self, filter: crate::metrics::exemplars::ExemplarFilter) -> Self {
        self.exemplar_filter = Some(filter);
        self
    }

    /// Derives RED metrics from every span (see [`crate::process::span_metrics`]).
    /// Every span is then recorded, and only the sampled ones exported.
    pub fn span_metrics(mut self, config: crate::process::SpanMetrics) -> Self {
        self.span_metrics = Some(config);
        self
    }

    /// The sampler, replacing `OTEL_TRACES_SAMPLER`.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// How long dropping the [`Guard`] may take to flush and shut down (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets a standard `OTEL_*` setting (or `RUST_LOG`) in code, as if the
    /// environment held it; it wins over the environment. Invalid values are
    /// reported like the environment's.
    ///
    /// ```no_run
    /// let _telemetry = traced_runtime::Builder::new()
    ///     .setting("OTEL_TRACES_SAMPLER", "traceidratio")
    ///     .setting("OTEL_TRACES_SAMPLER_ARG", "0.1")
    ///     .init();
    /// ```
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(name.into(), value.into());
        self
    }

    /// Ignores the `OTEL_*` environment: only what the code sets applies.
    pub fn ignore_env(mut self) -> Self {
        self.read_env = false;
        self
    }

    /// Installs the tracer provider and the W3C propagators, and returns the guard
    /// that flushes and shuts them down when dropped. Never panics: problems are
    /// reported on stderr and the affected part is left out.
    pub fn init(mut self) -> Guard {
        let mut env = Env::new(std::mem::take(&mut self.settings), self.read_env);
        if let Some(interval) = self.metric_interval {
            env.metric_export_interval = interval;
        }
        if let Some(filter) = self.exemplar_filter {
            env.exemplar_filter = filter;
        }
        if let Some(filter) = self.log_filter.take() {
            env.log_filter = filter;
        }
        if let Some((host, port)) = self.prometheus.clone() {
            env.prometheus_host = host;
            env.prometheus_port = port;
            let list = self
                .metrics_exporters
                .get_or_insert_with(|| env.metrics_exporters.clone().unwrap_or_default());
            if !list.contains(&MetricsExporter::Prometheus) {
                list.push(MetricsExporter::Prometheus);
            }
        }
        for warning in &env.warnings {
            eprintln!("traced: {warning}");
        }
        if env.sdk_disabled {
            return Guard::disabled();
        }
        crate::panic::install_hook();
        opentelemetry::global::set_text_map_propagator(crate::propagation::from_choices(
            &env.propagators,
        ));

        let resource = self.resource(&env);
        crate::metrics::exemplars::set_filter(env.exemplar_filter);
        let (meter_provider, prometheus) = self.meter_provider(&env, resource.clone());
        // Installed before the span and log processors are built: the SDK's batch
        // processors take their self-diagnostics meter (`otel.sdk.processor.*.processed`,
        // spans and records exported or dropped because the queue was full) from
        // the global provider when they are created.
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        let code_configured = !self.steps.is_empty();
        let exporters = match (self.exporters.take(), env.traces_exporters.clone()) {
            (Some(code), _) => code,
            (None, Some(from_env)) => from_env,
            (None, None) if code_configured => Vec::new(),
            (None, None) if env.otlp_endpoint_set => vec![TracesExporter::Otlp],
            (None, None) => vec![TracesExporter::Console],
        };
        // With the console waterfall, console log lines of sampled spans are drawn
        // under their spans instead of on their own.
        let trace_logs = exporters
            .contains(&TracesExporter::Console)
            .then(crate::export::console_logs::TraceLogs::default);
        let logger_provider = self.logger_provider(&env, resource.clone(), trace_logs.clone());
        let mut builder = SdkTracerProvider::builder().with_resource(resource);
        let chosen = self.sampler.take().unwrap_or_else(|| sampler(env.sampler));
        builder = match &self.span_metrics {
            Some(config) => {
                let meter = opentelemetry::metrics::MeterProvider::meter_with_scope(
                    &meter_provider,
                    opentelemetry::InstrumentationScope::builder("traced.spanmetrics")
                        .with_version(env!("CARGO_PKG_VERSION"))
                        .build(),
                );
                builder
                    .with_sampler(crate::process::span_metrics::RecordAll(chosen))
                    .with_span_processor(
                        config
                            .processor(&meter, self.filter.clone().filter(SpanFilter::metrics_too)),
                    )
            }
            None => builder.with_sampler(chosen),
        };
        if self.span_logs {
            use opentelemetry::logs::LoggerProvider as _;
            builder = builder.with_span_processor(crate::process::span_logs::SpanLogs {
                logger: logger_provider.logger("traced.spanlogs"),
            });
        }
        crate::process::redact::set_current(self.redaction.clone());
        let shaping = Shaping {
            filter: self.filter.take(),
            redaction: self.redaction.take(),
        };
        for step in self.steps.drain(..) {
            builder = step(builder, &env, &shaping);
        }
        for exporter in exporters {
            builder = match exporter {
                TracesExporter::Console => {
                    let mut console = crate::export::console::ConsoleExporter::new();
                    if let Some(logs) = &trace_logs {
                        console = console.with_logs(logs.clone());
                    }
                    exporting(builder, batch(console, &env), &shaping)
                }
                TracesExporter::Otlp => match crate::export::otlp(&env) {
                    Ok(exporter) => exporting(builder, batch(exporter, &env), &shaping),
                    Err(reason) => {
                        eprintln!("traced: OTLP span export is off: {reason}");
                        builder
                    }
                },
            };
        }
        let provider = builder.build();
        let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
        crate::tracer::set(Some(
            provider.tracer_with_scope(crate::tracer::SCOPE.clone()),
        ));
        opentelemetry::global::set_tracer_provider(provider.clone());
        crate::metrics::provider_changed();
        crate::logs::install_bridges(&logger_provider, &env.log_filter);
        Guard {
            provider: Some(provider),
            meter_provider: Some(meter_provider),
            logger_provider: Some(logger_provider),
            prometheus,
            generation,
            timeout: self.shutdown_timeout,
        }
    }

    fn logger_provider(
        &mut self,
        env: &Env,
        resource: Resource,
        trace_logs: Option<crate::export::console_logs::TraceLogs>,
    ) -> SdkLoggerProvider {
        let mut builder = SdkLoggerProvider::builder().with_resource(resource);
        // First, so that every processor after it sees redacted records.
        if let Some(rules) = &self.redaction {
            builder = builder
                .with_log_processor(crate::process::redact::RedactingLogs::new(rules.clone()));
        }
        let code_configured = !self.log_steps.is_empty();
        for step in self.log_steps.drain(..) {
            builder = step(builder, env);
        }
        let exporters = match (self.logs_exporters.take(), env.logs_exporters.clone()) {
            (Some(code), _) => code,
            (None, Some(from_env)) => from_env,
            (None, None) if code_configured => Vec::new(),
            (None, None) if env.otlp_logs_endpoint_set => vec![LogsExporter::Otlp],
            (None, None) => vec![LogsExporter::Console],
        };
        for exporter in exporters {
            builder = match exporter {
                // Console lines are written as they happen, next to the program's output.
                LogsExporter::Console => {
                    let mut console = crate::export::console_logs::ConsoleLogExporter::new();
                    if let Some(logs) = &trace_logs {
                        console = console.with_trace_view(logs.clone());
                    }
                    builder.with_simple_exporter(console)
                }
                LogsExporter::Otlp => match crate::export::otlp_logs(env) {
                    Ok(exporter) => builder.with_log_processor(batch_logs(exporter, env)),
                    Err(reason) => {
                        eprintln!("traced: OTLP log export is off: {reason}");
                        builder
                    }
                },
            };
        }
        builder.build()
    }

    fn meter_provider(
        &mut self,
        env: &Env,
        resource: Resource,
    ) -> (SdkMeterProvider, Option<PrometheusEndpoint>) {
        #[cfg_attr(not(feature = "prometheus"), allow(unused_mut))]
        let mut prometheus = None;
        let mut builder = SdkMeterProvider::builder().with_resource(resource);
        if let Some(limit) = self.span_metrics.as_ref().and_then(|c| c.cardinality_limit) {
            use crate::process::span_metrics::{CALLS, DURATION};
            builder = builder.with_view(move |i: &opentelemetry_sdk::metrics::Instrument| {
                (i.name() == CALLS || i.name() == DURATION)
                    .then(|| {
                        opentelemetry_sdk::metrics::Stream::builder()
                            .with_cardinality_limit(limit)
                            .build()
                            .ok()
                    })
                    .flatten()
            });
        }
        let code_configured = !self.meter_steps.is_empty();
        for step in self.meter_steps.drain(..) {
            builder = step(builder, env);
        }
        let exporters = match (self.metrics_exporters.take(), env.metrics_exporters.clone()) {
            (Some(code), _) => code,
            (None, Some(from_env)) => from_env,
            (None, None) if code_configured => Vec::new(),
            (None, None) if env.otlp_metrics_endpoint_set => vec![MetricsExporter::Otlp],
            (None, None) => vec![MetricsExporter::Console],
        };
        for exporter in exporters {
            builder = match exporter {
                MetricsExporter::Console => builder.with_reader(periodic(
                    crate::export::console_metrics::ConsoleMetricsExporter::new(),
                    env,
                )),
                MetricsExporter::Otlp => match crate::export::otlp_metrics(env) {
                    Ok(exporter) => builder.with_reader(periodic(exporter, env)),
                    Err(reason) => {
                        eprintln!("traced: OTLP metric export is off: {reason}");
                        builder
                    }
                },
                MetricsExporter::Prometheus if prometheus.is_some() => builder,
                #[cfg(feature = "prometheus")]
                MetricsExporter::Prometheus => {
                    match crate::export::prometheus(&env.prometheus_host, env.prometheus_port) {
                        Ok((reader, endpoint)) => {
                            prometheus = Some(endpoint);
                            builder.with_reader(reader)
                        }
                        Err(reason) => {
                            eprintln!("traced: the Prometheus endpoint is off: {reason}");
                            builder
                        }
                    }
                }
                #[cfg(not(feature = "prometheus"))]
                MetricsExporter::Prometheus => {
                    eprintln!(
                        "traced: the Prometheus endpoint is off: this build of traced has no `prometheus` feature"
                    );
                    builder
                }
            };
        }
        (builder.build(), prometheus)
    }

    fn resource(&self, env: &Env) -> Resource {
        use opentelemetry_sdk::resource::TelemetryResourceDetector;
        // Built from the settings `Env` reads (code over environment), not by the
        // SDK's environment detectors, so that `setting(..)` and `ignore_env()` apply.
        let mut resource = Resource::builder_empty()
            .with_detector(Box::new(TelemetryResourceDetector))
            .with_attributes(resource_attributes(
                env.lookup("OTEL_RESOURCE_ATTRIBUTES").as_deref(),
            ));
        let name = env
            .service_name
            .clone()
            .or_else(|| self.service_name.clone())
            .unwrap_or_else(default_service_name);
        resource = resource.with_service_name(name);
        let version = self.service_version.clone().or_else(|| {
            std::env::var("CARGO_PKG_VERSION")
                .ok()
                .filter(|v| !v.is_empty())
        });
        if let Some(version) = version {
            resource = resource.with_attribute(KeyValue::new(
                opentelemetry_semantic_conventions::resource::SERVICE_VERSION,
                version,
            ));
        }
        resource.with_attributes(self.resource.clone()).build()
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value,...`, values percent-decoded.
fn resource_attributes(text: Option<&str>) -> Vec<KeyValue> {
    text.map_or_else(Vec::new, |text| {
        crate::config::key_value_list(text)
            .map(|(k, v)| KeyValue::new(k, v))
            .collect()
    })
}

/// The crate being run by cargo, else the executable's file name.
fn default_service_name() -> String {
    std::env::var("CARGO_PKG_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::env::current_exe()
                .ok()?
                .file_stem()?
                .to_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown_service".to_owned())
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
    }
}

/// Adds an exporting processor, behind the filter and the redaction rules if
/// there are any (filter first: a dropped span is not worth redacting).
fn exporting<P: SpanProcessor + 'static>(
    builder: TracerProviderBuilder,
    processor: P,
    shaping: &Shaping,
) -> TracerProviderBuilder {
    use crate::process::filter::Filtering;
    use crate::process::redact::Redacting;
    match (&shaping.filter, &shaping.redaction) {
        (Some(filter), Some(rules)) => builder.with_span_processor(Filtering {
            filter: filter.clone(),
            inner: Redacting {
                rules: rules.clone(),
                inner: processor,
            },
        }),
        (Some(filter), None) => builder.with_span_processor(Filtering {
            filter: filter.clone(),
            inner: processor,
        }),
        (None, Some(rules)) => builder.with_span_processor(Redacting {
            rules: rules.clone(),
            inner: processor,
        }),
        (None, None) => builder.with_span_processor(processor),
    }
}

fn batch_logs(
    exporter: impl LogExporter + 'static,
    env: &Env,
) -> opentelemetry_sdk::logs::BatchLogProcessor {
    use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor};
    BatchLogProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(env.blrp_schedule_delay)
                .with_max_queue_size(env.blrp_max_queue_size)
                .with_max_export_batch_size(env.blrp_max_export_batch_size)
                .build(),
        )
        .build()
}

fn periodic<E: PushMetricExporter>(exporter: E, env: &Env) -> PeriodicReader<E> {
    PeriodicReader::builder(exporter)
        .with_interval(env.metric_export_interval)
        .build()
}

fn batch(
    exporter: impl SpanExporter + 'static,
    env: &Env,
) -> crate::process::sampled::SampledOnly<BatchSpanProcessor> {
    crate::process::sampled::SampledOnly(
        BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_scheduled_delay(env.bsp_schedule_delay)
                    .with_max_queue_size(env.bsp_max_queue_size)
                    .with_max_export_batch_size(env.bsp_max_export_batch_size)
                    .build(),
            )
            .build(),
    )
}

/// Installs telemetry configured by the `OTEL_*` environment; see [`Builder`].
///
/// With nothing configured, each finished trace prints as a waterfall on stderr.
/// Setting `OTEL_EXPORTER_OTLP_ENDPOINT` sends OTLP to a collector instead.
/// When `OTEL_CONFIG_FILE` names a configuration file, the file configures
/// everything instead, as [`init_from_file`] does; if it cannot be used, the
/// problem is printed on stderr and the environment applies.
/// Keep the guard alive for the life of the program:
///
/// ```no_run
/// let _telemetry = traced_runtime::init();
/// // ... the program ...
/// drop(_telemetry); // spans are flushed, providers shut down
/// ```
pub fn init() -> Guard {
    init_with(Builder::new)
}

/// What `init!()` calls: [`init`], with the calling crate's name and version as
/// the fallback `service.name` and `service.version`.
#[doc(hidden)]
pub fn init_for_crate(name: &'static str, version: &'static str) -> Guard {
    init_with(|| Builder::new().service_name(name).service_version(version))
}

/// The file named by `OTEL_CONFIG_FILE` if there is one (on top of `base`'s
/// service name), else `base` from the environment.
fn init_with(base: impl Fn() -> Builder) -> Guard {
    if let Some(path) = std::env::var_os("OTEL_CONFIG_FILE").filter(|p| !p.is_empty()) {
        match crate::file_config::load(&path) {
            Ok(config) => {
                for warning in config.warnings() {
                    eprintln!("traced: {warning}");
                }
                let defaults = base();
                let mut builder = config.builder();
                if let Some(name) = defaults.service_name.clone() {
                    builder = builder.service_name(name);
                }
                if let Some(version) = defaults.service_version.clone() {
                    builder = builder.service_version(version);
                }
                return builder.init();
            }
            Err(e) => {
                eprintln!("traced: OTEL_CONFIG_FILE: {e}; configuring from the environment instead")
            }
        }
    }
    base().init()
}

/// Keeps telemetry installed; dropping it flushes and shuts down, within the
/// shutdown timeout, and makes every annotation a no-op again.
#[must_use = "telemetry is shut down as soon as the guard is dropped: bind it, `let _telemetry = traced::init();`"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    logger_provider: Option<SdkLoggerProvider>,
    prometheus: Option<PrometheusEndpoint>,
    generation: u64,
    timeout: Duration,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("active", &self.provider.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a flush or shutdown did not complete.
pub type Error = opentelemetry_sdk::error::OTelSdkError;

impl Guard {
    fn disabled() -> Self {
        Guard {
            provider: None,
            meter_provider: None,
            logger_provider: None,
            prometheus: None,
            generation: 0,
            timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// The installed tracer provider (`None` when `OTEL_SDK_DISABLED=true`).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Where the Prometheus endpoint listens, when it is on.
    pub fn prometheus_addr(&self) -> Option<std::net::SocketAddr> {
        self.prometheus.as_ref().map(PrometheusEndpoint::addr)
    }

    /// The installed meter provider (`None` when `OTEL_SDK_DISABLED=true`).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    /// The installed logger provider (`None` when `OTEL_SDK_DISABLED=true`).
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.logger_provider.as_ref()
    }

    /// Exports every finished span, log record and the current metrics now.
    pub fn flush(&self) -> Result<(), Error> {
        let logs = self
            .logger_provider
            .as_ref()
            .map_or(Ok(()), SdkLoggerProvider::force_flush);
        let spans = self
            .provider
            .as_ref()
            .map_or(Ok(()), SdkTracerProvider::force_flush);
        let metrics = self
            .meter_provider
            .as_ref()
            .map_or(Ok(()), SdkMeterProvider::force_flush);
        logs.and(spans).and(metrics)
    }

    /// Flushes and shuts down now, reporting the outcome (dropping does the same silently).
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.close()
    }

    fn close(&mut self) -> Result<(), Error> {
        let Some(provider) = self.provider.take() else {
            return Ok(());
        };
        let meter_provider = self.meter_provider.take();
        let logger_provider = self.logger_provider.take();
        if GENERATION.load(Ordering::Acquire) == self.generation {
            crate::logs::uninstall_bridges();
            crate::process::redact::set_current(None);
            crate::tracer::set(None);
            opentelemetry::global::set_tracer_provider(
                opentelemetry::trace::noop::NoopTracerProvider::new(),
            );
            opentelemetry::global::set_meter_provider(
                opentelemetry::metrics::noop::NoopMeterProvider::new(),
            );
        }
        // The shutdowns share the bound (the meter provider's own final
        // export is bounded by the export timeout).
        let deadline = std::time::Instant::now() + self.timeout;
        let left = || {
            deadline
                .saturating_duration_since(std::time::Instant::now())
                .max(Duration::from_millis(1))
        };
        let logs = logger_provider.map_or(Ok(()), |l| l.shutdown_with_timeout(self.timeout));
        let spans = provider.shutdown_with_timeout(left());
        // The SDK's meter provider ignores the timeout (its periodic reader waits a
        // fixed 5 s for the final export): bound it here, on a thread of its own
        // that is left to finish in the background if it overruns.
        let metrics = meter_provider.map_or(Ok(()), |m| bounded(left(), move || m.shutdown()));
        // Only after the final export, which reads the exemplars: instruments built
        // from now on start from nothing.
        if GENERATION.load(Ordering::Acquire) == self.generation {
            crate::metrics::provider_changed();
        }
        // The endpoint stops after the last collection, freeing its port.
        self.prometheus.take();
        logs.and(spans).and(metrics)
    }
}

/// Runs `work` on a thread of its own and waits for it at most `timeout`.
fn bounded(
    timeout: Duration,
    work: impl FnOnce() -> Result<(), Error> + Send + 'static,
) -> Result<(), Error> {
    let (done, result) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("traced-shutdown".to_owned())
        .spawn(move || {
            let _ = done.send(work());
        });
    match spawned {
        Ok(_) => result
            .recv_timeout(timeout)
            .unwrap_or(Err(Error::Timeout(timeout))),
        Err(e) => Err(Error::InternalFailure(format!(
            "cannot start a thread: {e}"
        ))),
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            eprintln!("traced: shutdown did not complete: {e}");
        }
    }
}

/// Installs telemetry as the configuration file at `path` says: the
/// OpenTelemetry declarative configuration format (YAML), with `traced`'s
/// processors as extensions (see [`crate::file_config`]). The `OTEL_*`
/// environment is not read, except where the file substitutes `${VAR}`.
/// Warnings about the file are printed on stderr.
///
/// Nothing is installed when the file cannot be read or is not valid: the error
/// names the file, the line and the column, and for a misspelt key the nearest
/// valid one.
///
/// ```no_run
/// let _telemetry = traced_runtime::init_from_file("config/production.yaml")
///     .unwrap_or_else(|e| panic!("{e}"));
/// ```
pub fn init_from_file(
    path: impl AsRef<std::path::Path>,
) -> Result<Guard, crate::file_config::ConfigError> {
    let config = crate::file_config::load(path)?;
    for warning in config.warnings() {
        eprintln!("traced: {warning}");
    }
    Ok(config.builder().init())
}
