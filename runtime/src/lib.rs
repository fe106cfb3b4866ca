//! The runtime of [`traced`](https://docs.rs/traced): the provider setup behind
//! `traced::init()`, the exporters, and the items generated code calls.
//!
//! Applications use it through the `traced` crate, which re-exports what is public here.
#![warn(missing_docs)]

pub mod baggage;
#[cfg(feature = "enabled")]
mod config;
#[cfg(feature = "enabled")]
pub mod export;
#[cfg(feature = "enabled")]
pub mod file_config;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod http;
#[cfg(feature = "enabled")]
mod init;
#[cfg(feature = "enabled")]
pub mod logs;
pub mod metrics;
#[cfg(feature = "enabled")]
mod panic;
#[cfg(feature = "enabled")]
pub mod process;
pub mod propagation;
#[cfg(feature = "enabled")]
mod tracer;
mod value;

#[cfg(feature = "enabled")]
#[doc(hidden)]
pub mod private;

#[cfg(feature = "enabled")]
pub use config::{LogsExporter, MetricsExporter, Protocol, TracesExporter};
#[cfg(feature = "enabled")]
pub use file_config::ConfigError;
#[cfg(feature = "enabled")]
pub use init::{
    init, init_for_crate, init_from_file, Builder, Error, Guard, DEFAULT_SHUTDOWN_TIMEOUT,
};

#[cfg(not(feature = "enabled"))]
mod disabled;
#[cfg(not(feature = "enabled"))]
pub use disabled::*;

pub use value::AttrValue;

/// The OpenTelemetry SDK this runtime is built on.
#[cfg(feature = "enabled")]
pub use opentelemetry_sdk as sdk;
