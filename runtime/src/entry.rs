//! The entry points: [`init`] and `init!()` (the `OTEL_*` environment, or the
//! file `OTEL_CONFIG_FILE` names), [`init_from_file`], and the opt-in to the
//! application's own global tracer provider. Each picks a front-end (the
//! environment through a [`Builder`], or a configuration file
//! that makes one) and leaves installing to
//! [`Builder::init`].

use crate::builder::{Builder, CrateBuild};
use crate::guard::Guard;

impl Builder {
    /// Installs the tracer, meter and logger providers and the propagators, and
    /// returns the guard that flushes and shuts them down when dropped. Never
    /// panics: problems are reported on stderr and the affected part is left out.
    /// With the `enabled` feature off it installs nothing.
    pub fn init(self) -> Guard {
        #[cfg(feature = "enabled")]
        return Guard {
            installed: crate::install::install(self),
        };
        #[cfg(not(feature = "enabled"))]
        return Guard::noop();
    }
}

/// Installs telemetry configured by the `OTEL_*` environment; see [`Builder`].
///
/// With nothing configured, each finished trace prints as a waterfall on stderr.
/// Setting `OTEL_EXPORTER_OTLP_ENDPOINT` sends OTLP to a collector instead.
/// When `OTEL_CONFIG_FILE` names a configuration file, the file configures
/// everything instead, as [`init_from_file`] does; if it cannot be used, the
/// problem is printed on stderr and nothing is installed (telemetry is off rather
/// than sent somewhere the file did not say).
/// Keep the guard alive for the life of the program:
///
/// ```no_run
/// # use traced_runtime as traced;
/// let _telemetry = traced::init();
/// // ... the program ...
/// drop(_telemetry); // spans are flushed, providers shut down
/// ```
pub fn init() -> Guard {
    #[cfg(feature = "enabled")]
    return init_with(Builder::new);
    #[cfg(not(feature = "enabled"))]
    return Guard::noop();
}

/// Sends the spans of `#[traced]` functions to the global tracer provider that
/// the application installs itself (`opentelemetry::global::set_tracer_provider`),
/// for programs that keep their own OpenTelemetry setup instead of calling
/// [`init`]. One call, at any time, before or after the provider is set; it holds
/// for the rest of the process, and a guard of `init` takes precedence while it
/// lives.
///
/// Without it, and before `init()` (or with `OTEL_SDK_DISABLED=true`), a traced
/// function costs one relaxed load and a branch and records nothing: the
/// OpenTelemetry API gives no cheap way to notice that a provider was installed,
/// so `traced` does not look it up on every call unless asked to.
///
/// ```
/// # use traced_runtime as traced;
/// // The application's own setup, e.g.
/// // opentelemetry::global::set_tracer_provider(provider.clone());
/// traced::use_global_tracer_provider();
/// // #[traced] functions now record to that provider.
/// ```
///
/// With the `enabled` feature off it does nothing.
pub fn use_global_tracer_provider() {
    #[cfg(feature = "enabled")]
    crate::tracer::use_global();
}

/// What `init!()` calls: [`init`], with the calling crate's name and version as
/// the fallback `service.name` and `service.version`, and what its build knew
/// of its sources for `build_info`.
#[doc(hidden)]
#[cfg_attr(not(feature = "enabled"), allow(unused_variables))]
pub fn init_for_crate(name: &'static str, version: &'static str, build: CrateBuild) -> Guard {
    #[cfg(feature = "enabled")]
    return init_with(|| {
        let mut builder = Builder::new().service_name(name).service_version(version);
        builder.crate_build = build;
        builder
    });
    #[cfg(not(feature = "enabled"))]
    return Guard::noop();
}

/// Installs telemetry as the configuration file at `path` says: the
/// OpenTelemetry declarative configuration format (YAML), with `traced`'s
/// processors as extensions (see the `file_config` module). The `OTEL_*`
/// environment is not read, except where the file substitutes `${VAR}`.
/// Warnings about the file are printed on stderr.
///
/// Nothing is installed when the file cannot be read or is not valid: the error
/// names the file, the line and the column, and for a misspelt key the nearest
/// valid one. With the `enabled` feature off the file is not read.
///
/// ```no_run
/// # use traced_runtime as traced;
/// let _telemetry = traced::init_from_file("config/production.yaml")
///     .unwrap_or_else(|e| panic!("{e}"));
/// ```
#[cfg_attr(not(feature = "enabled"), allow(unused_variables))]
pub fn init_from_file(
    path: impl AsRef<std::path::Path>,
) -> Result<Guard, crate::file_config::ConfigError> {
    #[cfg(feature = "enabled")]
    return init_from_file_at(path.as_ref());
    #[cfg(not(feature = "enabled"))]
    return Ok(Guard::noop());
}

/// The file named by `OTEL_CONFIG_FILE` if there is one (on top of `base`'s
/// service name), else `base` from the environment. A file that cannot be used
/// installs nothing, saying why.
#[cfg(feature = "enabled")]
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
                // Never another destination than the file's: a service whose file
                // has a typo must not switch from its collector to the console.
                eprintln!(
                    "traced: OTEL_CONFIG_FILE: {e}; telemetry is off (nothing is installed: fix the \
                     file, or unset OTEL_CONFIG_FILE to configure from the environment)"
                );
                return Guard::noop();
            }
        }
    }
    base().init()
}

/// [`init_from_file`].
#[cfg(feature = "enabled")]
fn init_from_file_at(path: &std::path::Path) -> Result<Guard, crate::file_config::ConfigError> {
    let config = crate::file_config::load(path)?;
    for warning in config.warnings() {
        eprintln!("traced: {warning}");
    }
    Ok(config.builder().init())
}
