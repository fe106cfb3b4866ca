//! What a setup chooses from, compiled whatever the features: the exporters of
//! each signal, the OTLP [`Protocol`] and the [`Sampler`]. The
//! [`Builder`](crate::Builder) takes them, the settings hold them, install
//! builds from them.

/// Where spans go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracesExporter {
    /// The human-readable waterfall on stderr.
    Console,
    /// OTLP to a collector (`OTEL_EXPORTER_OTLP_*`).
    Otlp,
    /// OTLP/JSON lines, one export request per line, to standard output or a
    /// file (`TRACED_OTLP_FILE_TRACES`), rotated by size
    /// (`TRACED_OTLP_FILE_MAX_BYTES`, `TRACED_OTLP_FILE_KEEP_FILES`): the
    /// specification's `otlp_file/development` exporter
    /// (`OTEL_TRACES_EXPORTER=otlp_file`). Needs the `otlp` feature.
    OtlpFile,
}

/// Where metrics go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsExporter {
    /// A readable table on stderr at every export interval and at shutdown.
    Console,
    /// OTLP to a collector (`OTEL_EXPORTER_OTLP_*`).
    Otlp,
    /// A Prometheus pull endpoint (`OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`).
    Prometheus,
    /// OTLP/JSON lines to standard output or a file
    /// (`TRACED_OTLP_FILE_METRICS`), as [`TracesExporter::OtlpFile`] writes
    /// spans; the temporality is `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
    OtlpFile,
}

/// Where log records go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogsExporter {
    /// One line per record on stderr.
    Console,
    /// OTLP to a collector (`OTEL_EXPORTER_OTLP_*`).
    Otlp,
    /// OTLP/JSON lines to standard output or a file
    /// (`TRACED_OTLP_FILE_LOGS`), as [`TracesExporter::OtlpFile`] writes spans.
    OtlpFile,
}

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (default port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318), the spec's default.
    HttpProtobuf,
}

/// Which traces are sampled: the samplers of the OpenTelemetry SDK
/// specification, as `OTEL_TRACES_SAMPLER` names them.
///
/// ```
/// # use traced_runtime as traced;
/// // 10 % of new traces; a span with a parent follows its parent's decision.
/// let _telemetry = traced::Builder::new()
///     .sampler(traced::Sampler::parent_based(traced::Sampler::ratio(0.1)))
///     .init();
/// ```
///
/// With the `enabled` feature on, an SDK sampler converts too
/// (`Sampler::from(opentelemetry_sdk::trace::Sampler::AlwaysOn)`), for a custom
/// `ShouldSample` implementation.
#[derive(Clone, Debug)]
pub struct Sampler(pub(crate) SamplerKind);

#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub(crate) enum SamplerKind {
    AlwaysOn,
    AlwaysOff,
    Ratio(f64),
    ParentBased(Box<SamplerKind>),
    #[cfg(feature = "enabled")]
    Sdk(opentelemetry_sdk::trace::Sampler),
}

impl Sampler {
    /// Samples every trace (`always_on`).
    pub fn always_on() -> Self {
        Sampler(SamplerKind::AlwaysOn)
    }

    /// Samples no trace (`always_off`); context still propagates.
    pub fn always_off() -> Self {
        Sampler(SamplerKind::AlwaysOff)
    }

    /// Samples this fraction of traces by trace id (`traceidratio`); `ratio`
    /// is clamped to 0..=1.
    pub fn ratio(ratio: f64) -> Self {
        let ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        Sampler(SamplerKind::Ratio(ratio))
    }

    /// Follows the parent's decision when there is a parent, else `root`
    /// (`parentbased_*`; the default is `parent_based(always_on())`).
    pub fn parent_based(root: Sampler) -> Self {
        Sampler(SamplerKind::ParentBased(Box::new(root.0)))
    }
}

impl Default for Sampler {
    /// `parentbased_always_on`, the specification's default.
    fn default() -> Self {
        Sampler::parent_based(Sampler::always_on())
    }
}

#[cfg(feature = "enabled")]
impl From<opentelemetry_sdk::trace::Sampler> for Sampler {
    fn from(sampler: opentelemetry_sdk::trace::Sampler) -> Self {
        Sampler(SamplerKind::Sdk(sampler))
    }
}

#[cfg(feature = "enabled")]
impl SamplerKind {
    pub(crate) fn into_sdk(self) -> opentelemetry_sdk::trace::Sampler {
        use opentelemetry_sdk::trace::Sampler as S;
        match self {
            SamplerKind::AlwaysOn => S::AlwaysOn,
            SamplerKind::AlwaysOff => S::AlwaysOff,
            SamplerKind::Ratio(r) => S::TraceIdRatioBased(r),
            SamplerKind::ParentBased(root) => S::ParentBased(Box::new(root.into_sdk())),
            SamplerKind::Sdk(s) => s,
        }
    }
}
