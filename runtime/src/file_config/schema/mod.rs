//! The configuration model: reads the [`Node`] tree as the OpenTelemetry
//! configuration schema (1.x, 0.4, 0.3) describes it, plus `traced`'s extension
//! processors, into a [`FileConfig`].
//!
//! Every key is checked: a key the schema does not have is an error with the
//! nearest valid key; a key the schema has but `traced` cannot honour is an error
//! saying so, unless its value is null or the schema's default behaviour (which
//! changes nothing). Types and ranges are checked as the schema states them.

use super::error::{at, one_of, suggest, ConfigError, Pos};
use super::yaml::{Key, Node, Value};
use super::{
    Attribute, AttributeValue, Exporter, FileConfig, FileSettings, FilterConfig, Processor, Reader,
    RedactionConfig, RedactionRule, SamplerConfig, SpanKind, SpanMetricsConfig, Temporality,
};
use crate::settings::Settings;
use std::collections::{BTreeSet, HashMap};

type Result<T> = std::result::Result<T, ConfigError>;

mod extensions;
mod logs;
mod metrics;
mod otlp;
mod read;
mod resource;
mod traces;

/// The newest `file_format` minor version of major 1 this reader knows.
const KNOWN_MINOR: u64 = 1;

const TOP: &[&str] = &[
    "file_format",
    "disabled",
    "log_level",
    "attribute_limits",
    "logger_provider",
    "meter_provider",
    "propagator",
    "tracer_provider",
    "resource",
    "instrumentation/development",
    "instrumentation",
    "distribution",
];

const SEVERITIES: &[&str] = &[
    "trace", "trace2", "trace3", "trace4", "debug", "debug2", "debug3", "debug4", "info", "info2",
    "info3", "info4", "warn", "warn2", "warn3", "warn4", "error", "error2", "error3", "error4",
    "fatal", "fatal2", "fatal3", "fatal4",
];

/// The span processors: the schema's and `traced`'s.
const SPAN_PROCESSORS: &[&str] = &[
    "batch",
    "simple",
    "traced_span_metrics",
    "traced_filter",
    "traced_redaction",
    "traced_span_logs",
    "traced_baggage_attributes",
];

const NO_LIMITS: &str = "the SDK's limits cannot be set through traced's Builder";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn var(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    fn exporter(self) -> &'static str {
        match self {
            Signal::Traces => "span exporter",
            Signal::Metrics => "metric exporter",
            Signal::Logs => "log record exporter",
        }
    }
}

/// A mapping being read: its path (for messages), where it starts, its entries.
struct Obj<'n> {
    path: String,
    pos: Pos,
    entries: &'n [(Key, Node)],
}

impl<'n> Obj<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, n)| n)
    }

    fn entry(&self, key: &str) -> Option<&'n (Key, Node)> {
        self.entries.iter().find(|(k, _)| k.name == key)
    }

    /// Present and not null.
    fn set(&self, key: &str) -> Option<&'n (Key, Node)> {
        self.entry(key).filter(|(_, n)| n.value != Value::Null)
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// `in tracer_provider` or `at the top level`.
    fn place(&self) -> String {
        if self.path.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in {}", self.path)
        }
    }
}

/// The last segment of a path, as a name for messages.
fn leaf(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

struct Cx<'a> {
    file: &'a str,
    /// What the file sets, typed: the defaults until it says otherwise.
    settings: Settings,
    /// The standard names of what it set (`OTEL_BSP_SCHEDULE_DELAY`, ...).
    named: BTreeSet<String>,
    /// Where each shared setting was first given, for conflict messages.
    origins: HashMap<String, Pos>,
    /// Where each signal's OTLP exporter is, and each one-of-a-kind item.
    once: HashMap<String, Pos>,
    warnings: Vec<String>,
}

pub(crate) fn read(
    file: &str,
    root: Option<Node>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileConfig> {
    let Some(root) = root else {
        return Err(ConfigError::new(
            file,
            None,
            format!("{file} holds no configuration: it needs at least `file_format`, e.g. `file_format: \"1.0\"`"),
        ));
    };
    let mut cx = Cx {
        file,
        settings: Settings::defaults(),
        named: BTreeSet::new(),
        origins: HashMap::new(),
        once: HashMap::new(),
        warnings: Vec::new(),
    };
    if !matches!(root.value, Value::Map(_)) {
        return Err(cx.err(
            root.pos,
            format!(
                "expected a mapping at the top level of {file} at {}, found {}",
                cx.at(root.pos),
                root.value.describe()
            ),
        ));
    }
    let top = cx.obj(&root, String::new(), TOP)?;
    let file_format = cx.file_format(&top)?;

    let disabled = cx.boolean(&top, "disabled")?.unwrap_or(false);
    if disabled {
        cx.settings.sdk_disabled = true;
        cx.name("OTEL_SDK_DISABLED");
    }
    if let Some((key, node)) = top.set("log_level") {
        let level = cx.enumerated(node, "log_level", SEVERITIES)?;
        if level != "info" {
            return Err(cx.not_supported(
                &top,
                key,
                &format!("log_level: {level}"),
                "traced reports its own problems on stderr; only `info` (the default) is accepted",
            ));
        }
    }
    if let Some((_, node)) = top.entry("attribute_limits") {
        let limits = cx.obj(
            node,
            "attribute_limits".into(),
            &[
                "attribute_value_length_limit",
                "attribute_value_depth_limit",
                "attribute_count_limit",
            ],
        )?;
        cx.unsupported(&limits, "attribute_value_length_limit", NO_LIMITS)?;
        cx.default_only(&limits, "attribute_value_depth_limit", 64, NO_LIMITS)?;
        cx.default_only(&limits, "attribute_count_limit", 128, NO_LIMITS)?;
    }
    for key in ["instrumentation/development", "instrumentation"] {
        cx.unsupported(
            &top,
            key,
            "traced instruments code through #[traced]; there are no instrumentation libraries to configure",
        )?;
    }
    cx.unsupported(&top, "distribution", "traced is not a distribution with settings of its own; its extensions are the `traced_*` span processors")?;

    let resource = cx.resource(&top)?;
    cx.settings.propagators = cx.propagators(&top)?;
    cx.name("OTEL_PROPAGATORS");

    let mut config = FileConfig {
        source: file.to_owned(),
        file_format,
        disabled,
        resource,
        sampler: SamplerConfig::ParentBased(Box::new(SamplerConfig::AlwaysOn)),
        span_processors: Vec::new(),
        metric_readers: Vec::new(),
        log_processors: Vec::new(),
        settings: FileSettings::default(),
        span_metrics: None,
        filter: None,
        redaction: None,
        span_logs: false,
        baggage_attributes: Vec::new(),
        warnings: Vec::new(),
    };
    cx.tracer_provider(&top, &mut config)?;
    cx.meter_provider(&top, &mut config)?;
    cx.logger_provider(&top, &mut config)?;

    if config.span_metrics.is_some() && config.metric_readers.is_empty() {
        cx.warnings.push(format!(
            "{file}: traced_span_metrics counts spans, but there is no meter_provider reader to export the counts"
        ));
    }
    if config.span_logs && config.log_processors.is_empty() {
        cx.warnings.push(format!(
            "{file}: traced_span_logs makes log records, but there is no logger_provider processor to export them"
        ));
    }
    if let Some(level) = env("RUST_LOG").filter(|v| !v.trim().is_empty()) {
        cx.settings.logs.filter = level.trim().to_owned();
        cx.name("RUST_LOG");
    }
    config.settings = FileSettings::new(cx.settings, cx.named);
    config.warnings = cx.warnings;
    Ok(config)
}

/// A scalar as it would be written.
fn plain(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => s.clone(),
        _ => String::new(),
    }
}
