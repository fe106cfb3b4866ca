//! The one typed model of what is configured: [`Settings`], grouped per signal.
//!
//! Two front-ends produce it. The `OTEL_*` environment ([`Settings::read`], in
//! `env.rs`, which also takes the settings
//! [`Builder::setting`](crate::Builder::setting) makes) reads each variable
//! over a base: the defaults ([`Settings::defaults`]), or what a pipeline file
//! set. The pipeline file (`crate::file_config`) sets the model directly, typed,
//! as it reads its keys, and hands it to the [`Builder`](crate::Builder) it
//! returns; what it set can still be shown by the standard names
//! (`names.rs`, [`Settings::value_of`]), and reading that back gives the same
//! model. The `Builder`'s typed methods are applied last (`install/code.rs`),
//! and `crate::install` builds the providers from it
//! alone: nothing behind it takes a value from the process environment (the
//! OTLP/HTTP exporters only strip the headers `opentelemetry-otlp` would add
//! from it).

mod env;
mod names;

pub(crate) use env::{key_value_list, percent_decode};

use crate::choices::{LogsExporter, MetricsExporter, Protocol, TracesExporter};
use crate::metrics::exemplars::ExemplarFilter;
use opentelemetry_sdk::metrics::Temporality;
use std::time::Duration;

/// Everything `init` installs from, resolved and checked.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// `OTEL_SDK_DISABLED`: nothing is installed.
    pub(crate) sdk_disabled: bool,
    /// `OTEL_PROPAGATORS`, in order.
    pub(crate) propagators: Vec<PropagatorChoice>,
    /// What the resource takes from the settings.
    pub(crate) resource: ResourceSettings,
    /// The tracer provider's settings.
    pub(crate) traces: TraceSettings,
    /// The meter provider's settings.
    pub(crate) metrics: MetricSettings,
    /// The logger provider's settings.
    pub(crate) logs: LogSettings,
    /// When the OTLP file exporters rotate their files (`TRACED_OTLP_FILE_*`).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) otlp_file: FileRotation,
    /// The bounds of the OTLP retry queues (`TRACED_EXPORT_RETRY_*`).
    #[cfg(feature = "otlp")]
    pub(crate) export_retry: RetrySettings,
    /// The `AUTOMETRICS_*` overrides of the `build_info` metric's labels.
    pub(crate) build_info: BuildInfoSettings,
    /// One line per invalid value, printed by `init`.
    pub(crate) warnings: Vec<String>,
}

impl Settings {
    /// Nothing set: the specification's defaults (and `traced`'s for its own
    /// settings).
    pub(crate) fn defaults() -> Settings {
        let batch = |schedule_delay_ms| BatchSettings {
            schedule_delay: Duration::from_millis(schedule_delay_ms),
            export_timeout: Duration::from_secs(30),
            max_queue_size: 2048,
            max_export_batch_size: 512,
        };
        Settings {
            sdk_disabled: false,
            propagators: vec![PropagatorChoice::TraceContext, PropagatorChoice::Baggage],
            resource: ResourceSettings::default(),
            traces: TraceSettings {
                exporters: None,
                otlp: OtlpTarget::defaults("TRACES"),
                otlp_file: OutputStream::Stdout,
                batch: batch(5_000),
                sampler: SamplerChoice::ParentBasedAlwaysOn,
                sdk_spans: false,
            },
            metrics: MetricSettings {
                exporters: None,
                otlp: OtlpTarget::defaults("METRICS"),
                otlp_file: OutputStream::Stdout,
                temporality: Temporality::Cumulative,
                temporality_warning: None,
                export_interval: Duration::from_secs(60),
                export_timeout: Duration::from_secs(30),
                exemplar_filter: ExemplarFilter::TraceBased,
                prometheus: PrometheusSettings {
                    host: "localhost".to_owned(),
                    port: 9464,
                },
            },
            logs: LogSettings {
                exporters: None,
                otlp: OtlpTarget::defaults("LOGS"),
                otlp_file: OutputStream::Stdout,
                batch: batch(1_000),
                filter: crate::logs::DEFAULT_FILTER.to_owned(),
            },
            otlp_file: FileRotation {
                max_bytes: OTLP_FILE_MAX_BYTES,
                keep_files: OTLP_FILE_KEEP_FILES,
            },
            #[cfg(feature = "otlp")]
            export_retry: RetrySettings::default(),
            build_info: BuildInfoSettings::default(),
            warnings: Vec::new(),
        }
    }
}

/// The resource attributes the settings give (`OTEL_SERVICE_NAME`,
/// `OTEL_RESOURCE_ATTRIBUTES`); code adds to them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ResourceSettings {
    /// `service.name` as the settings give it, if they do (it wins over the
    /// name given in code).
    pub(crate) service_name: Option<String>,
    /// `key=value` pairs, values decoded, in order.
    pub(crate) attributes: Vec<(String, String)>,
}

/// How spans are sampled, batched and exported.
#[derive(Clone, Debug)]
pub(crate) struct TraceSettings {
    /// `OTEL_TRACES_EXPORTER`; `None`: not said (the default applies).
    pub(crate) exporters: Option<Vec<TracesExporter>>,
    /// The OTLP exporter's endpoint, protocol, headers, timeout and TLS files.
    pub(crate) otlp: OtlpTarget,
    /// Where the OTLP file exporter writes (`TRACED_OTLP_FILE_TRACES`).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) otlp_file: OutputStream,
    /// The batch span processor (`OTEL_BSP_*`).
    pub(crate) batch: BatchSettings,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub(crate) sampler: SamplerChoice,
    /// `TRACED_SPAN_PATH=sdk`: `#[traced]` spans are the SDK's own, whatever
    /// the processors (by default they take `traced`'s own path when no
    /// processor must see them start).
    pub(crate) sdk_spans: bool,
}

/// How metrics are read and exported.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MetricSettings {
    /// `OTEL_METRICS_EXPORTER`; `None`: not said (the default applies).
    pub(crate) exporters: Option<Vec<MetricsExporter>>,
    /// The OTLP exporter's endpoint, protocol, headers, timeout and TLS files.
    pub(crate) otlp: OtlpTarget,
    /// Where the OTLP file exporter writes (`TRACED_OTLP_FILE_METRICS`).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) otlp_file: OutputStream,
    /// The OTLP (and OTLP file) exporters' temporality
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) temporality: Temporality,
    /// The warning about an invalid temporality preference, printed when an
    /// exporter that uses it is built.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) temporality_warning: Option<String>,
    /// The periodic reader's interval (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub(crate) export_interval: Duration,
    /// The bound of one export (`OTEL_METRIC_EXPORT_TIMEOUT`).
    pub(crate) export_timeout: Duration,
    /// `OTEL_METRICS_EXEMPLAR_FILTER`.
    pub(crate) exemplar_filter: ExemplarFilter,
    /// The Prometheus endpoint (`OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`).
    pub(crate) prometheus: PrometheusSettings,
}

/// Where the Prometheus endpoint listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PrometheusSettings {
    pub(crate) host: String,
    /// 0 picks a free port.
    pub(crate) port: u16,
}

/// How log records are filtered, batched and exported.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LogSettings {
    /// `OTEL_LOGS_EXPORTER`; `None`: not said (the default applies).
    pub(crate) exporters: Option<Vec<LogsExporter>>,
    /// The OTLP exporter's endpoint, protocol, headers, timeout and TLS files.
    pub(crate) otlp: OtlpTarget,
    /// Where the OTLP file exporter writes (`TRACED_OTLP_FILE_LOGS`).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) otlp_file: OutputStream,
    /// The batch log record processor (`OTEL_BLRP_*`).
    pub(crate) batch: BatchSettings,
    /// The level filter of bridged records, in `RUST_LOG` syntax.
    pub(crate) filter: String,
}

/// A batch processor's settings (`OTEL_BSP_*`, `OTEL_BLRP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchSettings {
    pub(crate) schedule_delay: Duration,
    pub(crate) export_timeout: Duration,
    pub(crate) max_queue_size: usize,
    /// At most `max_queue_size`.
    pub(crate) max_export_batch_size: usize,
}

/// When the OTLP file exporters rotate: before a line would take a file past
/// `max_bytes`, keeping `keep_files` rotated files (`path.1` the newest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) struct FileRotation {
    pub(crate) max_bytes: u64,
    pub(crate) keep_files: usize,
}

/// The `AUTOMETRICS_*` variables: labels of the `build_info` metric that win
/// over what the build knew of itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BuildInfoSettings {
    pub(crate) version: Option<String>,
    pub(crate) commit: Option<String>,
    pub(crate) branch: Option<String>,
    pub(crate) service_name: Option<String>,
    pub(crate) repository_url: Option<String>,
    pub(crate) repository_provider: Option<String>,
}

impl ResourceSettings {
    /// `OTEL_RESOURCE_ATTRIBUTES`: its pairs, and `service.name` if it has one.
    pub(crate) fn from_list(text: &str) -> ResourceSettings {
        let attributes: Vec<(String, String)> = key_value_list(text).collect();
        let service_name = attributes
            .iter()
            .find(|(k, v)| k == "service.name" && !v.is_empty())
            .map(|(_, v)| v.clone());
        ResourceSettings {
            service_name,
            attributes,
        }
    }
}

impl BuildInfoSettings {
    /// The value of the `AUTOMETRICS_*` variable `name`, as these settings hold it.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        match name {
            "AUTOMETRICS_VERSION" => self.version.clone(),
            "AUTOMETRICS_COMMIT" => self.commit.clone(),
            "AUTOMETRICS_BRANCH" => self.branch.clone(),
            "AUTOMETRICS_SERVICE_NAME" => self.service_name.clone(),
            "AUTOMETRICS_REPOSITORY_URL" => self.repository_url.clone(),
            "AUTOMETRICS_REPOSITORY_PROVIDER" => self.repository_provider.clone(),
            _ => None,
        }
    }
}

/// A context propagator named in `OTEL_PROPAGATORS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PropagatorChoice {
    TraceContext,
    Baggage,
}

/// The sampler: one named by `OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`, or the one chosen in code.
#[derive(Clone, Debug)]
pub(crate) enum SamplerChoice {
    AlwaysOn,
    AlwaysOff,
    Ratio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedRatio(f64),
    /// [`Builder::sampler`](crate::Builder::sampler).
    Code(crate::choices::Sampler),
}

impl SamplerChoice {
    /// The name `OTEL_TRACES_SAMPLER` gives it, for messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            SamplerChoice::AlwaysOn => "always_on",
            SamplerChoice::AlwaysOff => "always_off",
            SamplerChoice::Ratio(_) => "traceidratio",
            SamplerChoice::ParentBasedAlwaysOn => "parentbased_always_on",
            SamplerChoice::ParentBasedAlwaysOff => "parentbased_always_off",
            SamplerChoice::ParentBasedRatio(_) => "parentbased_traceidratio",
            SamplerChoice::Code(_) => "the sampler chosen in code",
        }
    }
}

/// The names `OTEL_EXPORTER_OTLP_PROTOCOL` gives the protocols.
pub(crate) const PROTOCOLS: [(&str, Protocol); 2] = [
    ("grpc", Protocol::Grpc),
    ("http/protobuf", Protocol::HttpProtobuf),
];

/// The names `OTEL_METRICS_EXEMPLAR_FILTER` (and a pipeline file's
/// `exemplar_filter`) give the filters.
pub(crate) const EXEMPLAR_FILTERS: [(&str, ExemplarFilter); 3] = [
    ("trace_based", ExemplarFilter::TraceBased),
    ("always_on", ExemplarFilter::AlwaysOn),
    ("always_off", ExemplarFilter::AlwaysOff),
];

/// The names `OTEL_PROPAGATORS` (and a pipeline file's `propagator`) give
/// the propagators.
pub(crate) const PROPAGATORS: [(&str, PropagatorChoice); 2] = [
    ("tracecontext", PropagatorChoice::TraceContext),
    ("baggage", PropagatorChoice::Baggage),
];

/// The names `OTEL_EXPORTER_OTLP_COMPRESSION` (and a pipeline file's
/// `compression`) give the compressions.
pub(crate) const COMPRESSIONS: [(&str, Compression); 2] =
    [("none", Compression::None), ("gzip", Compression::Gzip)];

/// The value `table` gives `name`.
pub(crate) fn named<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The name `table` gives `value`.
pub(crate) fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| v == value)
        .map_or("", |(n, _)| n)
}

/// For tests: two choices are equal when they print the same.
#[cfg(test)]
impl PartialEq for SamplerChoice {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// Where one signal's OTLP exporter sends, resolved from the settings as the
/// specification says, so that the exporter is built from these values alone
/// (it never reads the process environment: see `export/otlp.rs`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OtlpTarget {
    /// `OTEL_EXPORTER_OTLP_(<SIGNAL>_)PROTOCOL`.
    pub(crate) protocol: Protocol,
    /// The full URL: for HTTP with the signal's path (`/v1/traces`), for gRPC the
    /// base (`http://host:4317`).
    pub(crate) endpoint: String,
    /// The setting the endpoint comes from (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`), or `default`.
    pub(crate) endpoint_from: String,
    /// The endpoint as that setting writes it, for messages.
    pub(crate) endpoint_written: String,
    /// `OTEL_EXPORTER_OTLP_(<SIGNAL>_)INSECURE`: a gRPC endpoint written
    /// without a scheme is `http://` rather than `https://`.
    pub(crate) insecure: bool,
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
        match value.split_once("://").filter(|_| env::has_scheme(value)) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => {
                let rest = rest.strip_prefix("localhost").unwrap_or(rest);
                let path = env::percent_decode(rest).unwrap_or_else(|| rest.to_owned());
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

/// An OTLP endpoint resolved as the specification says, and where it comes from.
pub(crate) struct Endpoint {
    pub(crate) url: String,
    pub(crate) from: String,
    pub(crate) written: String,
}

impl Endpoint {
    /// The signal's own endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or a
    /// pipeline file's `endpoint`), used as it is.
    pub(crate) fn given(
        protocol: Protocol,
        from: String,
        written: String,
        insecure: bool,
    ) -> Endpoint {
        Endpoint {
            url: with_grpc_scheme(protocol, written.clone(), insecure),
            from,
            written,
        }
    }

    /// The endpoint of all signals (`OTEL_EXPORTER_OTLP_ENDPOINT`): over HTTP
    /// with the signal's path (`/v1/traces`).
    pub(crate) fn general(
        signal: &str,
        protocol: Protocol,
        written: String,
        insecure: bool,
    ) -> Endpoint {
        let url = match protocol {
            Protocol::HttpProtobuf => format!(
                "{}/v1/{}",
                written.trim_end_matches('/'),
                signal.to_ascii_lowercase()
            ),
            Protocol::Grpc => written.clone(),
        };
        Endpoint {
            url: with_grpc_scheme(protocol, url, insecure),
            from: "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            written,
        }
    }

    /// The specification's default for the protocol.
    pub(crate) fn default(signal: &str, protocol: Protocol) -> Endpoint {
        let url = match protocol {
            Protocol::HttpProtobuf => {
                format!("http://localhost:4318/v1/{}", signal.to_ascii_lowercase())
            }
            Protocol::Grpc => "http://localhost:4317".to_owned(),
        };
        Endpoint {
            url,
            from: "default".to_owned(),
            written: String::new(),
        }
    }

    /// What `target` resolved.
    pub(crate) fn of(target: &OtlpTarget) -> Endpoint {
        Endpoint {
            url: target.endpoint.clone(),
            from: target.endpoint_from.clone(),
            written: target.endpoint_written.clone(),
        }
    }
}

/// A gRPC endpoint without a scheme gets `https://`, or `http://` when
/// insecure.
fn with_grpc_scheme(protocol: Protocol, endpoint: String, insecure: bool) -> String {
    if protocol == Protocol::Grpc && !env::has_scheme(&endpoint) {
        format!("{}://{endpoint}", if insecure { "http" } else { "https" })
    } else {
        endpoint
    }
}

/// `OTEL_EXPORTER_OTLP_HEADERS` as a list: pairs decoded, empty values left out.
pub(crate) fn headers_list(text: &str) -> Vec<(String, String)> {
    key_value_list(text)
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

impl OtlpTarget {
    /// Nothing set: the specification's defaults for `signal` (`TRACES`, ...).
    fn defaults(signal: &str) -> OtlpTarget {
        let protocol = Protocol::HttpProtobuf;
        let endpoint = Endpoint::default(signal, protocol);
        OtlpTarget {
            protocol,
            endpoint: endpoint.url,
            endpoint_from: endpoint.from,
            endpoint_written: endpoint.written,
            insecure: false,
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            certificate: None,
            client_key: None,
            client_certificate: None,
            compression: Compression::None,
        }
    }

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
        let Some((scheme, rest)) = e.split_once("://").filter(|_| env::has_scheme(e)) else {
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

    /// Whether an endpoint was set (else the default one applies): OTLP is
    /// then the signal's default exporter.
    pub(crate) fn endpoint_set(&self) -> bool {
        self.endpoint_from != "default"
    }

    /// Whether the endpoint is `https` (TLS).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn is_https(&self) -> bool {
        self.endpoint
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
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

/// For tests: a lookup of the variables in `pairs`, as an environment.
#[cfg(test)]
pub(crate) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}
