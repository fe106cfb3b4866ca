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
    Attribute, AttributeValue, Exporter, FileConfig, FilterConfig, Processor, Reader,
    RedactionConfig, RedactionRule, SamplerConfig, SpanKind, SpanMetricsConfig, Temporality,
};
use std::collections::{BTreeMap, HashMap};

type Result<T> = std::result::Result<T, ConfigError>;

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
    settings: BTreeMap<String, String>,
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
        settings: BTreeMap::new(),
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
        cx.settings
            .insert("OTEL_SDK_DISABLED".to_owned(), "true".to_owned());
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
    let propagators = cx.propagators(&top)?;
    cx.settings
        .insert("OTEL_PROPAGATORS".to_owned(), propagators);

    let mut config = FileConfig {
        source: file.to_owned(),
        file_format,
        disabled,
        resource,
        sampler: SamplerConfig::ParentBased(Box::new(SamplerConfig::AlwaysOn)),
        span_processors: Vec::new(),
        metric_readers: Vec::new(),
        log_processors: Vec::new(),
        settings: BTreeMap::new(),
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
        cx.settings.insert("RUST_LOG".to_owned(), level);
    }
    config.settings = cx.settings;
    config.warnings = cx.warnings;
    Ok(config)
}

impl Cx<'_> {
    fn at(&self, pos: Pos) -> String {
        at(self.file, pos)
    }

    fn err(&self, pos: Pos, message: String) -> ConfigError {
        ConfigError::new(self.file, Some(pos), message)
    }

    /// `node` as a mapping whose keys are all in `keys` (null reads as empty).
    fn obj<'n>(&self, node: &'n Node, path: String, keys: &[&str]) -> Result<Obj<'n>> {
        let entries: &[(Key, Node)] = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => return Err(self.expected(node, "a mapping", leaf(&path))),
        };
        for (key, _) in entries {
            if !keys.contains(&key.name.as_str()) {
                return Err(self.unknown_key(&path, key, keys));
            }
        }
        Ok(Obj {
            path,
            pos: node.pos,
            entries,
        })
    }

    fn unknown_key(&self, path: &str, key: &Key, keys: &[&str]) -> ConfigError {
        let mut message = if path.is_empty() {
            format!(
                "unknown top-level key `{}` at {}",
                key.name,
                self.at(key.pos)
            )
        } else {
            format!(
                "unknown key `{}` in {path} at {}",
                key.name,
                self.at(key.pos)
            )
        };
        match suggest(&key.name, keys) {
            Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
            None if keys.is_empty() => message.push_str("; it takes no keys"),
            None => message.push_str(&format!("; expected {}", one_of(keys))),
        }
        self.err(key.pos, message)
    }

    fn expected(&self, node: &Node, what: &str, name: &str) -> ConfigError {
        let mut message = format!(
            "expected {what} for `{name}` at {}, found {}",
            self.at(node.pos),
            node.value.describe()
        );
        if what == "a string"
            && matches!(node.value, Value::Int(_) | Value::Float(_) | Value::Bool(_))
        {
            message.push_str(&format!(
                "; quote it to make it a string (\"{}\")",
                plain(&node.value)
            ));
        }
        self.err(node.pos, message)
    }

    fn not_supported(&self, obj: &Obj<'_>, key: &Key, what: &str, why: &str) -> ConfigError {
        self.err(
            key.pos,
            format!(
                "`{what}` {} at {} is not supported by traced: {why}",
                obj.place(),
                self.at(key.pos)
            ),
        )
    }

    /// An error if `key` is set (to anything but null).
    fn unsupported(&self, obj: &Obj<'_>, key: &str, why: &str) -> Result<()> {
        match obj.set(key) {
            Some((k, _)) => Err(self.not_supported(obj, k, key, why)),
            None => Ok(()),
        }
    }

    /// An error if `key` is set to anything but `default` (a whole number).
    fn default_only(&self, obj: &Obj<'_>, key: &str, default: u64, why: &str) -> Result<()> {
        match (self.uint(obj, key)?, obj.entry(key)) {
            (Some(v), Some((k, _))) if v != default => Err(self.not_supported(
                obj,
                k,
                &format!("{key}: {v}"),
                &format!("{why}; only the default ({default}) is accepted"),
            )),
            _ => Ok(()),
        }
    }

    /// An error if `key` is set to anything but `default` (a boolean).
    fn default_bool(&self, obj: &Obj<'_>, key: &str, default: bool, why: &str) -> Result<()> {
        match (self.boolean(obj, key)?, obj.entry(key)) {
            (Some(v), Some((k, _))) if v != default => Err(self.not_supported(
                obj,
                k,
                &format!("{key}: {v}"),
                &format!("{why}; only the default ({default}) is accepted"),
            )),
            _ => Ok(()),
        }
    }

    fn require<'n>(&self, obj: &Obj<'n>, key: &str) -> Result<&'n Node> {
        match obj.entry(key) {
            Some((_, node)) if node.value != Value::Null => Ok(node),
            Some((k, _)) => Err(self.err(
                k.pos,
                format!("`{key}` {} at {} has no value", obj.place(), self.at(k.pos)),
            )),
            None => Err(self.err(
                obj.pos,
                format!("missing `{key}` {} at {}", obj.place(), self.at(obj.pos)),
            )),
        }
    }

    fn as_string(&self, node: &Node, name: &str) -> Result<Option<String>> {
        match &node.value {
            Value::Null => Ok(None),
            Value::Str(s) => Ok(Some(s.clone())),
            _ => Err(self.expected(node, "a string", name)),
        }
    }

    fn string(&self, obj: &Obj<'_>, key: &str) -> Result<Option<String>> {
        obj.get(key)
            .map_or(Ok(None), |node| self.as_string(node, key))
    }

    fn required_string(&self, obj: &Obj<'_>, key: &str) -> Result<String> {
        let node = self.require(obj, key)?;
        Ok(self.as_string(node, key)?.unwrap_or_default())
    }

    fn uint(&self, obj: &Obj<'_>, key: &str) -> Result<Option<u64>> {
        let Some(node) = obj.get(key) else {
            return Ok(None);
        };
        match node.value {
            Value::Null => Ok(None),
            Value::Int(i) => u64::try_from(i).map(Some).map_err(|_| {
                self.err(
                    node.pos,
                    format!(
                        "`{key}` at {} must be 0 or more, found {i}",
                        self.at(node.pos)
                    ),
                )
            }),
            _ => Err(self.expected(node, "a whole number", key)),
        }
    }

    fn positive(&self, obj: &Obj<'_>, key: &str) -> Result<Option<u64>> {
        match self.uint(obj, key)? {
            Some(0) => {
                let node = obj.get(key).expect("it was read");
                Err(self.err(
                    node.pos,
                    format!("`{key}` at {} must be above 0, found 0", self.at(node.pos)),
                ))
            }
            other => Ok(other),
        }
    }

    /// Milliseconds where the schema's 0 means "no limit", which traced does not do.
    fn bounded_millis(&self, obj: &Obj<'_>, key: &str, default: u64) -> Result<u64> {
        match self.uint(obj, key)? {
            Some(0) => {
                let (k, _) = obj.entry(key).expect("it was read");
                Err(self.not_supported(
                    obj,
                    k,
                    &format!("{key}: 0"),
                    "0 means no limit, and traced bounds every export; give a number of milliseconds",
                ))
            }
            Some(ms) => Ok(ms),
            None => Ok(default),
        }
    }

    fn as_number(&self, node: &Node, name: &str) -> Result<Option<f64>> {
        match node.value {
            Value::Null => Ok(None),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok(Some(i as f64)),
            Value::Float(f) => Ok(Some(f)),
            _ => Err(self.expected(node, "a number", name)),
        }
    }

    fn boolean(&self, obj: &Obj<'_>, key: &str) -> Result<Option<bool>> {
        let Some(node) = obj.get(key) else {
            return Ok(None);
        };
        match node.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            _ => Err(self.expected(node, "true or false", key)),
        }
    }

    fn list<'n>(&self, obj: &Obj<'n>, key: &str) -> Result<&'n [Node]> {
        let Some(node) = obj.get(key) else {
            return Ok(&[]);
        };
        match &node.value {
            Value::Null => Ok(&[]),
            Value::Seq(items) => Ok(items),
            _ => Err(self.expected(node, "a list", key)),
        }
    }

    fn strings(&self, obj: &Obj<'_>, key: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (i, item) in self.list(obj, key)?.iter().enumerate() {
            match self.as_string(item, &format!("{key}[{i}]"))? {
                Some(s) => out.push(s),
                None => return Err(self.expected(item, "a string", &format!("{key}[{i}]"))),
            }
        }
        Ok(out)
    }

    /// A string that must be one of `options`.
    fn enumerated(&self, node: &Node, name: &str, options: &[&str]) -> Result<String> {
        let value = self
            .as_string(node, name)?
            .ok_or_else(|| self.expected(node, "a string", name))?;
        if options.contains(&value.as_str()) {
            return Ok(value);
        }
        let mut message = format!(
            "unknown value `{value}` for `{name}` at {}; expected {}",
            self.at(node.pos),
            one_of(options)
        );
        if let Some(s) = suggest(&value, options) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        Err(self.err(node.pos, message))
    }

    /// A one-key mapping that names a component (`exporter: {otlp_http: ...}`):
    /// the key and its value. `unsupported` are names the schema has that traced
    /// does not do, with why.
    fn select<'n>(
        &self,
        node: &'n Node,
        path: &str,
        what: &str,
        supported: &[&str],
        unsupported: &[(&str, &str)],
    ) -> Result<(&'n Key, &'n Node)> {
        let entries: &[(Key, Node)] = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => return Err(self.expected(node, "a mapping", leaf(path))),
        };
        let (key, value) = match entries {
            [(key, value)] => (key, value),
            [] => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "`{}` at {} names no {what}; expected {}",
                        leaf(path),
                        self.at(node.pos),
                        one_of(supported)
                    ),
                ))
            }
            [_, (second, _), ..] => {
                let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
                return Err(self.err(
                    second.pos,
                    format!(
                        "`{}` at {} names {} components ({}); each entry takes exactly one {what}",
                        leaf(path),
                        self.at(node.pos),
                        names.len(),
                        one_of(&names)
                    ),
                ));
            }
        };
        if supported.contains(&key.name.as_str()) {
            return Ok((key, value));
        }
        if let Some((_, why)) = unsupported.iter().find(|(name, _)| *name == key.name) {
            return Err(self.err(
                key.pos,
                format!(
                    "the {what} `{}` in {path} at {} is not supported by traced: {why}",
                    key.name,
                    self.at(key.pos)
                ),
            ));
        }
        let mut message = format!(
            "unknown {what} `{}` in {path} at {}; expected {}",
            key.name,
            self.at(key.pos),
            one_of(supported)
        );
        let all: Vec<&str> = supported
            .iter()
            .copied()
            .chain(unsupported.iter().map(|(n, _)| *n))
            .collect();
        if let Some(s) = suggest(&key.name, &all) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        Err(self.err(key.pos, message))
    }

    /// Records a setting several parts of the file share (all batch span
    /// processors use `OTEL_BSP_*`, for example): an error if two parts disagree.
    fn shared(
        &mut self,
        name: &str,
        value: String,
        given: Option<Pos>,
        at: Pos,
        what: &str,
    ) -> Result<()> {
        if let Some(previous) = self.settings.get(name) {
            if *previous != value {
                let first = self.origins[name];
                let value = match given {
                    Some(_) => value,
                    None => format!("{value} (the default)"),
                };
                return Err(self.err(
                    given.unwrap_or(at),
                    format!(
                        "{what} at {} is {value}, but the one at {} is {previous}: traced has one setting for all of them ({name}), so they must agree",
                        self.at(given.unwrap_or(at)),
                        self.at(first)
                    ),
                ));
            }
            return Ok(());
        }
        self.settings.insert(name.to_owned(), value);
        self.origins.insert(name.to_owned(), given.unwrap_or(at));
        Ok(())
    }

    /// An error if `what` was already seen (one OTLP exporter per signal, ...).
    fn once(&mut self, what: &str, pos: Pos, why: &str) -> Result<()> {
        if let Some(first) = self.once.get(what) {
            return Err(self.err(
                pos,
                format!(
                    "a second {what} at {} cannot be mapped (the first is at {}): {why}",
                    self.at(pos),
                    self.at(*first)
                ),
            ));
        }
        self.once.insert(what.to_owned(), pos);
        Ok(())
    }

    fn file_format(&mut self, top: &Obj<'_>) -> Result<String> {
        let Some((key, node)) = top.entry("file_format") else {
            return Err(self.err(
                top.pos,
                format!(
                    "missing `file_format` at the top level of {}: it is required, e.g. `file_format: \"1.0\"`",
                    self.file
                ),
            ));
        };
        let version = self
            .as_string(node, "file_format")?
            .ok_or_else(|| self.expected(node, "a string", &key.name))?;
        let numbers = version.split('-').next().unwrap_or_default();
        let mut parts = numbers.split('.').map(str::parse::<u64>);
        let (major, minor) = match (parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor))) if parts.all(|p| p.is_ok()) => (major, minor),
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "invalid file_format `{version}` at {}: expected a version such as \"1.0\"",
                        self.at(node.pos)
                    ),
                ))
            }
        };
        match (major, minor) {
            (0, 3 | 4) => {}
            (1, minor) if minor <= KNOWN_MINOR => {}
            (1, _) => self.warnings.push(format!(
                "{}: file_format {version} is newer than the 1.{KNOWN_MINOR} traced knows; keys it does not know are reported as errors",
                self.file
            )),
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "unsupported file_format `{version}` at {}: traced reads 1.x, 0.4 and 0.3",
                        self.at(node.pos)
                    ),
                ))
            }
        }
        Ok(version)
    }

    fn resource(&mut self, top: &Obj<'_>) -> Result<Vec<Attribute>> {
        let Some(node) = top.get("resource") else {
            return Ok(Vec::new());
        };
        let o = self.obj(
            node,
            "resource".into(),
            &[
                "attributes",
                "attributes_list",
                "schema_url",
                "detection/development",
                "detectors",
            ],
        )?;
        self.unsupported(
            &o,
            "schema_url",
            "traced's Builder cannot set a resource schema URL",
        )?;
        for key in ["detection/development", "detectors"] {
            self.unsupported(
                &o,
                key,
                "resource detectors are not run; set the attributes you need under `attributes`",
            )?;
        }
        if let Some(list) = self.string(&o, "attributes_list")? {
            self.settings
                .insert("OTEL_RESOURCE_ATTRIBUTES".to_owned(), list);
        }
        let mut out: Vec<Attribute> = Vec::new();
        for (i, item) in self.list(&o, "attributes")?.iter().enumerate() {
            let a = self.obj(
                item,
                format!("resource.attributes[{i}]"),
                &["name", "value", "type"],
            )?;
            let name = self.required_string(&a, "name")?;
            let ty = match a.set("type") {
                Some((_, t)) => self.enumerated(
                    t,
                    "type",
                    &[
                        "string",
                        "bool",
                        "int",
                        "double",
                        "string_array",
                        "bool_array",
                        "int_array",
                        "double_array",
                    ],
                )?,
                None => "string".to_owned(),
            };
            let Some((_, value)) = a.entry("value") else {
                return Err(self.err(
                    a.pos,
                    format!("missing `value` {} at {}", a.place(), self.at(a.pos)),
                ));
            };
            // A null value leaves the entry out, as the schema says.
            if value.value == Value::Null {
                continue;
            }
            let value = self.attribute_value(value, &ty)?;
            out.retain(|existing| existing.name != name);
            out.push(Attribute { name, value });
        }
        Ok(out)
    }

    fn attribute_value(&self, node: &Node, ty: &str) -> Result<AttributeValue> {
        let with_type = |e: ConfigError| {
            let message = format!("{e} (the attribute's `type` is {ty})");
            ConfigError::new(self.file, Some(node.pos), message)
        };
        let one = |n: &Node, name: &str, element: &str| -> Result<AttributeValue> {
            Ok(match (element, &n.value) {
                ("string", Value::Str(s)) => AttributeValue::String(s.clone()),
                ("bool", Value::Bool(b)) => AttributeValue::Bool(*b),
                ("int", Value::Int(i)) => AttributeValue::Int(*i),
                #[allow(clippy::cast_precision_loss)]
                ("double", Value::Int(i)) => AttributeValue::Double(*i as f64),
                ("double", Value::Float(f)) => AttributeValue::Double(*f),
                ("string", _) => return Err(self.expected(n, "a string", name)),
                ("bool", _) => return Err(self.expected(n, "true or false", name)),
                ("int", _) => return Err(self.expected(n, "a whole number", name)),
                _ => return Err(self.expected(n, "a number", name)),
            })
        };
        let Some(element) = ty.strip_suffix("_array") else {
            return one(node, "value", ty).map_err(with_type);
        };
        let Value::Seq(items) = &node.value else {
            return Err(with_type(self.expected(node, "a list", "value")));
        };
        let values = items
            .iter()
            .enumerate()
            .map(|(i, n)| one(n, &format!("value[{i}]"), element))
            .collect::<Result<Vec<_>>>()
            .map_err(with_type)?;
        let mut array = match element {
            "string" => AttributeValue::StringArray(Vec::new()),
            "bool" => AttributeValue::BoolArray(Vec::new()),
            "int" => AttributeValue::IntArray(Vec::new()),
            _ => AttributeValue::DoubleArray(Vec::new()),
        };
        for value in values {
            match (&mut array, value) {
                (AttributeValue::StringArray(a), AttributeValue::String(s)) => a.push(s),
                (AttributeValue::BoolArray(a), AttributeValue::Bool(b)) => a.push(b),
                (AttributeValue::IntArray(a), AttributeValue::Int(i)) => a.push(i),
                (AttributeValue::DoubleArray(a), AttributeValue::Double(d)) => a.push(d),
                _ => unreachable!("`one` returns the element type"),
            }
        }
        Ok(array)
    }

    fn propagators(&self, top: &Obj<'_>) -> Result<String> {
        const SUPPORTED: &[&str] = &["tracecontext", "baggage"];
        const WHY: &str = "no maintained propagator for it works with opentelemetry 0.33";
        const UNSUPPORTED: &[(&str, &str)] = &[
            ("b3", WHY),
            ("b3multi", WHY),
            ("jaeger", WHY),
            ("xray", WHY),
            ("ottrace", WHY),
        ];
        // No propagator section: the specification's default, a no-op propagator.
        let Some(node) = top.get("propagator") else {
            return Ok("none".to_owned());
        };
        let o = self.obj(node, "propagator".into(), &["composite", "composite_list"])?;
        let mut chosen: Vec<String> = Vec::new();
        for (i, item) in self.list(&o, "composite")?.iter().enumerate() {
            let path = format!("propagator.composite[{i}]");
            let (key, value) = self.select(item, &path, "propagator", SUPPORTED, UNSUPPORTED)?;
            self.obj(value, format!("{path}.{}", key.name), &[])?;
            chosen.push(key.name.clone());
        }
        if let Some((_, node)) = o.set("composite_list") {
            let list = self.as_string(node, "composite_list")?.unwrap_or_default();
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if SUPPORTED.contains(&name) {
                    chosen.push(name.to_owned());
                } else if name == "none" {
                } else if UNSUPPORTED.iter().any(|(n, _)| *n == name) {
                    return Err(self.err(
                        node.pos,
                        format!(
                            "the propagator `{name}` in propagator.composite_list at {} is not supported by traced: {WHY}",
                            self.at(node.pos)
                        ),
                    ));
                } else {
                    let mut message = format!(
                        "unknown propagator `{name}` in propagator.composite_list at {}; expected {}",
                        self.at(node.pos),
                        one_of(&["tracecontext", "baggage", "none"])
                    );
                    if let Some(s) = suggest(name, SUPPORTED) {
                        message.push_str(&format!("; did you mean `{s}`?"));
                    }
                    return Err(self.err(node.pos, message));
                }
            }
        }
        let mut unique: Vec<String> = Vec::new();
        for name in chosen {
            if !unique.contains(&name) {
                unique.push(name);
            }
        }
        Ok(if unique.is_empty() {
            "none".to_owned()
        } else {
            unique.join(",")
        })
    }

    fn sampler(&self, node: &Node, path: &str) -> Result<SamplerConfig> {
        const NOT_MAPPED: &str = "traced's Builder takes the SDK's samplers: always_on, always_off, trace_id_ratio_based and parent_based";
        let (key, value) = self.select(
            node,
            path,
            "sampler",
            &["always_on", "always_off", "trace_id_ratio_based", "parent_based"],
            &[
                ("always_record", "with `traced_span_metrics` traced records every span itself, and only exports the sampled ones"),
                ("composite/development", NOT_MAPPED),
                ("jaeger_remote/development", NOT_MAPPED),
                ("jaeger_remote", NOT_MAPPED),
                ("probability/development", NOT_MAPPED),
            ],
        )?;
        let path = format!("{path}.{}", key.name);
        Ok(match key.name.as_str() {
            "always_on" => {
                self.obj(value, path, &[])?;
                SamplerConfig::AlwaysOn
            }
            "always_off" => {
                self.obj(value, path, &[])?;
                SamplerConfig::AlwaysOff
            }
            "trace_id_ratio_based" => {
                let o = self.obj(value, path, &["ratio"])?;
                let ratio = match o.get("ratio") {
                    Some(n) => self.as_number(n, "ratio")?.map_or(Ok(1.0), |r| {
                        if (0.0..=1.0).contains(&r) {
                            Ok(r)
                        } else {
                            Err(self.err(
                                n.pos,
                                format!(
                                    "`ratio` at {} must be from 0 to 1, found {r}",
                                    self.at(n.pos)
                                ),
                            ))
                        }
                    })?,
                    None => 1.0,
                };
                SamplerConfig::TraceIdRatioBased(ratio)
            }
            _ => {
                let o = self.obj(
                    value,
                    path,
                    &[
                        "root",
                        "remote_parent_sampled",
                        "remote_parent_not_sampled",
                        "local_parent_sampled",
                        "local_parent_not_sampled",
                    ],
                )?;
                let root = match o.set("root") {
                    Some((_, n)) => self.sampler(n, &o.child("root"))?,
                    None => SamplerConfig::AlwaysOn,
                };
                for (key, fixed) in [
                    ("remote_parent_sampled", SamplerConfig::AlwaysOn),
                    ("remote_parent_not_sampled", SamplerConfig::AlwaysOff),
                    ("local_parent_sampled", SamplerConfig::AlwaysOn),
                    ("local_parent_not_sampled", SamplerConfig::AlwaysOff),
                ] {
                    if let Some((k, n)) = o.set(key) {
                        if self.sampler(n, &o.child(key))? != fixed {
                            let name = if fixed == SamplerConfig::AlwaysOn {
                                "always_on"
                            } else {
                                "always_off"
                            };
                            return Err(self.not_supported(
                                &o,
                                k,
                                key,
                                &format!("the SDK's parent-based sampler follows the parent's decision, so only `{name}` (the default) is accepted here"),
                            ));
                        }
                    }
                }
                SamplerConfig::ParentBased(Box::new(root))
            }
        })
    }

    fn tracer_provider(&mut self, top: &Obj<'_>, config: &mut FileConfig) -> Result<()> {
        let Some(node) = top.get("tracer_provider") else {
            return Ok(());
        };
        let o = self.obj(
            node,
            "tracer_provider".into(),
            &[
                "processors",
                "limits",
                "sampler",
                "id_generator",
                "tracer_configurator/development",
            ],
        )?;
        if let Some((_, n)) = o.entry("limits") {
            let limits = self.obj(
                n,
                o.child("limits"),
                &[
                    "attribute_value_length_limit",
                    "attribute_value_depth_limit",
                    "attribute_count_limit",
                    "event_count_limit",
                    "link_count_limit",
                    "event_attribute_count_limit",
                    "link_attribute_count_limit",
                ],
            )?;
            self.unsupported(&limits, "attribute_value_length_limit", NO_LIMITS)?;
            self.default_only(&limits, "attribute_value_depth_limit", 64, NO_LIMITS)?;
            for key in [
                "attribute_count_limit",
                "event_count_limit",
                "link_count_limit",
                "event_attribute_count_limit",
                "link_attribute_count_limit",
            ] {
                self.default_only(&limits, key, 128, NO_LIMITS)?;
            }
        }
        if let Some((_, n)) = o.set("id_generator") {
            let (key, value) = self.select(
                n,
                &o.child("id_generator"),
                "id generator",
                &["random"],
                &[],
            )?;
            self.obj(
                value,
                format!("{}.{}", o.child("id_generator"), key.name),
                &[],
            )?;
        }
        self.unsupported(
            &o,
            "tracer_configurator/development",
            "tracers cannot be configured one by one",
        )?;
        if let Some((_, n)) = o.set("sampler") {
            config.sampler = self.sampler(n, &o.child("sampler"))?;
        }

        let list = self.require(&o, "processors")?;
        let items = self.list(&o, "processors")?;
        if items.is_empty() {
            return Err(self.err(
                list.pos,
                format!(
                    "`processors` in tracer_provider at {} is empty: give at least one",
                    self.at(list.pos)
                ),
            ));
        }
        let mut first_exporting: Option<(String, Pos)> = None;
        for (i, item) in items.iter().enumerate() {
            let path = format!("tracer_provider.processors[{i}]");
            let (key, value) = self.select(item, &path, "span processor", SPAN_PROCESSORS, &[])?;
            let path = format!("{path}.{}", key.name);
            let name = key.name.as_str();
            if name.starts_with("traced_") {
                self.once(
                    &format!("`{name}` processor"),
                    key.pos,
                    "there is one of each traced processor",
                )?;
            }
            match name {
                "batch" | "simple" => {
                    let processor = if name == "batch" {
                        self.batch(value, path, Signal::Traces)?
                    } else {
                        self.simple(value, path, Signal::Traces)?
                    };
                    config.span_processors.push(processor);
                    first_exporting.get_or_insert((name.to_owned(), key.pos));
                }
                "traced_filter" | "traced_redaction" => {
                    if let Some((exporting, pos)) = &first_exporting {
                        return Err(self.err(
                            key.pos,
                            format!(
                                "`{name}` at {} comes after the exporting processor `{exporting}` at {}: it applies to every exporting processor, so list it before them",
                                self.at(key.pos),
                                self.at(*pos)
                            ),
                        ));
                    }
                    if name == "traced_filter" {
                        config.filter = Some(self.filter(value, path)?);
                    } else {
                        config.redaction = Some(self.redaction(value, path)?);
                    }
                }
                "traced_span_metrics" => {
                    config.span_metrics = Some(self.span_metrics(value, path)?)
                }
                "traced_span_logs" => {
                    self.obj(value, path, &[])?;
                    config.span_logs = true;
                }
                _ => {
                    let o = self.obj(value, path, &["keys"])?;
                    self.require(&o, "keys")?;
                    config.baggage_attributes = self.strings(&o, "keys")?;
                }
            }
        }
        Ok(())
    }

    /// A batch span or log record processor: its settings and its exporter.
    fn batch(&mut self, node: &Node, path: String, signal: Signal) -> Result<Processor> {
        let o = self.obj(
            node,
            path,
            &[
                "schedule_delay",
                "export_timeout",
                "max_queue_size",
                "max_export_batch_size",
                "exporter",
            ],
        )?;
        let (prefix, what, delay) = match signal {
            Signal::Logs => ("OTEL_BLRP", "batch log record processors", 1000),
            _ => ("OTEL_BSP", "batch span processors", 5000),
        };
        let schedule_delay = self.uint(&o, "schedule_delay")?.unwrap_or(delay);
        let export_timeout = self.bounded_millis(&o, "export_timeout", 30_000)?;
        let queue = self.positive(&o, "max_queue_size")?.unwrap_or(2048);
        let batch = self.positive(&o, "max_export_batch_size")?.unwrap_or(512);
        if batch > queue {
            let pos = o
                .get("max_export_batch_size")
                .or_else(|| o.get("max_queue_size"))
                .map_or(o.pos, |n| n.pos);
            return Err(self.err(
                pos,
                format!(
                    "`max_export_batch_size` ({batch}) {} at {} is larger than `max_queue_size` ({queue})",
                    o.place(),
                    self.at(pos)
                ),
            ));
        }
        for (key, value) in [
            ("schedule_delay", schedule_delay),
            ("export_timeout", export_timeout),
            ("max_queue_size", queue),
            ("max_export_batch_size", batch),
        ] {
            self.shared(
                &format!("{prefix}_{}", key.to_ascii_uppercase()),
                value.to_string(),
                o.set(key).map(|(_, n)| n.pos),
                o.pos,
                &format!("`{key}` of {what}"),
            )?;
        }
        let exporter = self.require(&o, "exporter")?;
        let (exporter, _) = self.exporter(exporter, o.child("exporter"), signal)?;
        Ok(Processor::Batch(exporter))
    }

    /// A simple span or log record processor: only the console exporter.
    fn simple(&mut self, node: &Node, path: String, signal: Signal) -> Result<Processor> {
        let o = self.obj(node, path, &["exporter"])?;
        let node = self.require(&o, "exporter")?;
        let (exporter, _) = self.exporter(node, o.child("exporter"), signal)?;
        if exporter != Exporter::Console {
            let (what, does) = if exporter == Exporter::OtlpFile {
                ("OTLP file export", "writes OTLP files")
            } else {
                ("OTLP export", "sends OTLP")
            };
            return Err(self.err(
                node.pos,
                format!(
                    "{what} behind a `simple` processor {} at {} cannot be mapped: traced {does} from a batch processor, never from the application's threads; use `batch`",
                    o.place(),
                    self.at(node.pos)
                ),
            ));
        }
        Ok(Processor::Simple(exporter))
    }

    /// An exporter of `signal`, with its settings; the temporality is the console
    /// metric exporter's.
    fn exporter(
        &mut self,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<(Exporter, Temporality)> {
        // The 0.3 format's OTLP exporter, `otlp`, where `protocol` chooses the transport.
        if let Value::Map(entries) = &node.value {
            if let [(key, value)] = entries.as_slice() {
                if key.name == "otlp" {
                    return self.otlp(key, value, format!("{path}.otlp"), signal);
                }
            }
        }
        let (key, value) = self.select(
            node,
            &path,
            signal.exporter(),
            &["otlp_http", "otlp_grpc", "otlp_file/development", "console"],
            &[(
                "zipkin",
                "traced has no Zipkin exporter; send OTLP to a collector",
            )],
        )?;
        let path = format!("{path}.{}", key.name);
        if key.name == "otlp_file/development" {
            return self.otlp_file(key, value, path, signal);
        }
        if key.name == "console" {
            let what = format!("console {}", signal.exporter());
            self.once(&what, key.pos, "one console is enough")?;
            if signal != Signal::Metrics {
                self.obj(value, path, &[])?;
                return Ok((Exporter::Console, Temporality::Cumulative));
            }
            let o = self.obj(
                value,
                path,
                &["temporality_preference", "default_histogram_aggregation"],
            )?;
            self.histogram_aggregation(&o)?;
            return Ok((Exporter::Console, self.temporality(&o)?));
        }
        self.otlp(key, value, path, signal)
    }

    /// `otlp_file/development`: its `output_stream` (`stdout`, the default, or
    /// a `file:///path` URI) as the signal's `TRACED_OTLP_FILE_*` setting.
    fn otlp_file(
        &mut self,
        key: &Key,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<(Exporter, Temporality)> {
        let mut keys = vec!["output_stream"];
        if signal == Signal::Metrics {
            keys.extend(["temporality_preference", "default_histogram_aggregation"]);
        }
        let o = self.obj(node, path, &keys)?;
        self.once(
            &format!("OTLP file {}", signal.exporter()),
            key.pos,
            "traced writes each signal to one output stream",
        )?;
        let stream = match o.set("output_stream") {
            None => "stdout".to_owned(),
            Some((_, n)) => {
                let stream = self.as_string(n, "output_stream")?.unwrap_or_default();
                if let Err(expected) = crate::settings::OutputStream::parse(stream.trim(), false) {
                    return Err(self.err(
                        n.pos,
                        format!(
                            "`output_stream` {} at {} is {stream:?}; expected {expected}",
                            o.place(),
                            self.at(n.pos)
                        ),
                    ));
                }
                stream.trim().to_owned()
            }
        };
        self.settings
            .insert(format!("TRACED_OTLP_FILE_{}", signal.var()), stream);
        let mut temporality = Temporality::Cumulative;
        if signal == Signal::Metrics {
            self.histogram_aggregation(&o)?;
            temporality = self.temporality(&o)?;
            self.metrics_temporality(&o, temporality)?;
        }
        Ok((Exporter::OtlpFile, temporality))
    }

    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, which the OTLP and
    /// the OTLP file metric exporters share.
    fn metrics_temporality(&mut self, o: &Obj<'_>, temporality: Temporality) -> Result<()> {
        self.shared(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            match temporality {
                Temporality::Cumulative => "cumulative",
                Temporality::Delta => "delta",
                Temporality::LowMemory => "lowmemory",
            }
            .to_owned(),
            o.set("temporality_preference").map(|(_, n)| n.pos),
            o.pos,
            "`temporality_preference` of OTLP metric exporters",
        )
    }

    fn temporality(&self, o: &Obj<'_>) -> Result<Temporality> {
        Ok(match o.set("temporality_preference") {
            Some((_, n)) => {
                match self
                    .enumerated(
                        n,
                        "temporality_preference",
                        &["cumulative", "delta", "low_memory"],
                    )?
                    .as_str()
                {
                    "delta" => Temporality::Delta,
                    "low_memory" => Temporality::LowMemory,
                    _ => Temporality::Cumulative,
                }
            }
            None => Temporality::Cumulative,
        })
    }

    fn histogram_aggregation(&self, o: &Obj<'_>) -> Result<()> {
        if let Some((k, n)) = o.set("default_histogram_aggregation") {
            let value = self.enumerated(
                n,
                "default_histogram_aggregation",
                &[
                    "explicit_bucket_histogram",
                    "base2_exponential_bucket_histogram",
                ],
            )?;
            if value != "explicit_bucket_histogram" {
                return Err(self.not_supported(
                    o,
                    k,
                    &format!("default_histogram_aggregation: {value}"),
                    "histograms use explicit buckets",
                ));
            }
        }
        Ok(())
    }

    /// An OTLP exporter: `otlp_http`, `otlp_grpc`, or the 0.3 format's `otlp`.
    fn otlp(
        &mut self,
        key: &Key,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<(Exporter, Temporality)> {
        let legacy = key.name == "otlp";
        let mut keys = vec![
            "endpoint",
            "tls",
            "headers",
            "headers_list",
            "compression",
            "max_request_size",
            "max_response_size",
            "timeout",
        ];
        if key.name != "otlp_grpc" {
            keys.push("encoding");
        }
        if legacy {
            keys.extend([
                "protocol",
                "certificate",
                "client_key",
                "client_certificate",
                "insecure",
            ]);
        }
        if signal == Signal::Metrics {
            keys.extend(["temporality_preference", "default_histogram_aggregation"]);
        }
        let o = self.obj(node, path, &keys)?;
        let exporter = match key.name.as_str() {
            "otlp_http" => Exporter::OtlpHttp,
            "otlp_grpc" => Exporter::OtlpGrpc,
            _ => {
                let protocol = self.require(&o, "protocol")?;
                match self
                    .enumerated(
                        protocol,
                        "protocol",
                        &["http/protobuf", "grpc", "http/json"],
                    )?
                    .as_str()
                {
                    "grpc" => Exporter::OtlpGrpc,
                    "http/protobuf" => Exporter::OtlpHttp,
                    _ => {
                        let (k, _) = o.entry("protocol").expect("it was read");
                        return Err(self.not_supported(
                            &o,
                            k,
                            "protocol: http/json",
                            "traced sends OTLP as protobuf",
                        ));
                    }
                }
            }
        };
        self.once(
            &format!("OTLP {}", signal.exporter()),
            key.pos,
            "traced sends each signal to one OTLP endpoint",
        )?;
        let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{}_{suffix}", signal.var());

        let endpoint = match self.string(&o, "endpoint")? {
            Some(e) if !e.trim().is_empty() => e,
            _ if exporter == Exporter::OtlpGrpc => "http://localhost:4317".to_owned(),
            _ => format!("http://localhost:4318/v1/{}", signal.path()),
        };
        self.settings.insert(var("ENDPOINT"), endpoint);
        self.settings.insert(
            var("PROTOCOL"),
            if exporter == Exporter::OtlpGrpc {
                "grpc"
            } else {
                "http/protobuf"
            }
            .to_owned(),
        );
        let timeout = self.bounded_millis(&o, "timeout", 10_000)?;
        self.settings.insert(var("TIMEOUT"), timeout.to_string());
        if let Some(headers) = self.headers(&o)? {
            self.settings.insert(var("HEADERS"), headers);
        }

        if let Some((_, n)) = o.set("compression") {
            match self
                .as_string(n, "compression")?
                .unwrap_or_default()
                .as_str()
            {
                "none" => {}
                "gzip" => {
                    self.settings.insert(var("COMPRESSION"), "gzip".to_owned());
                }
                other => {
                    return Err(self.err(
                        n.pos,
                        format!(
                            "unknown value `{other}` for `compression` at {}; expected `none` or `gzip`",
                            self.at(n.pos)
                        ),
                    ))
                }
            }
        }
        if let Some((k, n)) = o.set("encoding") {
            if self.enumerated(n, "encoding", &["protobuf", "json"])? == "json" {
                return Err(self.not_supported(
                    &o,
                    k,
                    "encoding: json",
                    "traced sends OTLP as protobuf",
                ));
            }
        }
        // TLS: `tls {ca_file, key_file, cert_file, insecure}` (1.x, 0.4), or the
        // 0.3 format's `certificate`, `client_key`, `client_certificate`,
        // `insecure`, each as the signal's OTEL_EXPORTER_OTLP_* setting.
        let grpc = exporter == Exporter::OtlpGrpc;
        let tls_block;
        let (tls, names) = match o.entry("tls") {
            Some((_, n)) => {
                tls_block = self.obj(
                    n,
                    o.child("tls"),
                    &["ca_file", "key_file", "cert_file", "insecure"],
                )?;
                (&tls_block, ["ca_file", "key_file", "cert_file"])
            }
            None => (&o, ["certificate", "client_key", "client_certificate"]),
        };
        for (key, suffix) in
            names
                .into_iter()
                .zip(["CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE"])
        {
            if let Some(file) = self.string(tls, key)?.filter(|f| !f.trim().is_empty()) {
                self.settings.insert(var(suffix), file);
            }
        }
        for obj in [tls, &o] {
            if grpc {
                if self.boolean(obj, "insecure")? == Some(true) {
                    self.settings.insert(var("INSECURE"), "true".to_owned());
                }
            } else {
                self.default_bool(
                    obj,
                    "insecure",
                    false,
                    "`insecure` is for gRPC; give the endpoint with `http://` for a plain-text connection",
                )?;
            }
        }
        const SIZES: &str = "the OTLP exporters' size limits cannot be set";
        self.default_only(&o, "max_request_size", 67_108_864, SIZES)?;
        self.default_only(&o, "max_response_size", 4_194_304, SIZES)?;

        let mut temporality = Temporality::Cumulative;
        if signal == Signal::Metrics {
            self.histogram_aggregation(&o)?;
            temporality = self.temporality(&o)?;
            self.metrics_temporality(&o, temporality)?;
        }
        Ok((exporter, temporality))
    }

    /// `headers` over `headers_list`, as `OTEL_EXPORTER_OTLP_HEADERS` writes them.
    fn headers(&self, o: &Obj<'_>) -> Result<Option<String>> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some((_, n)) = o.set("headers_list") {
            let list = self.as_string(n, "headers_list")?.unwrap_or_default();
            for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(self.err(
                        n.pos,
                        format!(
                            "invalid entry `{}` in `headers_list` at {}: expected name=value",
                            pair.trim(),
                            self.at(n.pos)
                        ),
                    ));
                };
                self.header_name(name.trim(), n)?;
                pairs.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        for (i, item) in self.list(o, "headers")?.iter().enumerate() {
            let h = self.obj(
                item,
                format!("{}[{i}]", o.child("headers")),
                &["name", "value"],
            )?;
            let name = self.required_string(&h, "name")?;
            self.header_name(&name, h.get("name").expect("it was read"))?;
            let Some((_, value)) = h.entry("value") else {
                return Err(self.err(
                    h.pos,
                    format!("missing `value` {} at {}", h.place(), self.at(h.pos)),
                ));
            };
            // A null value leaves the entry out, as the schema says.
            let Some(value) = self.as_string(value, "value")? else {
                continue;
            };
            pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            pairs.push((name, value.replace('%', "%25").replace(',', "%2C")));
        }
        Ok((!pairs.is_empty()).then(|| {
            pairs
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        }))
    }

    fn header_name(&self, name: &str, node: &Node) -> Result<()> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(self.err(
                node.pos,
                format!(
                    "invalid header name `{name}` at {}: use letters, digits and -",
                    self.at(node.pos)
                ),
            ));
        }
        Ok(())
    }

    fn meter_provider(&mut self, top: &Obj<'_>, config: &mut FileConfig) -> Result<()> {
        let Some(node) = top.get("meter_provider") else {
            return Ok(());
        };
        let o = self.obj(
            node,
            "meter_provider".into(),
            &[
                "readers",
                "views",
                "exemplar_filter",
                "meter_configurator/development",
            ],
        )?;
        self.unsupported(
            &o,
            "views",
            "traced's Builder has no views (traced_span_metrics takes its own cardinality_limit and buckets_ms)",
        )?;
        self.unsupported(
            &o,
            "meter_configurator/development",
            "meters cannot be configured one by one",
        )?;
        if let Some((_, n)) = o.set("exemplar_filter") {
            let filter = self.enumerated(
                n,
                "exemplar_filter",
                &["trace_based", "always_on", "always_off"],
            )?;
            self.settings
                .insert("OTEL_METRICS_EXEMPLAR_FILTER".to_owned(), filter);
        }
        let list = self.require(&o, "readers")?;
        let items = self.list(&o, "readers")?;
        if items.is_empty() {
            return Err(self.err(
                list.pos,
                format!(
                    "`readers` in meter_provider at {} is empty: give at least one",
                    self.at(list.pos)
                ),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let path = format!("meter_provider.readers[{i}]");
            let (key, value) =
                self.select(item, &path, "metric reader", &["periodic", "pull"], &[])?;
            let path = format!("{path}.{}", key.name);
            let reader = if key.name == "periodic" {
                self.periodic(value, path)?
            } else {
                self.pull(key, value, path)?
            };
            config.metric_readers.push(reader);
        }
        Ok(())
    }

    fn cardinality_limits(&self, o: &Obj<'_>) -> Result<()> {
        let Some((_, n)) = o.entry("cardinality_limits") else {
            return Ok(());
        };
        let limits = self.obj(
            n,
            o.child("cardinality_limits"),
            &[
                "default",
                "counter",
                "gauge",
                "histogram",
                "observable_counter",
                "observable_gauge",
                "observable_up_down_counter",
                "up_down_counter",
            ],
        )?;
        for (key, _) in limits.entries {
            self.default_only(
                &limits,
                &key.name,
                2000,
                "the SDK's default cardinality limit applies (traced_span_metrics takes its own cardinality_limit)",
            )?;
        }
        Ok(())
    }

    fn periodic(&mut self, node: &Node, path: String) -> Result<Reader> {
        let o = self.obj(
            node,
            path,
            &[
                "interval",
                "timeout",
                "exporter",
                "producers",
                "cardinality_limits",
                "max_export_batch_size/development",
            ],
        )?;
        self.unsupported(&o, "producers", "there are no metric producers to bridge")?;
        self.unsupported(
            &o,
            "max_export_batch_size/development",
            "metric exports are not split in batches",
        )?;
        self.cardinality_limits(&o)?;
        let interval = self.uint(&o, "interval")?.unwrap_or(60_000);
        let timeout = self.bounded_millis(&o, "timeout", 30_000)?;
        for (key, var, value) in [
            ("interval", "OTEL_METRIC_EXPORT_INTERVAL", interval),
            ("timeout", "OTEL_METRIC_EXPORT_TIMEOUT", timeout),
        ] {
            self.shared(
                var,
                value.to_string(),
                o.set(key).map(|(_, n)| n.pos),
                o.pos,
                &format!("`{key}` of periodic metric readers"),
            )?;
        }
        let exporter = self.require(&o, "exporter")?;
        let (exporter, temporality) =
            self.exporter(exporter, o.child("exporter"), Signal::Metrics)?;
        Ok(Reader::Periodic(exporter, temporality))
    }

    fn pull(&mut self, key: &Key, node: &Node, path: String) -> Result<Reader> {
        let o = self.obj(node, path, &["exporter", "producers", "cardinality_limits"])?;
        self.unsupported(&o, "producers", "there are no metric producers to bridge")?;
        self.cardinality_limits(&o)?;
        self.once(
            "pull metric reader",
            key.pos,
            "traced serves one Prometheus endpoint",
        )?;
        let exporter = self.require(&o, "exporter")?;
        let path = o.child("exporter");
        let (key, value) = self.select(
            exporter,
            &path,
            "pull metric exporter",
            &["prometheus/development", "prometheus"],
            &[],
        )?;
        let p = self.obj(
            value,
            format!("{path}.{}", key.name),
            &[
                "host",
                "port",
                "scope_info_enabled",
                "target_info_enabled/development",
                "resource_constant_labels",
                "translation_strategy",
                "without_units",
                "without_type_suffix",
                "without_scope_info",
                "without_target_info",
                "with_resource_constant_labels",
            ],
        )?;
        const FIXED: &str = "traced's Prometheus endpoint follows the OpenTelemetry-to-Prometheus rules as they are";
        self.default_bool(&p, "scope_info_enabled", true, FIXED)?;
        self.default_bool(&p, "target_info_enabled/development", true, FIXED)?;
        for key in [
            "without_units",
            "without_type_suffix",
            "without_scope_info",
            "without_target_info",
        ] {
            self.default_bool(&p, key, false, FIXED)?;
        }
        for key in ["resource_constant_labels", "with_resource_constant_labels"] {
            self.unsupported(&p, key, FIXED)?;
        }
        if let Some((k, n)) = p.set("translation_strategy") {
            let strategy = self.enumerated(
                n,
                "translation_strategy",
                &[
                    "underscore_escaping_with_suffixes",
                    "underscore_escaping_without_suffixes/development",
                    "no_utf8_escaping_with_suffixes/development",
                    "no_translation/development",
                ],
            )?;
            if strategy != "underscore_escaping_with_suffixes" {
                return Err(self.not_supported(
                    &p,
                    k,
                    &format!("translation_strategy: {strategy}"),
                    &format!("{FIXED}; only `underscore_escaping_with_suffixes` (the default) is accepted"),
                ));
            }
        }
        let host = self
            .string(&p, "host")?
            .unwrap_or_else(|| "localhost".to_owned());
        let port = match self.uint(&p, "port")? {
            None => 9464,
            Some(port) => u16::try_from(port).map_err(|_| {
                let n = p.get("port").expect("it was read");
                self.err(
                    n.pos,
                    format!(
                        "`port` at {} must be from 0 to 65535, found {port}",
                        self.at(n.pos)
                    ),
                )
            })?,
        };
        Ok(Reader::Prometheus { host, port })
    }

    fn logger_provider(&mut self, top: &Obj<'_>, config: &mut FileConfig) -> Result<()> {
        let Some(node) = top.get("logger_provider") else {
            return Ok(());
        };
        let o = self.obj(
            node,
            "logger_provider".into(),
            &["processors", "limits", "logger_configurator/development"],
        )?;
        if let Some((_, n)) = o.entry("limits") {
            let limits = self.obj(
                n,
                o.child("limits"),
                &[
                    "attribute_value_length_limit",
                    "attribute_value_depth_limit",
                    "attribute_count_limit",
                ],
            )?;
            self.unsupported(&limits, "attribute_value_length_limit", NO_LIMITS)?;
            self.default_only(&limits, "attribute_value_depth_limit", 64, NO_LIMITS)?;
            self.default_only(&limits, "attribute_count_limit", 128, NO_LIMITS)?;
        }
        self.unsupported(
            &o,
            "logger_configurator/development",
            "loggers cannot be configured one by one; RUST_LOG sets the level of bridged records",
        )?;
        let list = self.require(&o, "processors")?;
        let items = self.list(&o, "processors")?;
        if items.is_empty() {
            return Err(self.err(
                list.pos,
                format!(
                    "`processors` in logger_provider at {} is empty: give at least one",
                    self.at(list.pos)
                ),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let path = format!("logger_provider.processors[{i}]");
            let (key, value) = self.select(
                item,
                &path,
                "log record processor",
                &["batch", "simple"],
                &[(
                    "event_to_span_event_bridge/development",
                    "log records are not turned into span events (traced_span_logs does the opposite)",
                )],
            )?;
            let path = format!("{path}.{}", key.name);
            let processor = if key.name == "batch" {
                self.batch(value, path, Signal::Logs)?
            } else {
                self.simple(value, path, Signal::Logs)?
            };
            config.log_processors.push(processor);
        }
        Ok(())
    }

    fn span_metrics(&self, node: &Node, path: String) -> Result<SpanMetricsConfig> {
        let o = self.obj(
            node,
            path,
            &["dimensions", "buckets_ms", "cardinality_limit"],
        )?;
        let dimensions = self.strings(&o, "dimensions")?;
        let buckets_ms = match o.set("buckets_ms") {
            None => None,
            Some((_, list)) => {
                let mut bounds = Vec::new();
                for (i, item) in self.list(&o, "buckets_ms")?.iter().enumerate() {
                    let name = format!("buckets_ms[{i}]");
                    let bound = self
                        .as_number(item, &name)?
                        .filter(|b| b.is_finite())
                        .ok_or_else(|| self.expected(item, "a number", &name))?;
                    if bounds.last().is_some_and(|last| bound <= *last) {
                        return Err(self.err(
                            item.pos,
                            format!(
                                "`buckets_ms` at {} must increase: {bound} comes after {}",
                                self.at(list.pos),
                                bounds.last().copied().unwrap_or_default()
                            ),
                        ));
                    }
                    bounds.push(bound);
                }
                Some(bounds)
            }
        };
        let cardinality_limit = self
            .positive(&o, "cardinality_limit")?
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        Ok(SpanMetricsConfig {
            dimensions,
            buckets_ms,
            cardinality_limit,
        })
    }

    fn filter(&self, node: &Node, path: String) -> Result<FilterConfig> {
        let o = self.obj(
            node,
            path,
            &[
                "drop_names",
                "drop_attributes",
                "drop_kinds",
                "also_from_span_metrics",
            ],
        )?;
        let drop_names = self.strings(&o, "drop_names")?;
        let mut drop_attributes = Vec::new();
        for (i, item) in self.list(&o, "drop_attributes")?.iter().enumerate() {
            let a = self.obj(
                item,
                format!("{}[{i}]", o.child("drop_attributes")),
                &["key", "value"],
            )?;
            drop_attributes.push((
                self.required_string(&a, "key")?,
                self.required_string(&a, "value")?,
            ));
        }
        let mut drop_kinds = Vec::new();
        for (i, item) in self.list(&o, "drop_kinds")?.iter().enumerate() {
            let kind = self.enumerated(
                item,
                &format!("drop_kinds[{i}]"),
                &["internal", "server", "client", "producer", "consumer"],
            )?;
            drop_kinds.push(match kind.as_str() {
                "internal" => SpanKind::Internal,
                "server" => SpanKind::Server,
                "client" => SpanKind::Client,
                "producer" => SpanKind::Producer,
                _ => SpanKind::Consumer,
            });
        }
        Ok(FilterConfig {
            drop_names,
            drop_attributes,
            drop_kinds,
            also_from_span_metrics: self.boolean(&o, "also_from_span_metrics")?.unwrap_or(false),
        })
    }

    fn redaction(&mut self, node: &Node, path: String) -> Result<RedactionConfig> {
        let o = self.obj(
            node,
            path,
            &[
                "defaults",
                "secret_keys",
                "delete_keys",
                "mask_keys",
                "hash_keys",
                "value_patterns",
                "hash_secret",
            ],
        )?;
        let mut rules = Vec::new();
        // In the order the file gives them: the first key rule that matches decides.
        for (key, _) in o.entries {
            let rule: fn(String) -> RedactionRule = match key.name.as_str() {
                "delete_keys" => RedactionRule::DeleteKey,
                "mask_keys" => RedactionRule::MaskKey,
                "hash_keys" => RedactionRule::HashKey,
                "value_patterns" => {
                    for (i, item) in self.list(&o, "value_patterns")?.iter().enumerate() {
                        let p = self.obj(
                            item,
                            format!("{}[{i}]", o.child("value_patterns")),
                            &["pattern", "action"],
                        )?;
                        let pattern = self.required_string(&p, "pattern")?;
                        if let Err(e) = regex::Regex::new(&pattern) {
                            let n = p.get("pattern").expect("it was read");
                            let reason = e.to_string();
                            let reason = reason.lines().last().unwrap_or_default().trim();
                            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
                            return Err(self.err(
                                n.pos,
                                format!(
                                    "invalid regular expression `{pattern}` at {}: {reason}",
                                    self.at(n.pos)
                                ),
                            ));
                        }
                        let action = match p.set("action") {
                            Some((_, n)) => self.enumerated(n, "action", &["mask", "hash"])?,
                            None => "mask".to_owned(),
                        };
                        rules.push(if action == "hash" {
                            RedactionRule::HashValue(pattern)
                        } else {
                            RedactionRule::MaskValue(pattern)
                        });
                    }
                    continue;
                }
                _ => continue,
            };
            for pattern in self.strings(&o, &key.name)? {
                rules.push(rule(pattern));
            }
        }
        let hash_secret = self.string(&o, "hash_secret")?.filter(|s| !s.is_empty());
        let hashes = rules
            .iter()
            .any(|r| matches!(r, RedactionRule::HashKey(_) | RedactionRule::HashValue(_)));
        if hashes && hash_secret.is_none() {
            self.warnings.push(format!(
                "{}: traced_redaction hashes values but has no hash_secret: the key is random per process, so hashes cannot be joined across services or restarts",
                self.file
            ));
        }
        let defaults = self.boolean(&o, "defaults")?.unwrap_or(true);
        let secret_keys = self.boolean(&o, "secret_keys")?.unwrap_or(true);
        if defaults && !secret_keys {
            let n = o.get("secret_keys").expect("it was read");
            return Err(self.err(
                n.pos,
                format!(
                    "`secret_keys: false` at {} has no effect while `defaults` is true (the default \
                     rules include the secret keys): add `defaults: false` to record secret keys as written",
                    self.at(n.pos)
                ),
            ));
        }
        Ok(RedactionConfig {
            defaults,
            secret_keys,
            rules,
            hash_secret,
        })
    }
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
