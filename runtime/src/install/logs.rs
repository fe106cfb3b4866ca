//! The logger provider: redaction first, the exporters added in code, then the
//! configured ones. The `log`/`tracing` bridges are installed in `crate::logs`.

use crate::builder::Builder;
use crate::choices::LogsExporter;
use crate::settings::Settings;
use crate::steps::logs::batch;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::Resource;

pub(crate) fn provider(
    builder: &mut Builder,
    settings: &Settings,
    resource: Resource,
    trace_logs: Option<crate::export::console_logs::TraceLogs>,
) -> SdkLoggerProvider {
    let mut b = SdkLoggerProvider::builder().with_resource(resource);
    // First, so that every processor after it sees redacted records.
    if let Some(rules) = &builder.redaction {
        b = b.with_log_processor(crate::redact::RedactingLogs::new(rules.clone()));
    }
    let code_configured = !builder.log_steps.is_empty();
    for step in builder.log_steps.drain(..) {
        b = step(b, settings);
    }
    // Named in code or `OTEL_LOGS_EXPORTER`, else the defaults.
    let exporters = match settings.logs.exporters.clone() {
        Some(named) => named,
        None if code_configured => Vec::new(),
        None if settings.logs.otlp.endpoint_set() => vec![LogsExporter::Otlp],
        None => vec![LogsExporter::Console],
    };
    for exporter in exporters {
        b = match exporter {
            // Console lines are written as they happen, next to the program's output.
            LogsExporter::Console => {
                let mut console = crate::export::console_logs::ConsoleLogExporter::new();
                if let Some(logs) = &trace_logs {
                    console = console.with_trace_view(logs.clone());
                }
                b.with_simple_exporter(console)
            }
            LogsExporter::Otlp => match crate::export::otlp_logs(settings) {
                Ok(exporter) => b.with_log_processor(batch(exporter, settings)),
                Err(reason) => {
                    eprintln!("traced: OTLP log export is off: {reason}");
                    b
                }
            },
            LogsExporter::OtlpFile => match crate::export::otlp_file_logs(settings) {
                Ok(exporter) => b.with_log_processor(batch(exporter, settings)),
                Err(reason) => {
                    eprintln!("traced: OTLP file log export is off: {reason}");
                    b
                }
            },
        };
    }
    b.build()
}
