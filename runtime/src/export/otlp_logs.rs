//! OTLP log export, run on the export runtime like the other OTLP exporters.

use super::on_runtime::OnRuntime;
use super::otlp_grpc::{GrpcLogExporter, OtlpLogExporter};
use crate::choices::Protocol;
use crate::settings::Settings;
use std::sync::Arc;

/// The OTLP log exporter `settings` describe, on the export runtime.
pub(crate) fn otlp_logs(settings: &Settings) -> Result<OnRuntime<OtlpLogExporter>, String> {
    let rt = super::runtime::runtime()?;
    let _enter = rt.enter();
    let target = &settings.logs.otlp;
    let health = Arc::new(super::otlp::health("logs", target));
    let exporter = match target.protocol {
        Protocol::Grpc => OtlpLogExporter::Grpc(GrpcLogExporter::new(
            target,
            Some(super::otlp::grpc_delivery(settings, target, &health)?),
        )?),
        Protocol::HttpProtobuf => OtlpLogExporter::Http(
            super::otlp::http_builder(
                opentelemetry_otlp::LogExporter::builder().with_http(),
                "LOGS",
                settings,
                target,
                &health,
                super::otlp::as_built,
            )?
            .build()
            .map_err(|e| e.to_string())?,
        ),
    };
    // Both bound one export: the OTLP request timeout and the batch processor's.
    let timeout = target.timeout.min(settings.logs.batch.export_timeout);
    Ok(OnRuntime::new(
        exporter,
        rt.handle().clone(),
        timeout,
        // Its delivery reports (the exporter itself answers at once).
        None,
    ))
}
