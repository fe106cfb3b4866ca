//! Reading a configuration file into a [`FileConfig`] (with the `enabled` feature).

use super::error::ConfigError;
use super::{schema, yaml};
use crate::builder::Builder;
use crate::choices::{LogsExporter, MetricsExporter, TracesExporter};
use crate::settings::Settings;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// Reads and checks the configuration file at `path`, substituting the process
/// environment into `${VAR}` references. Nothing is installed.
///
/// ```no_run
/// # use traced_runtime as traced;
/// let config = traced::file_config::load("otel.yaml")?;
/// println!("{config:#?}");
/// # Ok::<(), traced_runtime::file_config::ConfigError>(())
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<FileConfig, ConfigError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&name, None, format!("cannot read {name}: {e}")))?;
    parse(&name, &text)
}

/// Reads and checks a configuration given as text (`name` is the file name used
/// in messages), substituting the process environment into `${VAR}` references.
///
/// ```
/// # use traced_runtime as traced;
/// let err = traced::file_config::parse("inline.yaml", "disabled: false\n").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "missing `file_format` at the top level of inline.yaml: it is required, e.g. `file_format: \"1.0\"`"
/// );
/// ```
pub fn parse(name: &str, yaml: &str) -> Result<FileConfig, ConfigError> {
    parse_with_env(name, yaml, |var| std::env::var(var).ok())
}

/// Like [`parse`], with `env` giving the value of each variable a `${VAR}`
/// reference names (`None`: unset), instead of the process environment. `RUST_LOG`
/// is looked up through it too.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::file_config::parse_with_env;
///
/// let yaml = r#"
/// file_format: "1.0"
/// meter_provider:
///   readers:
///     - periodic:
///         interval: ${INTERVAL:-60000}
///         exporter: { console: }
/// "#;
/// let config = parse_with_env("m.yaml", yaml, |var| (var == "INTERVAL").then(|| "5000".into()))?;
/// assert_eq!(config.setting("OTEL_METRIC_EXPORT_INTERVAL"), Some("5000"));
/// let config = parse_with_env("m.yaml", yaml, |_| None)?;
/// assert_eq!(config.setting("OTEL_METRIC_EXPORT_INTERVAL"), Some("60000"));
/// # Ok::<(), traced_runtime::file_config::ConfigError>(())
/// ```
pub fn parse_with_env(
    name: &str,
    yaml: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<FileConfig, ConfigError> {
    let mut warnings = Vec::new();
    let root = yaml::parse(name, yaml, &env, &mut warnings)?;
    let mut config = schema::read(name, root, &env)?;
    // Where the file says it first.
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    Ok(config)
}

/// A configuration file, read and checked: what [`builder`](Self::builder) will
/// set. Its `Debug` output lists it all (header values and the hash secret
/// masked), which makes it easy to review or snapshot.
#[derive(Clone, PartialEq)]
pub struct FileConfig {
    pub(crate) source: String,
    pub(crate) file_format: String,
    pub(crate) disabled: bool,
    pub(crate) resource: Vec<Attribute>,
    pub(crate) sampler: SamplerConfig,
    pub(crate) span_processors: Vec<Processor>,
    pub(crate) metric_readers: Vec<Reader>,
    pub(crate) log_processors: Vec<Processor>,
    pub(crate) settings: FileSettings,
    pub(crate) span_metrics: Option<SpanMetricsConfig>,
    pub(crate) filter: Option<FilterConfig>,
    pub(crate) redaction: Option<RedactionConfig>,
    pub(crate) span_logs: bool,
    pub(crate) baggage_attributes: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

impl FileConfig {
    /// A [`Builder`] set up as the file says, ignoring the `OTEL_*` environment
    /// ([`Builder::ignore_env`]). Code can add to it before `init()`, for example
    /// an exporter of its own or `service_version`.
    pub fn builder(&self) -> Builder {
        use crate::export::console::ConsoleExporter;
        use crate::export::console_metrics::ConsoleMetricsExporter;

        let mut b = Builder::new().ignore_env();
        b.file_settings = Some(self.settings.typed.clone());
        for attribute in &self.resource {
            b = b.resource_attribute(attribute.key_value());
        }
        b = b.sampler(self.sampler.sdk());

        let mut traces = Vec::new();
        for processor in &self.span_processors {
            match processor {
                Processor::Batch(Exporter::Console) => traces.push(TracesExporter::Console),
                Processor::Batch(Exporter::OtlpFile) => traces.push(TracesExporter::OtlpFile),
                Processor::Batch(_) => traces.push(TracesExporter::Otlp),
                Processor::Simple(_) => b = b.simple_exporter(ConsoleExporter::new()),
            }
        }
        b = b.traces_exporters(traces);

        let mut metrics = Vec::new();
        let mut prometheus = None;
        for reader in &self.metric_readers {
            match reader {
                Reader::Periodic(Exporter::Console, Temporality::Cumulative) => {
                    metrics.push(MetricsExporter::Console);
                }
                Reader::Periodic(Exporter::Console, temporality) => {
                    b = b.metric_exporter(
                        ConsoleMetricsExporter::new().with_temporality(temporality.sdk()),
                    );
                }
                // Its temporality is in the settings, as the OTLP exporter's.
                Reader::Periodic(Exporter::OtlpFile, _) => metrics.push(MetricsExporter::OtlpFile),
                Reader::Periodic(_, _) => metrics.push(MetricsExporter::Otlp),
                Reader::Prometheus { host, port } => prometheus = Some((host.clone(), *port)),
            }
        }
        b = b.metrics_exporters(metrics);
        if let Some((host, port)) = prometheus {
            b = b.prometheus_endpoint(host, port);
        }

        let logs = self.log_processors.iter().map(|p| match p {
            Processor::Batch(Exporter::Console) | Processor::Simple(_) => LogsExporter::Console,
            Processor::Batch(Exporter::OtlpFile) => LogsExporter::OtlpFile,
            Processor::Batch(_) => LogsExporter::Otlp,
        });
        b = b.logs_exporters(logs);

        if let Some(config) = &self.span_metrics {
            b = b.span_metrics(config.processor());
        }
        if let Some(config) = &self.filter {
            b = b.filter(config.filter());
        }
        if let Some(config) = &self.redaction {
            b = b
                .redact(config.redaction())
                .redact_secret_keys(config.secret_keys);
        }
        if self.span_logs {
            b = b.span_logs(true);
        }
        if !self.baggage_attributes.is_empty() {
            b = b.span_processor(crate::process::BaggageSpanProcessor::new(
                self.baggage_attributes.clone(),
            ));
        }
        b
    }

    /// A standard setting the file makes (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_BSP_SCHEDULE_DELAY`, ...), written as its variable would be (which
    /// [`Builder::setting`] would take as the same setting).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.shown.get(name).map(String::as_str)
    }

    /// Every standard setting the file makes, by name, in name order.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings
            .shown
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether the file disables telemetry (`disabled: true`).
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// What the file sets that is accepted but deserves a word, one line each
    /// (for example hash rules without a `hash_secret`).
    /// [`init_from_file`](crate::init_from_file) prints them on stderr.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The file's name, as given to [`load`] or [`parse`].
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What a file sets of the typed settings, and how it shows: the standard
/// names of what it set with their values, rendered from the typed settings.
#[derive(Clone)]
pub(crate) struct FileSettings {
    /// The defaults, with what the file says over them.
    pub(crate) typed: Settings,
    shown: BTreeMap<String, String>,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings::new(Settings::defaults(), BTreeSet::new())
    }
}

impl FileSettings {
    /// `typed`, which the file set the settings `named` of.
    pub(crate) fn new(typed: Settings, named: BTreeSet<String>) -> FileSettings {
        let shown = named
            .into_iter()
            .filter_map(|name| {
                let value = typed.value_of(&name)?;
                Some((name, value))
            })
            .collect();
        FileSettings { typed, shown }
    }
}

/// Equal when they make the same settings.
impl PartialEq for FileSettings {
    fn eq(&self, other: &Self) -> bool {
        self.shown == other.shown
    }
}

/// Header values may hold credentials: `Debug` shows their names only.
impl fmt::Debug for FileSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.shown {
            if name.ends_with("_HEADERS") {
                let masked: Vec<String> = value
                    .split(',')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, _)| format!("{}=***", k.trim()))
                    .collect();
                map.entry(name, &masked.join(","));
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

impl fmt::Debug for FileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileConfig")
            .field("source", &self.source)
            .field("file_format", &self.file_format)
            .field("disabled", &self.disabled)
            .field("resource", &self.resource)
            .field("sampler", &self.sampler)
            .field("span_processors", &self.span_processors)
            .field("metric_readers", &self.metric_readers)
            .field("log_processors", &self.log_processors)
            .field("settings", &self.settings)
            .field("span_metrics", &self.span_metrics)
            .field("filter", &self.filter)
            .field("redaction", &self.redaction)
            .field("span_logs", &self.span_logs)
            .field("baggage_attributes", &self.baggage_attributes)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// A resource attribute with its typed value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attribute {
    pub(crate) name: String,
    pub(crate) value: AttributeValue,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AttributeValue {
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    StringArray(Vec<String>),
    BoolArray(Vec<bool>),
    IntArray(Vec<i64>),
    DoubleArray(Vec<f64>),
}

impl Attribute {
    fn key_value(&self) -> opentelemetry::KeyValue {
        use opentelemetry::{Array, Value};
        let value = match &self.value {
            AttributeValue::String(s) => Value::from(s.clone()),
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Int(i) => Value::I64(*i),
            AttributeValue::Double(d) => Value::F64(*d),
            AttributeValue::StringArray(v) => {
                Value::Array(Array::String(v.iter().map(|s| s.clone().into()).collect()))
            }
            AttributeValue::BoolArray(v) => Value::Array(Array::Bool(v.clone())),
            AttributeValue::IntArray(v) => Value::Array(Array::I64(v.clone())),
            AttributeValue::DoubleArray(v) => Value::Array(Array::F64(v.clone())),
        };
        opentelemetry::KeyValue::new(self.name.clone(), value)
    }
}

/// The sampler, as the SDK can build it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SamplerConfig {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatioBased(f64),
    /// With the SDK's fixed rules for spans that have a parent.
    ParentBased(Box<SamplerConfig>),
}

impl SamplerConfig {
    fn sdk(&self) -> opentelemetry_sdk::trace::Sampler {
        use opentelemetry_sdk::trace::Sampler;
        match self {
            SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
            SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
            SamplerConfig::TraceIdRatioBased(r) => Sampler::TraceIdRatioBased(*r),
            SamplerConfig::ParentBased(root) => Sampler::ParentBased(Box::new(root.sdk())),
        }
    }
}

/// A span or log record processor that exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Processor {
    Batch(Exporter),
    /// Only with the console exporter.
    Simple(Exporter),
}

/// Where a processor or reader sends its data (the OTLP endpoint, headers and
/// timeout are in the settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exporter {
    OtlpHttp,
    OtlpGrpc,
    Console,
    /// `otlp_file/development`: its `output_stream` is the signal's
    /// `TRACED_OTLP_FILE_*` setting.
    OtlpFile,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reader {
    /// Interval and timeout are in the settings.
    Periodic(Exporter, Temporality),
    Prometheus {
        host: String,
        port: u16,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Temporality {
    Cumulative,
    Delta,
    LowMemory,
}

impl Temporality {
    pub(crate) fn sdk(self) -> opentelemetry_sdk::metrics::Temporality {
        use opentelemetry_sdk::metrics::Temporality as T;
        match self {
            Temporality::Cumulative => T::Cumulative,
            Temporality::Delta => T::Delta,
            Temporality::LowMemory => T::LowMemory,
        }
    }
}

/// `traced_span_metrics`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SpanMetricsConfig {
    pub(crate) dimensions: Vec<String>,
    pub(crate) buckets_ms: Option<Vec<f64>>,
    pub(crate) cardinality_limit: Option<usize>,
}

impl SpanMetricsConfig {
    fn processor(&self) -> crate::process::SpanMetrics {
        let mut m = crate::process::SpanMetrics::new();
        for d in &self.dimensions {
            m = m.dimension(d.clone());
        }
        if let Some(b) = &self.buckets_ms {
            m = m.buckets_ms(b.iter().copied());
        }
        if let Some(limit) = self.cardinality_limit {
            m = m.cardinality_limit(limit);
        }
        m
    }
}

/// `traced_filter`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FilterConfig {
    pub(crate) drop_names: Vec<String>,
    pub(crate) drop_attributes: Vec<(String, String)>,
    pub(crate) drop_kinds: Vec<SpanKind>,
    pub(crate) also_from_span_metrics: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpanKind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl FilterConfig {
    fn filter(&self) -> crate::process::SpanFilter {
        use opentelemetry::trace::SpanKind as K;
        let mut f = crate::process::SpanFilter::new();
        for name in &self.drop_names {
            f = f.drop_name(name);
        }
        for (key, value) in &self.drop_attributes {
            f = f.drop_attribute(key.clone(), value);
        }
        for kind in &self.drop_kinds {
            f = f.drop_kind(match kind {
                SpanKind::Internal => K::Internal,
                SpanKind::Server => K::Server,
                SpanKind::Client => K::Client,
                SpanKind::Producer => K::Producer,
                SpanKind::Consumer => K::Consumer,
            });
        }
        if self.also_from_span_metrics {
            f = f.also_from_span_metrics();
        }
        f
    }
}

/// `traced_redaction`: the rules in the order they apply.
#[derive(Clone, PartialEq)]
pub(crate) struct RedactionConfig {
    pub(crate) defaults: bool,
    /// The built-in secret-key rules (`secret_keys: false` turns them off).
    pub(crate) secret_keys: bool,
    pub(crate) rules: Vec<RedactionRule>,
    pub(crate) hash_secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RedactionRule {
    DeleteKey(String),
    MaskKey(String),
    HashKey(String),
    /// A regular expression checked when the file is read.
    MaskValue(String),
    HashValue(String),
}

impl fmt::Debug for RedactionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactionConfig")
            .field("defaults", &self.defaults)
            .field("secret_keys", &self.secret_keys)
            .field("rules", &self.rules)
            .field(
                "hash_secret",
                &self
                    .hash_secret
                    .as_ref()
                    .map(|_| "***")
                    .unwrap_or("(random per process)"),
            )
            .finish()
    }
}

impl RedactionConfig {
    fn redaction(&self) -> crate::process::Redaction {
        use crate::process::{Action, Redaction};
        let mut r = if self.defaults {
            Redaction::default_rules()
        } else {
            Redaction::none()
        };
        for rule in &self.rules {
            r = match rule {
                RedactionRule::DeleteKey(k) => r.delete_key(k),
                RedactionRule::MaskKey(k) => r.mask_key(k),
                RedactionRule::HashKey(k) => r.hash_key(k),
                // Checked when the file was read: it compiles.
                RedactionRule::MaskValue(p) => {
                    r.clone().value_pattern(p, Action::Mask).unwrap_or(r)
                }
                RedactionRule::HashValue(p) => {
                    r.clone().value_pattern(p, Action::Hash).unwrap_or(r)
                }
            };
        }
        if let Some(secret) = &self.hash_secret {
            r = r.hash_secret(secret.as_bytes());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A file that sets every standard setting a file can make, with values
    /// that need escaping.
    const EVERYTHING: &str = r#"
file_format: "1.0"
resource:
  attributes_list: "service.name=cart,team=a%2Cb,note=50%25"
propagator:
  composite_list: baggage
tracer_provider:
  processors:
    - batch:
        schedule_delay: 250
        export_timeout: 1000
        max_queue_size: 64
        max_export_batch_size: 8
        exporter:
          otlp_grpc:
            endpoint: " collector:4317 "
            tls: { insecure: true, ca_file: " /etc/ca.pem " }
            compression: gzip
            timeout: 1500
            headers_list: "x-one=1%2C2,x-empty="
            headers:
              - { name: authorization, value: " Bearer a,b%c " }
    - batch:
        schedule_delay: 250
        export_timeout: 1000
        max_queue_size: 64
        max_export_batch_size: 8
        exporter:
          otlp_file/development:
            output_stream: file:///var/log/app%20x/traces.jsonl
meter_provider:
  exemplar_filter: always_off
  readers:
    - periodic:
        interval: 5000
        timeout: 2000
        exporter:
          otlp_http:
            endpoint: https://collector:4318/v1/metrics
            temporality_preference: delta
            tls: { key_file: /etc/key.pem, cert_file: /etc/cert.pem }
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_http: {}
"#;

    fn files() -> Vec<(String, String)> {
        let mut files = vec![("everything.yaml".to_owned(), EVERYTHING.to_owned())];
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
        for entry in std::fs::read_dir(dir).expect("the examples are there") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path.display().to_string(), text));
            }
        }
        files
    }

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The file sets the typed settings directly; the settings it shows, read
    /// back by the environment front-end, give exactly the same settings.
    #[test]
    fn what_a_file_shows_reads_back_as_what_it_set() {
        for (name, text) in files() {
            let env = vars(&[("RUST_LOG", "warn,cart=debug")]);
            let config = parse_with_env(&name, &text, |v| env.get(v).cloned()).unwrap();
            let shown = |var: &str| config.setting(var).map(str::to_owned);
            let read_back = Settings::read(&shown, &Settings::defaults());
            assert_eq!(
                format!("{read_back:#?}"),
                format!("{:#?}", config.settings.typed),
                "{name}"
            );
        }
        let config = parse_with_env("everything.yaml", EVERYTHING, |_| None).unwrap();
        let typed = &config.settings.typed;
        assert_eq!(typed.traces.otlp.endpoint, "http://collector:4317");
        assert_eq!(
            typed
                .traces
                .otlp
                .certificate
                .as_ref()
                .map(|c| c.value.as_str()),
            Some("/etc/ca.pem")
        );
        assert_eq!(
            typed.traces.otlp.headers,
            [
                ("x-one".to_owned(), "1,2".to_owned()),
                ("authorization".to_owned(), "Bearer a,b%c".to_owned())
            ]
        );
        assert_eq!(
            config.setting("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
            Some("x-one=1%2C2,authorization=Bearer a%2Cb%25c")
        );
        assert_eq!(
            typed.traces.otlp_file,
            crate::settings::OutputStream::File("/var/log/app x/traces.jsonl".into())
        );
        assert_eq!(typed.resource.service_name.as_deref(), Some("cart"));
        assert_eq!(config.setting("OTEL_PROPAGATORS"), Some("baggage"));
        assert_eq!(config.setting("OTEL_EXPORTER_OTLP_LOGS_HEADERS"), None);
    }

    /// What code sets with `Builder::setting` wins over the file; the rest
    /// stays as the file says, and the environment is not read.
    #[test]
    fn code_settings_apply_over_the_file() {
        let config = parse_with_env("everything.yaml", EVERYTHING, |_| None).unwrap();
        let b = config
            .builder()
            .setting("OTEL_BSP_SCHEDULE_DELAY", "7")
            .setting("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "300");
        assert!(!b.read_env);
        let s = Settings::from_code_and_env(&b.settings, b.read_env, b.file_settings.as_ref());
        let file = &config.settings.typed;
        assert_eq!(s.traces.batch.schedule_delay.as_millis(), 7);
        assert_eq!(s.traces.batch.max_queue_size, 64);
        assert_eq!(s.metrics.otlp.timeout.as_millis(), 300);
        assert_eq!(s.metrics.otlp.endpoint, file.metrics.otlp.endpoint);
        assert_eq!(s.metrics.otlp.client_key, file.metrics.otlp.client_key);
        assert_eq!(s.traces.otlp, file.traces.otlp);
        assert_eq!(s.metrics.export_interval.as_millis(), 5000);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        // An invalid value in code keeps what the file said, and says so.
        let b = config.builder().setting("OTEL_BSP_MAX_QUEUE_SIZE", "lots");
        let s = Settings::from_code_and_env(&b.settings, b.read_env, b.file_settings.as_ref());
        assert_eq!(s.traces.batch.max_queue_size, 64);
        assert_eq!(
            s.warnings,
            [
                r#"OTEL_BSP_MAX_QUEUE_SIZE="lots" is not valid (expected a whole number above 0); using 64"#
            ]
        );
    }
}
