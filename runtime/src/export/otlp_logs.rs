//! OTLP log export, run on the export runtime like the other OTLP exporters.

use super::on_runtime::OnRuntime;
use super::otlp_grpc::{GrpcLogExporter, OtlpLogExporter};
use crate::config::{Env, Protocol};
use std::sync::Arc;

/// The OTLP log exporter configured by `env`, on the export runtime.
pub(crate) fn otlp_logs(env: &Env) -> Result<OnRuntime<OtlpLogExporter>, String> {
    let rt = super::runtime::runtime()?;
    let _enter = rt.enter();
    let target = &env.logs_otlp;
    let health = Arc::new(super::otlp::health("logs", env.logs_protocol, target));
    let exporter = match env.logs_protocol {
        Protocol::Grpc => OtlpLogExporter::Grpc(GrpcLogExporter::new(
            target,
            Some(super::otlp::grpc_delivery(env, target, &health)?),
        )?),
        Protocol::HttpProtobuf => OtlpLogExporter::Http(
            super::otlp::http_builder(
                opentelemetry_otlp::LogExporter::builder().with_http(),
                "LOGS",
                env,
                target,
                &health,
                super::otlp::as_built,
            )?
            .build()
            .map_err(|e| e.to_string())?,
        ),
    };
    // Both bound one export: the OTLP request timeout and the batch processor's.
    let timeout = env.logs_otlp_timeout.min(env.blrp_export_timeout);
    Ok(OnRuntime::new(
        exporter,
        rt.handle().clone(),
        timeout,
        // Its delivery reports (the exporter itself answers at once).
        None,
    ))
}
