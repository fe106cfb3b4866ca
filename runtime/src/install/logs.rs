//! The logger provider: redaction first, the exporters added in code, then the
//! configured ones. The `log`/`tracing` bridges are installed in `crate::logs`.

use crate::builder::{Builder, LogsExporter};
use crate::config::Env;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, LogExporter, LoggerProviderBuilder, SdkLoggerProvider,
};
use opentelemetry_sdk::Resource;

/// A log exporter added in code, built at install time.
pub(crate) type LogStep = Box<dyn FnOnce(LoggerProviderBuilder, &Env) -> LoggerProviderBuilder>;

pub(crate) fn batch_step(exporter: impl LogExporter + 'static) -> LogStep {
    Box::new(move |b, env| b.with_log_processor(batch(exporter, env)))
}

pub(crate) fn simple_step(exporter: impl LogExporter + 'static) -> LogStep {
    Box::new(move |b, _| b.with_simple_exporter(exporter))
}

pub(crate) fn provider(
    builder: &mut Builder,
    env: &Env,
    resource: Resource,
    trace_logs: Option<crate::export::console_logs::TraceLogs>,
) -> SdkLoggerProvider {
    let mut b = SdkLoggerProvider::builder().with_resource(resource);
    // First, so that every processor after it sees redacted records.
    if let Some(rules) = &builder.redaction {
        b = b.with_log_processor(crate::process::redact::RedactingLogs::new(rules.clone()));
    }
    let code_configured = !builder.log_steps.is_empty();
    for step in builder.log_steps.drain(..) {
        b = step(b, env);
    }
    let exporters = match (builder.logs_exporters.take(), env.logs_exporters.clone()) {
        (Some(code), _) => code,
        (None, Some(from_env)) => from_env,
        (None, None) if code_configured => Vec::new(),
        (None, None) if env.otlp_logs_endpoint_set => vec![LogsExporter::Otlp],
        (None, None) => vec![LogsExporter::Console],
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
            LogsExporter::Otlp => match crate::export::otlp_logs(env) {
                Ok(exporter) => b.with_log_processor(batch(exporter, env)),
                Err(reason) => {
                    eprintln!("traced: OTLP log export is off: {reason}");
                    b
                }
            },
            LogsExporter::OtlpFile => match crate::export::otlp_file_logs(env) {
                Ok(exporter) => b.with_log_processor(batch(exporter, env)),
                Err(reason) => {
                    eprintln!("traced: OTLP file log export is off: {reason}");
                    b
                }
            },
        };
    }
    b.build()
}

fn batch(exporter: impl LogExporter + 'static, env: &Env) -> BatchLogProcessor {
    BatchLogProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(env.blrp_schedule_delay)
                .with_max_queue_size(env.blrp_max_queue_size)
                .with_max_export_batch_size(env.blrp_max_export_batch_size)
                .build(),
        )
        .build()
}
