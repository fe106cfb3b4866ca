//! Configuration files: the OpenTelemetry declarative configuration format
//! (`file_format` `"1.x"`, `"0.4"` or `"0.3"`), with `traced`'s own processors as
//! extension components.
//!
//! [`init_from_file`](crate::init_from_file) reads a file and installs what it
//! says; [`init`](crate::init) does the same when `OTEL_CONFIG_FILE` names a file.
//! [`load`] and [`parse`] only read it, so that the result can be inspected
//! ([`FileConfig`] prints as the settings it makes) or completed in code before
//! installing ([`FileConfig::builder`]).
//!
//! ```
//! # use traced_runtime as traced;
//! let config = traced::file_config::parse(
//!     "otel.yaml",
//!     r#"
//! file_format: "1.0"
//! resource:
//!   attributes:
//!     - name: service.name
//!       value: checkout
//! propagator:
//!   composite: [tracecontext: {}, baggage: {}]
//! tracer_provider:
//!   sampler:
//!     parent_based:
//!       root:
//!         trace_id_ratio_based: { ratio: 0.25 }
//!   processors:
//!     - traced_redaction: { hash_keys: [user.id] }
//!     - batch:
//!         exporter:
//!           otlp_http:
//!             endpoint: ${COLLECTOR:-http://localhost:4318}/v1/traces
//! "#,
//! )?;
//! assert_eq!(
//!     config.setting("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
//!     Some("http://localhost:4318/v1/traces")
//! );
//! assert_eq!(config.setting("OTEL_PROPAGATORS"), Some("tracecontext,baggage"));
//! // Code can add to what the file says, then `.init()` installs it all.
//! let _builder = config.builder().service_version("1.4.2");
//! # Ok::<(), traced_runtime::file_config::ConfigError>(())
//! ```
//!
//! What is supported, and how each part maps onto [`Builder`](crate::Builder), is described in
//! `config/README.md` in the repository. In short: everything the schema defines
//! either maps onto the builder or is an error that says it is not supported
//! (unless it is set to its default behaviour, which changes nothing); unknown
//! keys and wrong types are errors with the file, line and column. As the
//! specification asks, the `OTEL_*` environment is not read when a file is used,
//! except through `${VAR}` substitution in the file (`RUST_LOG` still sets the
//! level filter of bridged log records).

mod error;
#[cfg(feature = "enabled")]
mod file;
#[cfg(feature = "enabled")]
mod schema;
#[cfg(feature = "enabled")]
mod subst;
#[cfg(feature = "enabled")]
mod yaml;

pub use error::ConfigError;
#[cfg(feature = "enabled")]
#[allow(unused_imports)]
use file::*;
#[cfg(feature = "enabled")]
pub use file::{load, parse, parse_with_env, FileConfig};
