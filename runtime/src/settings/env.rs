//! The standard `OTEL_*` environment, read once per `init` and checked.
//!
//! An invalid value never fails the program: it is reported once on stderr with the
//! variable's name, what was expected, and the default used instead.

use super::*;
use std::collections::HashMap;

impl Settings {
    /// The settings made in code with [`Builder::setting`](crate::Builder::setting)
    /// (`code`), over the process environment when `read_env`, over `base` (what a
    /// pipeline file set, or the defaults).
    pub(crate) fn from_code_and_env(
        code: &HashMap<String, String>,
        read_env: bool,
        base: Option<&Settings>,
    ) -> Self {
        let lookup = |name: &str| {
            code.get(name)
                .cloned()
                .or_else(|| read_env.then(|| std::env::var(name).ok()).flatten())
        };
        match base {
            Some(base) => Self::read(&lookup, base),
            None => Self::read(&lookup, &Settings::defaults()),
        }
    }

    /// Reads through `lookup`, which returns a variable's value if it is set,
    /// over the defaults.
    #[cfg(test)]
    pub(crate) fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self::read(&lookup, &Settings::defaults())
    }

    /// Reads through `lookup`: what a variable it has sets replaces what `base`
    /// holds; what it lacks stays as `base` has it.
    pub(crate) fn read(lookup: &dyn Fn(&str) -> Option<String>, base: &Settings) -> Self {
        let mut r = Reader {
            lookup,
            warnings: base.warnings.clone(),
        };
        let sdk_disabled = r.bool("OTEL_SDK_DISABLED", base.sdk_disabled);
        let propagators = r.propagators(&base.propagators);
        let traces_exporters = r
            .exporter_list(
                "OTEL_TRACES_EXPORTER",
                &[
                    ("otlp", TracesExporter::Otlp),
                    ("otlp_file", TracesExporter::OtlpFile),
                    ("console", TracesExporter::Console),
                ],
            )
            .or_else(|| base.traces.exporters.clone());
        let traces_protocol = r.protocol("TRACES", base.traces.otlp.protocol);
        let traces_timeout = r.otlp_timeout("TRACES", base.traces.otlp.timeout);
        let metrics_exporters = r
            .exporter_list(
                "OTEL_METRICS_EXPORTER",
                &[
                    ("otlp", MetricsExporter::Otlp),
                    ("prometheus", MetricsExporter::Prometheus),
                    ("otlp_file", MetricsExporter::OtlpFile),
                    ("console", MetricsExporter::Console),
                ],
            )
            .or_else(|| base.metrics.exporters.clone());
        let metrics_protocol = r.protocol("METRICS", base.metrics.otlp.protocol);
        let metrics_timeout = r.otlp_timeout("METRICS", base.metrics.otlp.timeout);
        let export_interval = r.millis("OTEL_METRIC_EXPORT_INTERVAL", base.metrics.export_interval);
        let export_timeout = r.millis("OTEL_METRIC_EXPORT_TIMEOUT", base.metrics.export_timeout);
        let logs_exporters = r
            .exporter_list(
                "OTEL_LOGS_EXPORTER",
                &[
                    ("otlp", LogsExporter::Otlp),
                    ("otlp_file", LogsExporter::OtlpFile),
                    ("console", LogsExporter::Console),
                ],
            )
            .or_else(|| base.logs.exporters.clone());
        let logs_protocol = r.protocol("LOGS", base.logs.otlp.protocol);
        let logs_timeout = r.otlp_timeout("LOGS", base.logs.otlp.timeout);
        let logs_batch = r.batch("OTEL_BLRP", base.logs.batch);
        let log_filter = r
            .get("RUST_LOG")
            .unwrap_or_else(|| base.logs.filter.clone());
        let prometheus = PrometheusSettings {
            host: r
                .get("OTEL_EXPORTER_PROMETHEUS_HOST")
                .unwrap_or_else(|| base.metrics.prometheus.host.clone()),
            port: r.port(
                "OTEL_EXPORTER_PROMETHEUS_PORT",
                base.metrics.prometheus.port,
            ),
        };
        let exemplar_filter = r.exemplar_filter(base.metrics.exemplar_filter);
        let sampler = r.sampler(&base.traces.sampler);
        let sdk_spans = r.span_path(base.traces.sdk_spans);
        let traces_batch = r.batch("OTEL_BSP", base.traces.batch);
        let mut resource = match r.get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(text) => ResourceSettings::from_list(&text),
            None => base.resource.clone(),
        };
        if let Some(name) = r.get("OTEL_SERVICE_NAME") {
            resource.service_name = Some(name);
        }
        let traces_otlp =
            r.otlp_target("TRACES", traces_protocol, traces_timeout, &base.traces.otlp);
        let metrics_otlp = r.otlp_target(
            "METRICS",
            metrics_protocol,
            metrics_timeout,
            &base.metrics.otlp,
        );
        let logs_otlp = r.otlp_target("LOGS", logs_protocol, logs_timeout, &base.logs.otlp);
        let traces_file = r.output_stream("TRACED_OTLP_FILE_TRACES", &base.traces.otlp_file);
        let metrics_file = r.output_stream("TRACED_OTLP_FILE_METRICS", &base.metrics.otlp_file);
        let logs_file = r.output_stream("TRACED_OTLP_FILE_LOGS", &base.logs.otlp_file);
        let otlp_file = FileRotation {
            max_bytes: r.positive(
                "TRACED_OTLP_FILE_MAX_BYTES",
                base.otlp_file.max_bytes as usize,
            ) as u64,
            keep_files: r.positive("TRACED_OTLP_FILE_KEEP_FILES", base.otlp_file.keep_files),
        };
        #[cfg(feature = "otlp")]
        let export_retry = RetrySettings {
            max_elapsed: r.millis("TRACED_EXPORT_RETRY_TIMEOUT", base.export_retry.max_elapsed),
            max_requests: r.positive(
                "TRACED_EXPORT_RETRY_QUEUE_SIZE",
                base.export_retry.max_requests,
            ),
            max_bytes: r.positive(
                "TRACED_EXPORT_RETRY_QUEUE_BYTES",
                base.export_retry.max_bytes,
            ),
        };
        let (temporality, temporality_warning) = match r.get(TEMPORALITY_VAR) {
            Some(_) => temporality(lookup),
            None => (
                base.metrics.temporality,
                base.metrics.temporality_warning.clone(),
            ),
        };
        let b = &base.build_info;
        let var = |name: &str, base: &Option<String>| lookup(name).or_else(|| base.clone());
        let build_info = BuildInfoSettings {
            version: var("AUTOMETRICS_VERSION", &b.version),
            commit: var("AUTOMETRICS_COMMIT", &b.commit),
            branch: var("AUTOMETRICS_BRANCH", &b.branch),
            service_name: var("AUTOMETRICS_SERVICE_NAME", &b.service_name),
            repository_url: var("AUTOMETRICS_REPOSITORY_URL", &b.repository_url),
            repository_provider: var("AUTOMETRICS_REPOSITORY_PROVIDER", &b.repository_provider),
        };
        Settings {
            sdk_disabled,
            propagators,
            resource,
            traces: TraceSettings {
                exporters: traces_exporters,
                otlp: traces_otlp,
                otlp_file: traces_file,
                batch: traces_batch,
                sampler,
                sdk_spans,
            },
            metrics: MetricSettings {
                exporters: metrics_exporters,
                otlp: metrics_otlp,
                otlp_file: metrics_file,
                temporality,
                temporality_warning,
                export_interval,
                export_timeout,
                exemplar_filter,
                prometheus,
            },
            logs: LogSettings {
                exporters: logs_exporters,
                otlp: logs_otlp,
                otlp_file: logs_file,
                batch: logs_batch,
                filter: log_filter,
            },
            otlp_file,
            #[cfg(feature = "otlp")]
            export_retry,
            build_info,
            warnings: r.warnings,
        }
    }
}

const TEMPORALITY_VAR: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";

/// The temporality `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` asks for, as
/// `opentelemetry-otlp` 0.33.1 resolves it (`cumulative` by default, `delta`,
/// `lowmemory`, any case), and the warning for an invalid value.
pub(crate) fn temporality(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (Temporality, Option<String>) {
    let Some(value) = lookup(TEMPORALITY_VAR).filter(|v| !v.trim().is_empty()) else {
        return (Temporality::Cumulative, None);
    };
    match value.trim().parse::<Temporality>() {
        Ok(t) => (t, None),
        Err(()) => (
            Temporality::Cumulative,
            Some(format!(
                "{TEMPORALITY_VAR}={value:?} is not valid (expected cumulative, delta or \
                 lowmemory); using cumulative"
            )),
        ),
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
pub(crate) fn percent_decode(value: &str) -> Option<String> {
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
pub(super) fn has_scheme(endpoint: &str) -> bool {
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

    /// `TRACED_SPAN_PATH`: `traced` (the default) or `sdk`; whether
    /// `#[traced]` spans are the SDK's own.
    fn span_path(&mut self, base: bool) -> bool {
        const NAME: &str = "TRACED_SPAN_PATH";
        match self.get(NAME).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => base,
            Some("traced") => false,
            Some("sdk") => true,
            Some(other) => {
                let other = other.to_owned();
                let name = if base { "sdk" } else { "traced" };
                self.invalid(NAME, &other, "traced or sdk", name);
                base
            }
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

    fn millis(&mut self, name: &str, default: Duration) -> Duration {
        let Some(v) = self.get(name) else {
            return default;
        };
        match v.parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                self.invalid(
                    name,
                    &v,
                    "a whole number of milliseconds",
                    format!("{}ms", default.as_millis()),
                );
                default
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

    /// A batch processor's `<prefix>_*` settings; the batch size is clamped
    /// to the queue size, saying so.
    fn batch(&mut self, prefix: &str, base: BatchSettings) -> BatchSettings {
        let schedule_delay = self.millis(&format!("{prefix}_SCHEDULE_DELAY"), base.schedule_delay);
        let export_timeout = self.millis(&format!("{prefix}_EXPORT_TIMEOUT"), base.export_timeout);
        let max_queue_size =
            self.positive(&format!("{prefix}_MAX_QUEUE_SIZE"), base.max_queue_size);
        let mut max_export_batch_size = self.positive(
            &format!("{prefix}_MAX_EXPORT_BATCH_SIZE"),
            base.max_export_batch_size,
        );
        if max_export_batch_size > max_queue_size {
            self.warnings.push(format!(
                "{prefix}_MAX_EXPORT_BATCH_SIZE={max_export_batch_size} is larger than \
                 {prefix}_MAX_QUEUE_SIZE={max_queue_size}; using {max_queue_size}"
            ));
            max_export_batch_size = max_queue_size;
        }
        BatchSettings {
            schedule_delay,
            export_timeout,
            max_queue_size,
            max_export_batch_size,
        }
    }

    /// An OTLP file exporter's destination: `stdout` (the default), a
    /// `file://` URI or a path; stdout when it is not valid.
    fn output_stream(&mut self, name: &str, base: &OutputStream) -> OutputStream {
        let Some(v) = self.get(name) else {
            return base.clone();
        };
        OutputStream::parse(&v, true).unwrap_or_else(|expected| {
            self.invalid(name, &v, expected, base);
            base.clone()
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

    fn exemplar_filter(&mut self, base: ExemplarFilter) -> ExemplarFilter {
        const NAME: &str = "OTEL_METRICS_EXEMPLAR_FILTER";
        let Some(v) = self.get(NAME) else {
            return base;
        };
        match named(&EXEMPLAR_FILTERS, &v.to_ascii_lowercase()) {
            Some(filter) => filter,
            None => {
                self.invalid(
                    NAME,
                    &v,
                    "trace_based, always_on or always_off",
                    name_of(&EXEMPLAR_FILTERS, &base),
                );
                base
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

    fn protocol(&mut self, signal: &str, base: Protocol) -> Protocol {
        let Some((name, v)) = self.signal_var(signal, "PROTOCOL") else {
            return base;
        };
        named(&PROTOCOLS, &v).unwrap_or_else(|| {
            self.invalid(
                &name,
                &v,
                "grpc or http/protobuf",
                name_of(&PROTOCOLS, &base),
            );
            base
        })
    }

    /// The signal's endpoint and headers for `protocol`, each as `base` has
    /// it unless a variable sets it. A signal's endpoint is used as it is; the
    /// general one gets `/v1/<signal>` over HTTP. A gRPC endpoint without a
    /// scheme gets `https://`, or `http://` when
    /// `OTEL_EXPORTER_OTLP_(<SIGNAL>_)INSECURE=true`.
    fn otlp_target(
        &mut self,
        signal: &str,
        protocol: Protocol,
        timeout: Duration,
        base: &OtlpTarget,
    ) -> OtlpTarget {
        let specific = format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT");
        let insecure = match self.signal_var(signal, "INSECURE") {
            Some((_, v)) => v.eq_ignore_ascii_case("true"),
            None => base.insecure,
        };
        let endpoint = match (self.get(&specific), self.get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(e), _) => Endpoint::given(protocol, specific, e, insecure),
            (None, Some(general)) => Endpoint::general(signal, protocol, general, insecure),
            (None, None) if base.endpoint_set() => Endpoint::of(base),
            (None, None) => Endpoint::default(signal, protocol),
        };
        let headers = match self.signal_var(signal, "HEADERS") {
            Some((_, v)) => headers_list(&v),
            None => base.headers.clone(),
        };
        let file = |suffix: &str, base: &Option<Setting>| {
            self.signal_var(signal, suffix)
                .map(|(name, value)| Setting { name, value })
                .or_else(|| base.clone())
        };
        let (certificate, client_key, client_certificate) = (
            file("CERTIFICATE", &base.certificate),
            file("CLIENT_KEY", &base.client_key),
            file("CLIENT_CERTIFICATE", &base.client_certificate),
        );
        let compression = match self.signal_var(signal, "COMPRESSION") {
            None => base.compression,
            Some((name, v)) => match named(&COMPRESSIONS, &v.to_ascii_lowercase()) {
                Some(compression) => compression,
                None => {
                    let using = name_of(&COMPRESSIONS, &base.compression);
                    self.invalid(&name, &v, "gzip or none", using);
                    base.compression
                }
            },
        };
        OtlpTarget {
            protocol,
            endpoint: endpoint.url,
            endpoint_from: endpoint.from,
            endpoint_written: endpoint.written,
            insecure,
            headers,
            timeout,
            certificate,
            client_key,
            client_certificate,
            compression,
        }
    }

    fn otlp_timeout(&mut self, signal: &str, base: Duration) -> Duration {
        match self.signal_var(signal, "TIMEOUT") {
            Some((name, _)) => self.millis(&name, base),
            None => base,
        }
    }

    fn propagators(&mut self, base: &[PropagatorChoice]) -> Vec<PropagatorChoice> {
        const NAME: &str = "OTEL_PROPAGATORS";
        let Some(v) = self.get(NAME) else {
            return base.to_vec();
        };
        let mut out = Vec::new();
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let lower = item.to_ascii_lowercase();
            if let Some(choice) = named(&PROPAGATORS, &lower) {
                out.push(choice);
                continue;
            }
            match lower.as_str() {
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

    fn sampler(&mut self, base: &SamplerChoice) -> SamplerChoice {
        const NAME: &str = "OTEL_TRACES_SAMPLER";
        const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
        let Some(v) = self.get(NAME) else {
            return base.clone();
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
                    base.name(),
                );
                base.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::lookup;

    fn env(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_env(lookup(pairs))
    }

    #[test]
    fn temporality_follows_opentelemetry_otlp() {
        assert_eq!(temporality(&lookup(&[])), (Temporality::Cumulative, None));
        for (value, expected) in [
            ("cumulative", Temporality::Cumulative),
            ("Delta", Temporality::Delta),
            ("LOWMEMORY", Temporality::LowMemory),
        ] {
            assert_eq!(
                temporality(&lookup(&[(TEMPORALITY_VAR, value)])),
                (expected, None)
            );
        }
        let (t, warning) = temporality(&lookup(&[(TEMPORALITY_VAR, "sometimes")]));
        assert_eq!(t, Temporality::Cumulative);
        let warning = warning.unwrap();
        assert!(
            warning.contains("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=\"sometimes\"")
                && warning.contains("using cumulative"),
            "{warning}"
        );
        let e = env(&[(TEMPORALITY_VAR, "delta")]);
        assert_eq!(e.metrics.temporality, Temporality::Delta);
        let e = env(&[(TEMPORALITY_VAR, "sometimes")]);
        assert_eq!(e.metrics.temporality_warning, Some(warning));
        assert!(e.warnings.is_empty(), "printed when an exporter uses it");
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let e = env(&[]);
        assert!(!e.sdk_disabled);
        assert_eq!(e.traces.exporters, None);
        assert_eq!(e.traces.otlp.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.traces.otlp.timeout, Duration::from_secs(10));
        assert_eq!(e.traces.sampler, SamplerChoice::ParentBasedAlwaysOn);
        assert_eq!(e.traces.batch.schedule_delay, Duration::from_secs(5));
        assert_eq!(e.traces.batch.max_queue_size, 2048);
        assert_eq!(e.traces.batch.max_export_batch_size, 512);
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
            e.traces.exporters,
            Some(vec![TracesExporter::Otlp, TracesExporter::Console])
        );
        assert_eq!(e.traces.otlp.protocol, Protocol::Grpc);
        assert_eq!(e.traces.otlp.timeout, Duration::from_millis(250));
        assert_eq!(e.traces.sampler, SamplerChoice::ParentBasedRatio(0.25));
        assert_eq!(e.traces.batch.max_queue_size, 100);
        assert_eq!(e.traces.batch.max_export_batch_size, 10);
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
        assert_eq!(e.traces.otlp.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.traces.otlp.timeout, Duration::from_millis(2));
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
        assert_eq!(e.traces.sampler, SamplerChoice::Ratio(1.0));
        assert_eq!(e.traces.batch.schedule_delay, Duration::from_secs(5));
        assert_eq!(e.traces.otlp.protocol, Protocol::HttpProtobuf);
        assert_eq!(e.traces.exporters, None, "an unknown exporter: the default");
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
            e.traces.otlp_file,
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
        assert_eq!(e.traces.exporters, Some(vec![TracesExporter::OtlpFile]));
        assert_eq!(
            e.metrics.exporters,
            Some(vec![MetricsExporter::OtlpFile, MetricsExporter::Otlp])
        );
        assert_eq!(e.logs.exporters, Some(vec![LogsExporter::OtlpFile]));
        assert_eq!(
            e.traces.otlp_file,
            OutputStream::File("/var/log/my app/traces.jsonl".into())
        );
        assert_eq!(
            e.metrics.otlp_file,
            OutputStream::File("relative/metrics.jsonl".into())
        );
        assert_eq!(e.logs.otlp_file, OutputStream::Stdout);
        assert_eq!((e.otlp_file.max_bytes, e.otlp_file.keep_files), (1024, 1));
        let e = env(&[
            ("TRACED_OTLP_FILE_TRACES", "http://collector/traces"),
            ("TRACED_OTLP_FILE_LOGS", "file://relative"),
            ("TRACED_OTLP_FILE_MAX_BYTES", "0"),
        ]);
        assert_eq!(e.traces.otlp_file, OutputStream::Stdout);
        assert_eq!(e.logs.otlp_file, OutputStream::Stdout);
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
        assert_eq!(e.traces.batch.max_export_batch_size, 8);
        assert_eq!(e.warnings.len(), 1);
    }

    /// Over a base (what a pipeline file set), a variable replaces only its
    /// own part; one that is blank or invalid leaves the base's, and the
    /// warning names the base's value.
    #[test]
    fn variables_read_over_a_base_replace_only_what_they_name() {
        let mut base = Settings::defaults();
        base.traces.batch.schedule_delay = Duration::from_millis(250);
        base.traces.batch.max_queue_size = 64;
        base.traces.batch.max_export_batch_size = 8;
        base.metrics.temporality = Temporality::Delta;
        base.propagators = vec![PropagatorChoice::Baggage];
        base.resource = ResourceSettings::from_list("service.name=cart");
        base.logs.otlp.headers = vec![("x-key".to_owned(), "1".to_owned())];
        let endpoint = Endpoint::given(
            Protocol::Grpc,
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT".to_owned(),
            "collector:4317".to_owned(),
            true,
        );
        base.logs.otlp.protocol = Protocol::Grpc;
        base.logs.otlp.endpoint = endpoint.url;
        base.logs.otlp.endpoint_from = endpoint.from;
        base.logs.otlp.endpoint_written = endpoint.written;
        base.logs.otlp.insecure = true;
        let vars = lookup(&[
            ("OTEL_BSP_SCHEDULE_DELAY", "7"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
            (TEMPORALITY_VAR, " "),
            ("OTEL_RESOURCE_ATTRIBUTES", ""),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "300"),
        ]);
        let s = Settings::read(&vars, &base);
        assert_eq!(s.traces.batch.schedule_delay, Duration::from_millis(7));
        assert_eq!(s.traces.batch.max_queue_size, 64);
        assert_eq!(
            s.warnings,
            [
                r#"OTEL_BSP_MAX_QUEUE_SIZE="lots" is not valid (expected a whole number above 0); using 64"#
            ]
        );
        assert_eq!(s.metrics.temporality, Temporality::Delta);
        assert_eq!(s.propagators, [PropagatorChoice::Baggage]);
        assert_eq!(s.resource.service_name.as_deref(), Some("cart"));
        assert_eq!(s.logs.otlp.endpoint, "http://collector:4317");
        assert_eq!(s.logs.otlp.protocol, Protocol::Grpc);
        assert_eq!(s.logs.otlp.headers, base.logs.otlp.headers);
        assert_eq!(s.logs.otlp.timeout, Duration::from_millis(300));
        // The general endpoint, set over the base, replaces the base's.
        let s = Settings::read(
            &lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318")]),
            &base,
        );
        assert_eq!(s.logs.otlp.endpoint, "http://other:4318");
        assert_eq!(s.traces.otlp.endpoint, "http://other:4318/v1/traces");
        // Nothing set: the base, as it is.
        let s = Settings::read(&lookup(&[]), &base);
        assert_eq!(format!("{s:?}"), format!("{base:?}"));
    }

    #[test]
    fn service_name_from_either_variable() {
        assert_eq!(
            env(&[("OTEL_SERVICE_NAME", "cart")])
                .resource
                .service_name
                .as_deref(),
            Some("cart")
        );
        assert_eq!(
            env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=b,service.name=shop")])
                .resource
                .service_name
                .as_deref(),
            Some("shop")
        );
        assert_eq!(env(&[]).resource.service_name, None);
    }

    #[test]
    fn otlp_targets_follow_the_specification() {
        let t = env(&[]);
        assert_eq!(t.traces.otlp.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(t.logs.otlp.endpoint, "http://localhost:4318/v1/logs");
        assert_eq!(t.traces.otlp.endpoint_from, "default");
        let grpc = env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        assert_eq!(grpc.metrics.otlp.endpoint, "http://localhost:4317");
        // The general endpoint gets the signal's path over HTTP, not over gRPC.
        let general = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"),
        ]);
        assert_eq!(
            general.metrics.otlp.endpoint,
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(general.logs.otlp.endpoint, "http://collector:4318/");
        // A signal's endpoint is used as it is and wins; a blank one does not count.
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                " http://traces:4318/custom ",
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", ""),
        ]);
        assert_eq!(e.traces.otlp.endpoint, "http://traces:4318/custom");
        assert_eq!(
            e.traces.otlp.endpoint_from,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        );
        assert_eq!(e.metrics.otlp.endpoint, "http://general:4318/v1/metrics");
        // gRPC without a scheme: https, or http when insecure.
        let bare = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "TRUE"),
        ]);
        assert_eq!(bare.traces.otlp.endpoint, "https://collector:4317");
        assert_eq!(bare.logs.otlp.endpoint, "http://collector:4317");
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
            named(&e.traces.otlp.certificate),
            Some(("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"))
        );
        assert_eq!(
            named(&e.logs.otlp.certificate),
            Some(("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "/logs-ca.pem"))
        );
        assert_eq!(
            named(&e.traces.otlp.client_key),
            Some(("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/k.pem"))
        );
        assert_eq!(named(&e.metrics.otlp.client_certificate), None);
        assert_eq!(e.traces.otlp.compression, Compression::Gzip);
        assert_eq!(e.metrics.otlp.compression, Compression::None);
        assert_eq!(e.logs.otlp.compression, Compression::None);
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
            e.traces.otlp.headers,
            pairs(&[("a", "1"), ("b", "x y,z"), ("bad", "%zz"), ("c", "d=e")])
        );
        assert_eq!(
            e.metrics.otlp.headers,
            pairs(&[("X-Token", "abc")]),
            "the signal's variable wins"
        );
        assert_eq!(e.logs.otlp.timeout, Duration::from_millis(250));
    }

    #[test]
    fn unknown_exporter_names_leave_the_default_or_the_others() {
        let e = env(&[("OTEL_METRICS_EXPORTER", "promethus")]);
        assert_eq!(e.metrics.exporters, None);
        assert!(
            e.warnings[0].contains("OTEL_METRICS_EXPORTER=\"promethus\"")
                && e.warnings[0].contains("using the default exporter"),
            "{:?}",
            e.warnings
        );
        let e = env(&[("OTEL_TRACES_EXPORTER", "otlp,zipkin,otlp")]);
        assert_eq!(e.traces.exporters, Some(vec![TracesExporter::Otlp]));
        assert!(
            e.warnings[0].contains("using the others named"),
            "{:?}",
            e.warnings
        );
        let e = env(&[("OTEL_LOGS_EXPORTER", "none")]);
        assert_eq!(e.logs.exporters, Some(vec![]));
        let e = env(&[("OTEL_LOGS_EXPORTER", "none,bogus")]);
        assert_eq!(e.logs.exporters, Some(vec![]), "none was said");
    }

    #[test]
    fn otlp_endpoints_are_checked_with_a_hint() {
        let check = |endpoint: &str| {
            env(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)])
                .traces
                .otlp
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
            .logs
            .otlp
            .check()
            .unwrap_err();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT="), "{e}");
    }
}
