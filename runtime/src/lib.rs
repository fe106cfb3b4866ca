//! The runtime of [`traced`](https://docs.rs/traced): the provider setup behind
//! `traced::init()`, the exporters, and the items generated code calls.
//!
//! Applications use it through the `traced` crate, which re-exports what is public here.
//!
//! The configuration surface ([`Builder`], [`Guard`], [`Sampler`], the exporter
//! choices, [`process`]'s rules, the HTTP integrations) compiles whatever the
//! features; with `enabled` off it does nothing and the OpenTelemetry SDK is not
//! compiled. What installs providers (`install`), exports (`export`), reads
//! settings (`settings`, `file_config`) and records (`private`, `tracer`) needs
//! `enabled`.
#![warn(missing_docs)]

pub mod baggage;
mod builder;
mod choices;
mod entry;
pub mod file_config;
mod guard;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod http;
pub mod logs;
pub mod metrics;
pub mod process;
pub mod propagation;
mod redact;
mod value;

#[cfg(feature = "enabled")]
pub mod export;
#[cfg(feature = "enabled")]
mod install;
#[cfg(feature = "enabled")]
mod panic;
#[cfg(feature = "enabled")]
mod settings;
#[cfg(feature = "enabled")]
mod site;
#[cfg(feature = "enabled")]
mod steps;
#[cfg(feature = "enabled")]
mod tracer;

#[cfg(feature = "enabled")]
#[doc(hidden)]
pub mod private;

pub use builder::{sdk_bounds, Builder, CrateBuild, DEFAULT_SHUTDOWN_TIMEOUT};
pub use choices::{LogsExporter, MetricsExporter, Protocol, Sampler, TracesExporter};
pub use entry::{init, init_for_crate, init_from_file, use_global_tracer_provider};
pub use file_config::ConfigError;
pub use guard::{providers, Error, Guard};
pub use value::AttrValue;

/// The OpenTelemetry SDK this runtime is built on (with the `enabled` feature).
#[cfg(feature = "enabled")]
pub use opentelemetry_sdk as sdk;
