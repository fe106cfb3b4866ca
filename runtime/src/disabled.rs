//! The surface of the runtime with the `enabled` feature off: the same names, doing nothing.

use std::time::Duration;

/// The default bound on how long dropping the [`Guard`] may take.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where spans go (ignored: instrumentation is compiled out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracesExporter {
    /// The human-readable waterfall on stderr.
    Console,
    /// OTLP to a collector.
    Otlp,
}

/// Where metrics go (ignored: instrumentation is compiled out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsExporter {
    /// A readable table on stderr.
    Console,
    /// OTLP to a collector.
    Otlp,
}

/// The OTLP transport (ignored: instrumentation is compiled out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProtobuf,
}

/// Why a flush or shutdown did not complete (never, with instrumentation compiled out).
#[derive(Debug)]
pub enum Error {}

impl std::fmt::Display for Error {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Error {}

/// Configures telemetry; with the `enabled` feature off every setting is ignored.
#[derive(Debug, Default)]
#[must_use = "a Builder does nothing until `.init()`"]
pub struct Builder(());

#[allow(missing_docs, clippy::needless_pass_by_value)]
impl Builder {
    pub fn new() -> Self {
        Builder(())
    }
    pub fn service_name(self, _: impl Into<String>) -> Self {
        self
    }
    pub fn service_version(self, _: impl Into<String>) -> Self {
        self
    }
    pub fn resource_attribute(self, _: opentelemetry::KeyValue) -> Self {
        self
    }
    pub fn traces_exporters(self, _: impl IntoIterator<Item = TracesExporter>) -> Self {
        self
    }
    pub fn span_processor<T>(self, _: T) -> Self {
        self
    }
    pub fn batch_exporter<T>(self, _: T) -> Self {
        self
    }
    pub fn simple_exporter<T>(self, _: T) -> Self {
        self
    }
    pub fn sampler<T>(self, _: T) -> Self {
        self
    }
    pub fn metrics_exporters(self, _: impl IntoIterator<Item = MetricsExporter>) -> Self {
        self
    }
    pub fn metric_exporter<T>(self, _: T) -> Self {
        self
    }
    pub fn metric_export_interval(self, _: Duration) -> Self {
        self
    }
    pub fn shutdown_timeout(self, _: Duration) -> Self {
        self
    }
    pub fn ignore_env(self) -> Self {
        self
    }
    pub fn init(self) -> Guard {
        Guard(())
    }
}

/// Does nothing: instrumentation is compiled out.
pub fn init() -> Guard {
    Guard(())
}

#[doc(hidden)]
pub fn init_for_crate(_name: &'static str, _version: &'static str) -> Guard {
    Guard(())
}

/// Why a configuration file could not be used (never, with instrumentation compiled out).
#[derive(Debug)]
pub enum ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for ConfigError {}

/// Does nothing (the file is not read): instrumentation is compiled out.
pub fn init_from_file(_path: impl AsRef<std::path::Path>) -> Result<Guard, ConfigError> {
    Ok(Guard(()))
}

/// Returned by [`init`]; nothing to flush with instrumentation compiled out.
#[derive(Debug)]
#[must_use = "bind the guard: `let _telemetry = traced::init();`"]
pub struct Guard(());

#[allow(missing_docs)]
impl Guard {
    pub fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
    pub fn shutdown(self) -> Result<(), Error> {
        Ok(())
    }
}
