//! The [`Builder`]: the configuration surface, compiled whatever the features
//! (the values it takes, exporters, protocol and [`Sampler`], are in
//! `choices.rs`). With the `enabled` feature off every
//! method is kept and does nothing, so an application compiles unchanged; only
//! what installs providers (`crate::install`) is left out. [`Builder::init`] is
//! in `entry.rs`, with the other entry points: this module only describes.

use crate::choices::{LogsExporter, MetricsExporter, Sampler, TracesExporter};
pub use crate::metrics::build::CrateBuild;
use crate::process::{Redaction, SpanFilter, SpanMetrics};
use opentelemetry::KeyValue;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// The default bound on how long dropping the [`Guard`](crate::Guard) may take.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK traits the [`Builder`] takes: with the `enabled` feature on each is
/// the OpenTelemetry SDK trait of its name (every type implementing that trait
/// implements this one); with it off, every type does, so code passing SDK
/// components compiles unchanged and they are dropped unused.
pub mod sdk_bounds {
    #[cfg(feature = "enabled")]
    mod imp {
        /// An `opentelemetry_sdk::trace::SpanProcessor`.
        pub trait SpanProcessor: opentelemetry_sdk::trace::SpanProcessor + 'static {}
        impl<T: opentelemetry_sdk::trace::SpanProcessor + 'static> SpanProcessor for T {}
        /// An `opentelemetry_sdk::trace::SpanExporter`.
        pub trait SpanExporter: opentelemetry_sdk::trace::SpanExporter + 'static {}
        impl<T: opentelemetry_sdk::trace::SpanExporter + 'static> SpanExporter for T {}
        /// An `opentelemetry_sdk::metrics::exporter::PushMetricExporter`.
        pub trait PushMetricExporter:
            opentelemetry_sdk::metrics::exporter::PushMetricExporter
        {
        }
        impl<T: opentelemetry_sdk::metrics::exporter::PushMetricExporter> PushMetricExporter for T {}
        /// An `opentelemetry_sdk::logs::LogExporter`.
        pub trait LogExporter: opentelemetry_sdk::logs::LogExporter + 'static {}
        impl<T: opentelemetry_sdk::logs::LogExporter + 'static> LogExporter for T {}
    }
    #[cfg(not(feature = "enabled"))]
    mod imp {
        /// Any type (instrumentation is compiled out).
        pub trait SpanProcessor {}
        impl<T> SpanProcessor for T {}
        /// Any type (instrumentation is compiled out).
        pub trait SpanExporter {}
        impl<T> SpanExporter for T {}
        /// Any type (instrumentation is compiled out).
        pub trait PushMetricExporter {}
        impl<T> PushMetricExporter for T {}
        /// Any type (instrumentation is compiled out).
        pub trait LogExporter {}
        impl<T> LogExporter for T {}
    }
    pub use imp::*;
}

#[cfg(feature = "enabled")]
pub(crate) use crate::steps::{LogStep, MeterStep, SpanStep};

/// Configures telemetry in code; whatever is not set comes from the `OTEL_*`
/// environment (or nothing does, after [`ignore_env`](Self::ignore_env)).
///
/// ```no_run
/// # use traced_runtime as traced;
/// use std::time::Duration;
///
/// let _telemetry = traced::Builder::new()
///     .service_name("checkout")
///     .service_version("1.4.2")
///     .shutdown_timeout(Duration::from_secs(2))
///     .init();
/// ```
///
/// With the `enabled` feature off every method exists and [`init`](Self::init)
/// installs nothing.
#[must_use = "a Builder does nothing until `.init()`"]
pub struct Builder {
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) exporters: Option<Vec<TracesExporter>>,
    pub(crate) metrics_exporters: Option<Vec<MetricsExporter>>,
    pub(crate) metric_interval: Option<Duration>,
    pub(crate) prometheus: Option<(String, u16)>,
    pub(crate) logs_exporters: Option<Vec<LogsExporter>>,
    pub(crate) log_filter: Option<String>,
    pub(crate) exemplar_filter: Option<crate::metrics::exemplars::ExemplarFilter>,
    pub(crate) span_metrics: Option<SpanMetrics>,
    pub(crate) redaction: Option<Redaction>,
    pub(crate) secret_keys: bool,
    pub(crate) filter: Option<SpanFilter>,
    pub(crate) span_logs: bool,
    pub(crate) settings: HashMap<String, String>,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) read_env: bool,
    #[cfg(feature = "enabled")]
    pub(crate) crate_build: CrateBuild,
    /// What a pipeline file set ([`FileConfig::builder`](crate::file_config::FileConfig::builder)),
    /// typed: the settings made in code are read over it.
    #[cfg(feature = "enabled")]
    pub(crate) file_settings: Option<crate::settings::Settings>,
    #[cfg(feature = "enabled")]
    pub(crate) steps: Vec<SpanStep>,
    #[cfg(feature = "enabled")]
    pub(crate) meter_steps: Vec<MeterStep>,
    #[cfg(feature = "enabled")]
    pub(crate) log_steps: Vec<LogStep>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Builder");
        d.field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("resource", &self.resource)
            .field("exporters", &self.exporters)
            .field("metrics_exporters", &self.metrics_exporters)
            .field("metric_interval", &self.metric_interval)
            .field("logs_exporters", &self.logs_exporters)
            .field("log_filter", &self.log_filter)
            .field("sampler", &self.sampler)
            .field("shutdown_timeout", &self.shutdown_timeout);
        #[cfg(feature = "enabled")]
        d.field("processors", &self.steps.len())
            .field("metric_readers", &self.meter_steps.len())
            .field("log_processors", &self.log_steps.len());
        d.finish()
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
            #[cfg(feature = "enabled")]
            crate_build: CrateBuild::default(),
            resource: Vec::new(),
            exporters: None,
            metrics_exporters: None,
            metric_interval: None,
            prometheus: None,
            logs_exporters: None,
            log_filter: None,
            exemplar_filter: None,
            span_metrics: None,
            redaction: None,
            secret_keys: true,
            filter: None,
            span_logs: false,
            settings: HashMap::new(),
            sampler: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            read_env: true,
            #[cfg(feature = "enabled")]
            file_settings: None,
            #[cfg(feature = "enabled")]
            steps: Vec::new(),
            #[cfg(feature = "enabled")]
            meter_steps: Vec::new(),
            #[cfg(feature = "enabled")]
            log_steps: Vec::new(),
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

    /// Adds a span processor (any `opentelemetry_sdk::trace::SpanProcessor`).
    /// When code adds processors or exporters, the console default no longer
    /// applies: only an explicit `OTEL_TRACES_EXPORTER` adds more.
    ///
    /// The processor sees spans as they are, before [`redact`](Self::redact) rules.
    ///
    /// Its `on_start` takes an SDK span, so with a processor added here
    /// `#[traced]` spans are the SDK's own (as with `TRACED_SPAN_PATH=sdk`)
    /// instead of `traced`'s cheaper records: the processor sees every span
    /// start. Exporters (`batch_exporter`, `simple_exporter`) keep them.
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables, unused_mut))]
    pub fn span_processor(mut self, processor: impl sdk_bounds::SpanProcessor) -> Self {
        #[cfg(feature = "enabled")]
        self.steps
            .push(crate::steps::traces::processor_step(processor));
        self
    }

    /// Adds an exporter (any `opentelemetry_sdk::trace::SpanExporter`) behind a
    /// batch processor configured by `OTEL_BSP_*`.
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables, unused_mut))]
    pub fn batch_exporter(mut self, exporter: impl sdk_bounds::SpanExporter) -> Self {
        #[cfg(feature = "enabled")]
        self.steps.push(crate::steps::traces::batch_step(exporter));
        self
    }

    /// Adds an exporter that receives each span synchronously when it ends.
    /// Meant for tests and debugging: it runs on the thread that ends the span.
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables, unused_mut))]
    pub fn simple_exporter(mut self, exporter: impl sdk_bounds::SpanExporter) -> Self {
        #[cfg(feature = "enabled")]
        self.steps.push(crate::steps::traces::simple_step(exporter));
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
    /// `simple_exporter`, to log records and to the attributes of the
    /// `traced::metrics` instruments.
    ///
    /// The built-in secret-key rules ([`Redaction::secret_keys`]) apply after
    /// these rules whether or not this is called; see
    /// [`redact_secret_keys`](Self::redact_secret_keys).
    pub fn redact(mut self, rules: Redaction) -> Self {
        self.redaction = Some(rules);
        self
    }

    /// Whether the values of keys that name a secret are masked
    /// ([`Redaction::secret_keys`]): on unless this says `false`. Turning it
    /// off records them as written (for a test of the redaction itself, or a
    /// pipeline that redacts further on); rules given to
    /// [`redact`](Self::redact) still apply.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// let _telemetry = traced::Builder::new()
    ///     .redact_secret_keys(false) // `password` attributes are exported in clear
    ///     .init();
    /// ```
    pub fn redact_secret_keys(mut self, on: bool) -> Self {
        self.secret_keys = on;
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

    /// Adds a metric exporter (any `opentelemetry_sdk::metrics::exporter::PushMetricExporter`)
    /// behind a periodic reader (interval from
    /// [`metric_export_interval`](Self::metric_export_interval) or
    /// `OTEL_METRIC_EXPORT_INTERVAL`, 60 s by default). When code adds metric
    /// exporters, the console default no longer applies.
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables, unused_mut))]
    pub fn metric_exporter(mut self, exporter: impl sdk_bounds::PushMetricExporter) -> Self {
        #[cfg(feature = "enabled")]
        self.meter_steps
            .push(crate::steps::metrics::exporter_step(exporter));
        self
    }

    /// How often metrics are exported, replacing `OTEL_METRIC_EXPORT_INTERVAL`.
    /// A longer interval is how to lower metric volume.
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// Serves metrics for Prometheus on `host:port` (port 0 picks a free one; see
    /// [`Guard::prometheus_addr`](crate::Guard::prometheus_addr)), replacing `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`.
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

    /// Adds a log exporter (any `opentelemetry_sdk::logs::LogExporter`) behind a
    /// batch processor configured by `OTEL_BLRP_*`. When code adds log exporters,
    /// the console default no longer applies.
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables, unused_mut))]
    pub fn log_exporter(mut self, exporter: impl sdk_bounds::LogExporter) -> Self {
        #[cfg(feature = "enabled")]
        self.log_steps
            .push(crate::steps::logs::batch_step(exporter));
        self
    }

    /// Adds a log exporter that receives each record synchronously (tests, debugging).
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables, unused_mut))]
    pub fn simple_log_exporter(mut self, exporter: impl sdk_bounds::LogExporter) -> Self {
        #[cfg(feature = "enabled")]
        self.log_steps
            .push(crate::steps::logs::simple_step(exporter));
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
    pub fn span_metrics(mut self, config: SpanMetrics) -> Self {
        self.span_metrics = Some(config);
        self
    }

    /// The sampler, replacing `OTEL_TRACES_SAMPLER`: a [`Sampler`] (or, with the
    /// `enabled` feature, an `opentelemetry_sdk::trace::Sampler`).
    pub fn sampler(mut self, sampler: impl Into<Sampler>) -> Self {
        self.sampler = Some(sampler.into());
        self
    }

    /// How long dropping the [`Guard`](crate::Guard) may take to flush and shut down (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets a standard `OTEL_*` setting (or `RUST_LOG`) in code, as if the
    /// environment held it; it wins over the environment. Invalid values are
    /// reported like the environment's.
    ///
    /// ```no_run
    /// # use traced_runtime as traced;
    /// let _telemetry = traced::Builder::new()
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
}
