//! The standard `OTEL_*` environment, read once per `init` and checked.
//!
//! An invalid value never fails the program: it is reported once on stderr with the
//! variable's name, what was expected, and the default used instead.

use std::collections::HashMap;
use std::time::Duration;

pub(crate) use crate::builder::{LogsExporter, MetricsExporter, Protocol, TracesExporter};

/// A context propagator named in `OTEL_PROPAGATORS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PropagatorChoice {
    TraceContext,
    Baggage,
}

/// The sampler named by `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SamplerChoice {
    AlwaysOn,
    AlwaysOff,
    Ratio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedRatio(f64),
}

/// Where one signal's OTLP exporter sends, resolved from the settings as the
/// specification says, so that the exporter is built from these values alone
/// (it never reads the process environment: see `export/otlp.rs`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OtlpTarget {
    /// The full URL: for HTTP with the signal's path (`/v1/traces`), for gRPC the
    /// base (`http://host:4317`).
    pub(crate) endpoint: String,
    /// The setting the endpoint comes from (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`), or `default`.
    pub(crate) endpoint_from: String,
    /// The endpoint as that setting writes it, for messages.
    pub(crate) endpoint_written: String,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    /// The TLS files, read when the exporter is built (for an `https` endpoint
    /// only): the trusted CA certificates
    /// (`OTEL_EXPORTER_OTLP_(<SIGNAL>_)CERTIFICATE`) in place of the default
    /// roots, and the client's key and certificate chain
    /// (`..._CLIENT_KEY`, `..._CLIENT_CERTIFICATE`) for mutual TLS.
    pub(crate) certificate: Option<Setting>,
    pub(crate) client_key: Option<Setting>,
    pub(crate) client_certificate: Option<Setting>,
    /// `OTEL_EXPORTER_OTLP_(<SIGNAL>_)COMPRESSION`.
    pub(crate) compression: Compression,
}

/// Where an OTLP file exporter writes: `TRACED_OTLP_FILE_<SIGNAL>` as `stdout`
/// (the default), a `file://` URI or a path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) enum OutputStream {
    Stdout,
    File(std::path::PathBuf),
}

impl OutputStream {
    /// `stdout`, a `file://` URI with an absolute path (`file:///var/log/app.jsonl`,
    /// `file://localhost/...`, percent-escapes decoded), or, when `paths`, a
    /// path as it is. The error says what was expected.
    pub(crate) fn parse(value: &str, paths: bool) -> Result<OutputStream, &'static str> {
        const URI: &str =
            "stdout or a file URI with an absolute path, such as file:///var/log/app.jsonl";
        const URI_OR_PATH: &str = "stdout, a file URI with an absolute path, such as file:///var/log/app.jsonl, or a path";
        let expected = if paths { URI_OR_PATH } else { URI };
        if value.eq_ignore_ascii_case("stdout") {
            return Ok(OutputStream::Stdout);
        }
        match value.split_once("://").filter(|_| has_scheme(value)) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => {
                let rest = rest.strip_prefix("localhost").unwrap_or(rest);
                let path = percent_decode(rest).unwrap_or_else(|| rest.to_owned());
                if path.starts_with('/') && path.len() > 1 && !path.ends_with('/') {
                    Ok(OutputStream::File(path.into()))
                } else {
                    Err(expected)
                }
            }
            None if paths && !value.is_empty() => Ok(OutputStream::File(value.into())),
            _ => Err(expected),
        }
    }
}

impl std::fmt::Display for OutputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputStream::Stdout => f.write_str("stdout"),
            OutputStream::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The OTLP file exporters' settings (`TRACED_OTLP_FILE_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) struct OtlpFileSettings {
    pub(crate) traces: OutputStream,
    pub(crate) metrics: OutputStream,
    pub(crate) logs: OutputStream,
    /// A file is rotated before a line would take it past this size.
    pub(crate) max_bytes: u64,
    /// How many rotated files are kept (`path.1` the newest).
    pub(crate) keep_files: usize,
}

/// The default of `TRACED_OTLP_FILE_MAX_BYTES`: 64 MiB.
pub(crate) const OTLP_FILE_MAX_BYTES: u64 = 64 << 20;
/// The default of `TRACED_OTLP_FILE_KEEP_FILES`.
pub(crate) const OTLP_FILE_KEEP_FILES: usize = 3;

/// A setting as it was given: its name (for messages) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// How an OTLP exporter compresses what it sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Compression {
    #[default]
    None,
    Gzip,
}

impl OtlpTarget {
    /// The endpoint as an exporter can use it: a URL with an `http` or `https`
    /// scheme and a host. The error names the setting and, for a value that only
    /// lacks its scheme (`localhost:4318`), what was probably meant.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn check(&self) -> Result<(), String> {
        let e = self.endpoint.as_str();
        let (from, written) = (&self.endpoint_from, &self.endpoint_written);
        let bad = |why: &str| {
            Err(format!(
                "{from}={written:?} is not a usable endpoint: {why}"
            ))
        };
        let Some((scheme, rest)) = e.split_once("://").filter(|_| has_scheme(e)) else {
            if e.starts_with('/') || e.is_empty() {
                return bad("it has no scheme and no host (expected a URL such as http://localhost:4318; is a variable it is built from unset?)");
            }
            return bad(&format!(
                "it has no scheme (expected a URL such as http://{written})"
            ));
        };
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return bad("the scheme must be http or https");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if host.starts_with('[') {
            host.split_inclusive(']').next().unwrap_or("")
        } else {
            host.split(':').next().unwrap_or("")
        };
        if host.is_empty() {
            return bad("it has no host");
        }
        if scheme.eq_ignore_ascii_case("https") && !cfg!(feature = "tls") {
            return bad(
                "it is https, but this build of traced has no TLS: enable the `tls` feature of \
                 `traced` (on by default), or use an http:// endpoint",
            );
        }
        Ok(())
    }

    /// Whether the endpoint is `https` (TLS).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn is_https(&self) -> bool {
        self.endpoint
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }
}

/// Everything `init` takes from the environment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Env {
    pub(crate) sdk_disabled: bool,
    pub(crate) propagators: Vec<PropagatorChoice>,
    /// `None`: the variable is unset (the default applies).
    pub(crate) traces_exporters: Option<Vec<TracesExporter>>,
    pub(crate) otlp_endpoint_set: bool,
    pub(crate) protocol: Protocol,
    /// `None`: the variable is unset (the default applies).
    pub(crate) metrics_exporters: Option<Vec<MetricsExporter>>,
    pub(crate) otlp_metrics_endpoint_set: bool,
    pub(crate) metrics_protocol: Protocol,
    pub(crate) metrics_otlp_timeout: Duration,
    pub(crate) metric_export_interval: Duration,
    pub(crate) metric_export_timeout: Duration,
    /// `None`: the variable is unset (the default applies).
    pub(crate) logs_exporters: Option<Vec<LogsExporter>>,
    pub(crate) otlp_logs_endpoint_set: bool,
    pub(crate) logs_protocol: Protocol,
    pub(crate) logs_otlp_timeout: Duration,
    pub(crate) blrp_schedule_delay: Duration,
    pub(crate) blrp_export_timeout: Duration,
    pub(crate) blrp_max_queue_size: usize,
    pub(crate) blrp_max_export_batch_size: usize,
    /// `RUST_LOG`, or the default level filter.
    pub(crate) log_filter: String,
    pub(crate) prometheus_host: String,
    pub(crate) prometheus_port: u16,
    pub(crate) exemplar_filter: crate::metrics::exemplars::ExemplarFilter,
    pub(crate) otlp_timeout: Duration,
    pub(crate) traces_otlp: OtlpTarget,
    /// Where the OTLP file exporters write, and when files rotate.
    pub(crate) otlp_file: OtlpFileSettings,
    /// The bounds of the OTLP/HTTP retry queues (`TRACED_EXPORT_RETRY_*`).
    #[cfg(feature = "otlp")]
    pub(crate) export_retry: RetrySettings,
    pub(crate) metrics_otlp: OtlpTarget,
    pub(crate) logs_otlp: OtlpTarget,
    pub(crate) sampler: SamplerChoice,
    pub(crate) bsp_schedule_delay: Duration,
    pub(crate) bsp_export_timeout: Duration,
    pub(crate) bsp_max_queue_size: usize,
    pub(crate) bsp_max_export_batch_size: usize,
    /// `service.name` as the environment gives it, if it does.
    pub(crate) service_name: Option<String>,
    /// One line per invalid value.
    pub(crate) warnings: Vec<String>,
    /// Settings made in code, over the environment.
    pub(crate) settings: HashMap<String, String>,
    /// Whether the process environment is read.
    pub(crate) read_env: bool,
}

impl Env {
    /// Reads the process environment.
    /// Reads `settings` (set in code) over the process environment (when
    /// `read_env`), and remembers both for [`Env::lookup`].
    pub(crate) fn new(settings: HashMap<String, String>, read_env: bool) -> Self {
        let lookup = |name: &str| {
            settings
                .get(name)
                .cloned()
                .or_else(|| read_env.then(|| std::env::var(name).ok()).flatten())
        };
        let mut env = Self::from_lookup(lookup);
        env.settings = settings;
        env.read_env = read_env;
        env
    }

    /// A setting as the `Env` sees it: set in code, else in the environment.
    pub(crate) fn lookup(&self, name: &str) -> Option<String> {
        self.settings
            .get(name)
            .cloned()
            .or_else(|| self.read_env.then(|| std::env::var(name).ok()).flatten())
    }

    /// Reads through `lookup`, which returns a variable's value if it is set.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut r = Reader {
            lookup: &lookup,
            warnings: Vec::new(),
        };
        let sdk_disabled = r.bool("OTEL_SDK_DISABLED", false);
        let propagators = r.propagators();
        let traces_exporters = r.exporter_list(
            "OTEL_TRACES_EXPORTER",
            &[
                ("otlp", TracesExporter::Otlp),
                ("otlp_file", TracesExporter::OtlpFile),
                ("console", TracesExporter::Console),
            ],
        );
        let otlp_endpoint_set = r.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || r.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let protocol = r.protocol("TRACES");
        let otlp_timeout = r.otlp_timeout("TRACES");
        let metrics_exporters = r.exporter_list(
            "OTEL_METRICS_EXPORTER",
            &[
                ("otlp", MetricsExporter::Otlp),
                ("prometheus", MetricsExporter::Prometheus),
                ("otlp_file", MetricsExporter::OtlpFile),
                ("console", MetricsExporter::Console),
            ],
        );
        let otlp_metrics_endpoint_set = r.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_some()
            || r.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let metrics_protocol = r.protocol("METRICS");
        let metrics_otlp_timeout = r.otlp_timeout("METRICS");
        let metric_export_interval = r.millis("OTEL_METRIC_EXPORT_INTERVAL", 60_000);
        let metric_export_timeout = r.millis("OTEL_METRIC_EXPORT_TIMEOUT", 30_000);
        let logs_exporters = r.exporter_list(
            "OTEL_LOGS_EXPORTER",
            &[
                ("otlp", LogsExporter::Otlp),
                ("otlp_file", LogsExporter::OtlpFile),
                ("console", LogsExporter::Console),
            ],
        );
        let otlp_logs_endpoint_set = r.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT").is_some()
            || r.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let logs_protocol = r.protocol("LOGS");
        let logs_otlp_timeout = r.otlp_timeout("LOGS");
        let blrp_schedule_delay = r.millis("OTEL_BLRP_SCHEDULE_DELAY", 1_000);
        let blrp_export_timeout = r.millis("OTEL_BLRP_EXPORT_TIMEOUT", 30_000);
        let blrp_max_queue_size = r.positive("OTEL_BLRP_MAX_QUEUE_SIZE", 2048);
        let mut blrp_max_export_batch_size = r.positive("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 512);
        if blrp_max_export_batch_size > blrp_max_queue_size {
            r.warnings.push(format!(
                "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE={blrp_max_export_batch_size} is larger than \
                 OTEL_BLRP_MAX_QUEUE_SIZE={blrp_max_queue_size}; using {blrp_max_queue_size}"
            ));
            blrp_max_export_batch_size = blrp_max_queue_size;
        }
        let log_filter = r
            .get("RUST_LOG")
            .unwrap_or_else(|| crate::logs::DEFAULT_FILTER.to_owned());
        let prometheus_host = r
            .get("OTEL_EXPORTER_PROMETHEUS_HOST")
            .unwrap_or_else(|| "localhost".to_owned());
        let prometheus_port = r.port("OTEL_EXPORTER_PROMETHEUS_PORT", 9464);
        let exemplar_filter = r.exemplar_filter();
        let sampler = r.sampler();
        let bsp_schedule_delay = r.millis("OTEL_BSP_SCHEDULE_DELAY", 5_000);
        let bsp_export_timeout = r.millis("OTEL_BSP_EXPORT_TIMEOUT", 30_000);
        let bsp_max_queue_size = r.positive("OTEL_BSP_MAX_QUEUE_SIZE", 2048);
        let mut bsp_max_export_batch_size = r.positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512);
        if bsp_max_export_batch_size > bsp_max_queue_size {
            r.warnings.push(format!(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE={bsp_max_export_batch_size} is larger than \
                 OTEL_BSP_MAX_QUEUE_SIZE={bsp_max_queue_size}; using {bsp_max_queue_size}"
            ));
            bsp_max_export_batch_size = bsp_max_queue_size;
        }
        let service_name = r.get("OTEL_SERVICE_NAME").or_else(|| {
            r.get("OTEL_RESOURCE_ATTRIBUTES").and_then(|attrs| {
                key_value_list(&attrs)
                    .find(|(k, v)| k == "service.name" && !v.is_empty())
                    .map(|(_, v)| v)
            })
        });
        let traces_otlp = r.otlp_target("TRACES", protocol, otlp_timeout);
        let metrics_otlp = r.otlp_target("METRICS", metrics_protocol, metrics_otlp_timeout);
        let logs_otlp = r.otlp_target("LOGS", logs_protocol, logs_otlp_timeout);
        let otlp_file = OtlpFileSettings {
            traces: r.output_stream("TRACED_OTLP_FILE_TRACES"),
            metrics: r.output_stream("TRACED_OTLP_FILE_METRICS"),
            logs: r.output_stream("TRACED_OTLP_FILE_LOGS"),
            max_bytes: r.positive("TRACED_OTLP_FILE_MAX_BYTES", OTLP_FILE_MAX_BYTES as usize)
                as u64,
            keep_files: r.positive("TRACED_OTLP_FILE_KEEP_FILES", OTLP_FILE_KEEP_FILES),
        };
        #[cfg(feature = "otlp")]
        let export_retry = RetrySettings {
            max_elapsed: r.millis("TRACED_EXPORT_RETRY_TIMEOUT", 30_000),
            max_requests: r.positive("TRACED_EXPORT_RETRY_QUEUE_SIZE", 512),
            max_bytes: r.positive("TRACED_EXPORT_RETRY_QUEUE_BYTES", 64 << 20),
        };
        Env {
            otlp_file,
            #[cfg(feature = "otlp")]
            export_retry,
            traces_otlp,
            metrics_otlp,
            logs_otlp,
            sdk_disabled,
            propagators,
            traces_exporters,
            otlp_endpoint_set,
            protocol,
            otlp_timeout,
            metrics_exporters,
            otlp_metrics_endpoint_set,
            metrics_protocol,
            metrics_otlp_timeout,
            metric_export_interval,
            metric_export_timeout,
            logs_exporters,
            otlp_logs_endpoint_set,
            logs_protocol,
            logs_otlp_timeout,
            blrp_schedule_delay,
            blrp_export_timeout,
            blrp_max_queue_size,
            blrp_max_export_batch_size,
            log_filter,
            prometheus_host,
            prometheus_port,
            exemplar_filter,
            sampler,
            bsp_schedule_delay,
            bsp_export_timeout,
            bsp_max_queue_size,
            bsp_max_export_batch_size,
            service_name,
            warnings: r.warnings,
            settings: HashMap::new(),
            read_env: true,
        }
    }
}

/// A `key=value,...` list as the `OTEL_*` variables write one (headers, resource
/// attributes): pairs trimmed, values percent-decoded (kept as written when they do
/// not decode), pairs without `=` or with an empty key left out.
pub(crate) fn key_value_list(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split(',').filter_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        let value = percent_decode(value).unwrap_or_else(|| value.to_owned());
        (!key.is_empty()).then(|| (key.to_owned(), value))
    })
}

/// `%XX` escapes decoded; `None` when an escape or the result is not valid.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether `endpoint` starts with a scheme (`http://`, `https://`).
fn has_scheme(endpoint: &str) -> bool {
    endpoint
        .split_once("://")
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains(['/', '?', '#']))
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    /// A set, non-blank value, trimmed.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn invalid(
        &mut self,
        name: &str,
        value: &str,
        expected: &str,
        default: impl std::fmt::Display,
    ) {
        let warning =
            format!("{name}={value:?} is not valid (expected {expected}); using {default}");
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(v) = self.get(name) else {
            return default;
        };
        match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.invalid(name, &v, "true or false", default);
                default
            }
        }
    }

    fn millis(&mut self, name: &str, default: u64) -> Duration {
        let Some(v) = self.get(name) else {
            return Duration::from_millis(default);
        };
        match v.parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                self.invalid(
                    name,
                    &v,
                    "a whole number of milliseconds",
                    format!("{default}ms"),
                );
                Duration::from_millis(default)
            }
        }
    }

    fn positive(&mut self, name: &str, default: usize) -> usize {
        let Some(v) = self.get(name) else {
            return default;
        };
        match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                self.invalid(name, &v, "a whole number above 0", default);
                default
            }
        }
    }

    /// An OTLP file exporter's destination: `stdout` (the default), a
    /// `file://` URI or a path; stdout when it is not valid.
    fn output_stream(&mut self, name: &str) -> OutputStream {
        let Some(v) = self.get(name) else {
            return OutputStream::Stdout;
        };
        OutputStream::parse(&v, true).unwrap_or_else(|expected| {
            self.invalid(name, &v, expected, "stdout");
            OutputStream::Stdout
        })
    }

    fn port(&mut self, name: &str, default: u16) -> u16 {
        let Some(v) = self.get(name) else {
            return default;
        };
        match v.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                self.invalid(name, &v, "a port number from 0 to 65535", default);
                default
            }
        }
    }

    fn exemplar_filter(&mut self) -> crate::metrics::exemplars::ExemplarFilter {
        use crate::metrics::exemplars::ExemplarFilter;
        const NAME: &str = "OTEL_METRICS_EXEMPLAR_FILTER";
        let Some(v) = self.get(NAME) else {
            return ExemplarFilter::TraceBased;
        };
        match v.to_ascii_lowercase().as_str() {
            "trace_based" => ExemplarFilter::TraceBased,
            "always_on" => ExemplarFilter::AlwaysOn,
            "always_off" => ExemplarFilter::AlwaysOff,
            _ => {
                self.invalid(
                    NAME,
                    &v,
                    "trace_based, always_on or always_off",
                    "trace_based",
                );
                ExemplarFilter::TraceBased
            }
        }
    }

    /// An exporter list (`OTEL_TRACES_EXPORTER`, ...): the names `choices` knows,
    /// in order, without repeats; `none` for none. An unknown name is reported and
    /// left out; when nothing known is left (and `none` was not said), the
    /// default applies (`None`), as for an unset variable.
    fn exporter_list<T: Copy + PartialEq>(
        &mut self,
        name: &str,
        choices: &[(&str, T)],
    ) -> Option<Vec<T>> {
        let v = self.get(name)?;
        let mut out = Vec::new();
        let (mut none, mut unknown) = (false, Vec::new());
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let lower = item.to_ascii_lowercase();
            match choices.iter().find(|(n, _)| *n == lower) {
                Some((_, choice)) if !out.contains(choice) => out.push(*choice),
                Some(_) => {}
                None if lower == "none" => none = true,
                None => unknown.push(item.to_owned()),
            }
        }
        let expected = {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("{} or none", names.join(", "))
        };
        let use_default = out.is_empty() && !none;
        for item in unknown {
            let instead = if use_default {
                "the default exporter"
            } else {
                "the others named"
            };
            self.invalid(name, &item, &expected, instead);
        }
        (!use_default).then_some(out)
    }

    /// The signal's variable if set, else the general one.
    fn signal_var(&self, signal: &str, suffix: &str) -> Option<(String, String)> {
        let specific = format!("OTEL_EXPORTER_OTLP_{signal}_{suffix}");
        if let Some(v) = self.get(&specific) {
            return Some((specific, v));
        }
        let general = format!("OTEL_EXPORTER_OTLP_{suffix}");
        self.get(&general).map(|v| (general, v))
    }

    fn protocol(&mut self, signal: &str) -> Protocol {
        let Some((name, v)) = self.signal_var(signal, "PROTOCOL") else {
            return Protocol::HttpProtobuf;
        };
        match v.as_str() {
            "grpc" => Protocol::Grpc,
            "http/protobuf" => Protocol::HttpProtobuf,
            _ => {
                self.invalid(&name, &v, "grpc or http/protobuf", "http/protobuf");
                Protocol::HttpProtobuf
            }
        }
    }

    /// The signal's endpoint and headers for `protocol`. A signal's endpoint is
    /// used as it is; the general one gets `/v1/<signal>` over HTTP. A gRPC
    /// endpoint without a scheme gets `https://`, or `http://` when
    /// `OTEL_EXPORTER_OTLP_(<SIGNAL>_)INSECURE=true`.
    fn otlp_target(&mut self, signal: &str, protocol: Protocol, timeout: Duration) -> OtlpTarget {
        let path = format!("/v1/{}", signal.to_ascii_lowercase());
        let specific = format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT");
        let written = self
            .get(&specific)
            .or_else(|| self.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .unwrap_or_default();
        let (endpoint_from, endpoint) =
            match (self.get(&specific), self.get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
                (Some(e), _) => (specific, e),
                (None, Some(base)) if protocol == Protocol::HttpProtobuf => (
                    "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
                    format!("{}{path}", base.trim_end_matches('/')),
                ),
                (None, Some(base)) => ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), base),
                (None, None) => match protocol {
                    Protocol::HttpProtobuf => {
                        ("default".to_owned(), format!("http://localhost:4318{path}"))
                    }
                    Protocol::Grpc => ("default".to_owned(), "http://localhost:4317".to_owned()),
                },
            };
        let endpoint = if protocol == Protocol::Grpc && !has_scheme(&endpoint) {
            let insecure = self
                .signal_var(signal, "INSECURE")
                .is_some_and(|(_, v)| v.eq_ignore_ascii_case("true"));
            format!("{}://{endpoint}", if insecure { "http" } else { "https" })
        } else {
            endpoint
        };
        let headers = self
            .signal_var(signal, "HEADERS")
            .map(|(_, v)| key_value_list(&v).filter(|(_, v)| !v.is_empty()).collect())
            .unwrap_or_default();
        let file = |suffix: &str| {
            self.signal_var(signal, suffix)
                .map(|(name, value)| Setting { name, value })
        };
        let (certificate, client_key, client_certificate) = (
            file("CERTIFICATE"),
            file("CLIENT_KEY"),
            file("CLIENT_CERTIFICATE"),
        );
        let compression = match self.signal_var(signal, "COMPRESSION") {
            None => Compression::None,
            Some((name, v)) => match v.to_ascii_lowercase().as_str() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                _ => {
                    self.invalid(&name, &v, "gzip or none", "none");
                    Compression::None
                }
            },
        };
        OtlpTarget {
            endpoint,
            endpoint_from,
            endpoint_written: written,
            headers,
            timeout,
            certificate,
            client_key,
            client_certificate,
            compression,
        }
    }

    fn otlp_timeout(&mut self, signal: &str) -> Duration {
        match self.signal_var(signal, "TIMEOUT") {
            Some((name, _)) => self.millis(&name, 10_000),
            None => Duration::from_millis(10_000),
        }
    }

    fn propagators(&mut self) -> Vec<PropagatorChoice> {
        const NAME: &str = "OTEL_PROPAGATORS";
        let default = vec![PropagatorChoice::TraceContext, PropagatorChoice::Baggage];
        let Some(v) = self.get(NAME) else {
            return default;
        };
        let mut out = Vec::new();
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.to_ascii_lowercase().as_str() {
                "tracecontext" => out.push(PropagatorChoice::TraceContext),
                "baggage" => out.push(PropagatorChoice::Baggage),
                "none" => {}
                "b3" | "b3multi" | "jaeger" | "xray" | "ottrace" => self.invalid(
                    NAME,
                    item,
                    "tracecontext, baggage or none: no maintained propagator for it works with opentelemetry 0.33 (the B3 one ships in the deprecated opentelemetry-zipkin)",
                    "nothing in its place",
                ),
                _ => self.invalid(NAME, item, "tracecontext, baggage or none", "nothing in its place"),
            }
        }
        out.dedup();
        out
    }

    fn sampler(&mut self) -> SamplerChoice {
        const NAME: &str = "OTEL_TRACES_SAMPLER";
        const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
        let default = SamplerChoice::ParentBasedAlwaysOn;
        let Some(v) = self.get(NAME) else {
            return default;
        };
        let mut ratio = || -> f64 {
            let Some(arg) = self.get(ARG) else {
                return 1.0;
            };
            match arg.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    self.invalid(ARG, &arg, "a number from 0 to 1", "1.0");
                    1.0
                }
            }
        };
        match v.to_ascii_lowercase().as_str() {
            "always_on" => SamplerChoice::AlwaysOn,
            "always_off" => SamplerChoice::AlwaysOff,
            "traceidratio" => SamplerChoice::Ratio(ratio()),
            "parentbased_always_on" => SamplerChoice::ParentBasedAlwaysOn,
            "parentbased_always_off" => SamplerChoice::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => SamplerChoice::ParentBasedRatio(ratio()),
            _ => {
                self.invalid(
                    NAME,
                    &v,
                    "always_on, always_off, traceidratio, parentbased_always_on, \
                     parentbased_always_off or parentbased_traceidratio",
                    "parentbased_always_on",
                );
                default
            }
        }
    }
}

/// The bounds of one exporter's retry queue.
#[cfg(feature = "otlp")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RetrySettings {
    /// How long a request is retried before it is dropped.
    pub(crate) max_elapsed: Duration,
    /// Requests (batches) held at most.
    pub(crate) max_requests: usize,
    /// Request bytes held at most.
    pub(crate) max_bytes: usize,
}

#[cfg(feature = "otlp")]
impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_elapsed: Duration::from_secs(30),
            max_requests: 512,
            max_bytes: 64 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let e = env(&[]);
        assert!(!e.sdk_disabled);
        assert_eq!(e.traces_exporters, None);
        assert_eq!(e.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.otlp_timeout, Duration::from_secs(10));
        assert_eq!(e.sampler, SamplerChoice::ParentBasedAlwaysOn);
        assert_eq!(e.bsp_schedule_delay, Duration::from_secs(5));
        assert_eq!(e.bsp_max_queue_size, 2048);
        assert_eq!(e.bsp_max_export_batch_size, 512);
        assert!(e.warnings.is_empty());
    }

    #[test]
    fn valid_values_are_taken() {
        let e = env(&[
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_TRACES_EXPORTER", "otlp, console"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "250"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
        ]);
        assert!(e.sdk_disabled);
        assert_eq!(
            e.traces_exporters,
            Some(vec![TracesExporter::Otlp, TracesExporter::Console])
        );
        assert_eq!(e.protocol, Protocol::Grpc);
        assert_eq!(e.otlp_timeout, Duration::from_millis(250));
        assert_eq!(e.sampler, SamplerChoice::ParentBasedRatio(0.25));
        assert_eq!(e.bsp_max_queue_size, 100);
        assert_eq!(e.bsp_max_export_batch_size, 10);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }

    #[test]
    fn signal_specific_variables_win() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2"),
        ]);
        assert_eq!(e.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.otlp_timeout, Duration::from_millis(2));
    }

    #[test]
    fn invalid_values_warn_with_the_name_and_the_default() {
        let e = env(&[
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
        ]);
        assert!(!e.sdk_disabled);
        assert_eq!(e.sampler, SamplerChoice::Ratio(1.0));
        assert_eq!(e.bsp_schedule_delay, Duration::from_secs(5));
        assert_eq!(e.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.traces_exporters, None, "an unknown exporter: the default");
        let all = e.warnings.join("\n");
        for needle in [
            "OTEL_SDK_DISABLED=\"yes\"",
            "OTEL_TRACES_SAMPLER_ARG=\"1.5\"",
            "using 1.0",
            "OTEL_BSP_SCHEDULE_DELAY=\"soon\"",
            "using 5000ms",
            "OTEL_EXPORTER_OTLP_PROTOCOL=\"http/xml\"",
            "OTEL_TRACES_EXPORTER=\"zipkin\"",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(e.warnings.len(), 5);
    }

    #[test]
    fn propagators_from_the_environment() {
        assert_eq!(
            env(&[]).propagators,
            [PropagatorChoice::TraceContext, PropagatorChoice::Baggage]
        );
        let e = env(&[("OTEL_PROPAGATORS", "baggage,b3")]);
        assert_eq!(e.propagators, [PropagatorChoice::Baggage]);
        assert!(
            e.warnings[0].contains("OTEL_PROPAGATORS=\"b3\""),
            "{:?}",
            e.warnings
        );
        assert!(env(&[("OTEL_PROPAGATORS", "none")]).propagators.is_empty());
    }

    #[test]
    fn otlp_file_destinations_and_rotation() {
        let e = env(&[]);
        assert_eq!(
            e.otlp_file.traces,
            OutputStream::Stdout,
            "the spec's default"
        );
        assert_eq!(e.otlp_file.max_bytes, 64 << 20);
        assert_eq!(e.otlp_file.keep_files, 3);
        let e = env(&[
            ("OTEL_TRACES_EXPORTER", "otlp_file"),
            ("OTEL_METRICS_EXPORTER", "otlp_file,otlp"),
            ("OTEL_LOGS_EXPORTER", "OTLP_FILE"),
            (
                "TRACED_OTLP_FILE_TRACES",
                "file:///var/log/my%20app/traces.jsonl",
            ),
            ("TRACED_OTLP_FILE_METRICS", "relative/metrics.jsonl"),
            ("TRACED_OTLP_FILE_LOGS", "STDOUT"),
            ("TRACED_OTLP_FILE_MAX_BYTES", "1024"),
            ("TRACED_OTLP_FILE_KEEP_FILES", "1"),
        ]);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        assert_eq!(e.traces_exporters, Some(vec![TracesExporter::OtlpFile]));
        assert_eq!(
            e.metrics_exporters,
            Some(vec![MetricsExporter::OtlpFile, MetricsExporter::Otlp])
        );
        assert_eq!(e.logs_exporters, Some(vec![LogsExporter::OtlpFile]));
        assert_eq!(
            e.otlp_file.traces,
            OutputStream::File("/var/log/my app/traces.jsonl".into())
        );
        assert_eq!(
            e.otlp_file.metrics,
            OutputStream::File("relative/metrics.jsonl".into())
        );
        assert_eq!(e.otlp_file.logs, OutputStream::Stdout);
        assert_eq!((e.otlp_file.max_bytes, e.otlp_file.keep_files), (1024, 1));
        let e = env(&[
            ("TRACED_OTLP_FILE_TRACES", "http://collector/traces"),
            ("TRACED_OTLP_FILE_LOGS", "file://relative"),
            ("TRACED_OTLP_FILE_MAX_BYTES", "0"),
        ]);
        assert_eq!(e.otlp_file.traces, OutputStream::Stdout);
        assert_eq!(e.otlp_file.logs, OutputStream::Stdout);
        assert_eq!(e.otlp_file.max_bytes, 64 << 20);
        let all = e.warnings.join("\n");
        assert!(
            all.contains("TRACED_OTLP_FILE_TRACES=\"http://collector/traces\" is not valid")
                && all.contains("TRACED_OTLP_FILE_LOGS=\"file://relative\"")
                && all.contains("TRACED_OTLP_FILE_MAX_BYTES=\"0\""),
            "{all}"
        );
    }

    #[test]
    fn batch_larger_than_queue_is_clamped() {
        let e = env(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),
        ]);
        assert_eq!(e.bsp_max_export_batch_size, 8);
        assert_eq!(e.warnings.len(), 1);
    }

    #[test]
    fn service_name_from_either_variable() {
        assert_eq!(
            env(&[("OTEL_SERVICE_NAME", "cart")])
                .service_name
                .as_deref(),
            Some("cart")
        );
        assert_eq!(
            env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=b,service.name=shop")])
                .service_name
                .as_deref(),
            Some("shop")
        );
        assert_eq!(env(&[]).service_name, None);
    }

    #[test]
    fn otlp_targets_follow_the_specification() {
        let t = env(&[]);
        assert_eq!(t.traces_otlp.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(t.logs_otlp.endpoint, "http://localhost:4318/v1/logs");
        assert_eq!(t.traces_otlp.endpoint_from, "default");
        let grpc = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        assert_eq!(grpc.metrics_otlp.endpoint, "http://localhost:4317");
        // The general endpoint gets the signal's path over HTTP, not over gRPC.
        let general = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"),
        ]);
        assert_eq!(
            general.metrics_otlp.endpoint,
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(general.logs_otlp.endpoint, "http://collector:4318/");
        // A signal's endpoint is used as it is and wins; a blank one does not count.
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                " http://traces:4318/custom ",
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", ""),
        ]);
        assert_eq!(e.traces_otlp.endpoint, "http://traces:4318/custom");
        assert_eq!(
            e.traces_otlp.endpoint_from,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        );
        assert_eq!(e.metrics_otlp.endpoint, "http://general:4318/v1/metrics");
        // gRPC without a scheme: https, or http when insecure.
        let bare = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "TRUE"),
        ]);
        assert_eq!(bare.traces_otlp.endpoint, "https://collector:4317");
        assert_eq!(bare.logs_otlp.endpoint, "http://collector:4317");
    }

    #[test]
    fn tls_files_and_compression_per_signal() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"),
            ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "/logs-ca.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/k.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/c.pem"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "brotli"),
        ]);
        fn named(s: &Option<Setting>) -> Option<(&str, &str)> {
            s.as_ref().map(|s| (s.name.as_str(), s.value.as_str()))
        }
        assert_eq!(
            named(&e.traces_otlp.certificate),
            Some(("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"))
        );
        assert_eq!(
            named(&e.logs_otlp.certificate),
            Some(("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "/logs-ca.pem"))
        );
        assert_eq!(
            named(&e.traces_otlp.client_key),
            Some(("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/k.pem"))
        );
        assert_eq!(named(&e.metrics_otlp.client_certificate), None);
        assert_eq!(e.traces_otlp.compression, Compression::Gzip);
        assert_eq!(e.metrics_otlp.compression, Compression::None);
        assert_eq!(e.logs_otlp.compression, Compression::None);
        assert_eq!(
            e.warnings,
            ["OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=\"brotli\" is not valid (expected gzip or none); using none"]
        );
    }

    #[test]
    fn otlp_headers_per_signal_decoded() {
        let e = env(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                " a = 1 ,b=x%20y%2Cz,,=novalue,empty=,bad=%zz,c=d=e",
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "X-Token=abc"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "250"),
        ]);
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
        };
        assert_eq!(
            e.traces_otlp.headers,
            pairs(&[("a", "1"), ("b", "x y,z"), ("bad", "%zz"), ("c", "d=e")])
        );
        assert_eq!(
            e.metrics_otlp.headers,
            pairs(&[("X-Token", "abc")]),
            "the signal's variable wins"
        );
        assert_eq!(e.logs_otlp.timeout, Duration::from_millis(250));
    }

    #[test]
    fn unknown_exporter_names_leave_the_default_or_the_others() {
        let e = env(&[("OTEL_METRICS_EXPORTER", "promethus")]);
        assert_eq!(e.metrics_exporters, None);
        assert!(
            e.warnings[0].contains("OTEL_METRICS_EXPORTER=\"promethus\"")
                && e.warnings[0].contains("using the default exporter"),
            "{:?}",
            e.warnings
        );
        let e = env(&[("OTEL_TRACES_EXPORTER", "otlp,zipkin,otlp")]);
        assert_eq!(e.traces_exporters, Some(vec![TracesExporter::Otlp]));
        assert!(
            e.warnings[0].contains("using the others named"),
            "{:?}",
            e.warnings
        );
        let e = env(&[("OTEL_LOGS_EXPORTER", "none")]);
        assert_eq!(e.logs_exporters, Some(vec![]));
        let e = env(&[("OTEL_LOGS_EXPORTER", "none,bogus")]);
        assert_eq!(e.logs_exporters, Some(vec![]), "none was said");
    }

    #[test]
    fn otlp_endpoints_are_checked_with_a_hint() {
        let check = |endpoint: &str| {
            env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)])
                .traces_otlp
                .check()
        };
        assert!(check("http://collector:4318/v1/traces").is_ok());
        assert!(check("http://[::1]:4318/v1/traces").is_ok());
        // https needs the `tls` feature; without it the error names the feature.
        let https = check("https://collector:4318/v1/traces");
        assert_eq!(https.is_ok(), cfg!(feature = "tls"), "{https:?}");
        if let Err(e) = https {
            assert!(e.contains("enable the `tls` feature of `traced`"), "{e}");
        }
        let e = check("localhost:4318").unwrap_err();
        assert!(
            e.starts_with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=\"localhost:4318\"")
                && e.contains("http://localhost:4318"),
            "{e}"
        );
        let e = check("/v1/traces").unwrap_err();
        assert!(e.contains("no scheme and no host"), "{e}");
        assert!(check("ftp://collector/v1/traces")
            .unwrap_err()
            .contains("http or https"));
        assert!(check("http:///v1/traces").unwrap_err().contains("no host"));
        // A general endpoint is named as the setting it came from.
        let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")])
            .logs_otlp
            .check()
            .unwrap_err();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT="), "{e}");
    }
}
