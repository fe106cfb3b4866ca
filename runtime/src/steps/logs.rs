//! The log exporters added in code, as the `Builder` keeps them until `init`
//! adds each to the logger provider.

use crate::settings::Settings;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, LogExporter, LoggerProviderBuilder,
};

/// A log exporter added in code, built at install time.
pub(crate) type LogStep =
    Box<dyn FnOnce(LoggerProviderBuilder, &Settings) -> LoggerProviderBuilder>;

pub(crate) fn batch_step(exporter: impl LogExporter + 'static) -> LogStep {
    Box::new(move |b, settings| b.with_log_processor(batch(exporter, settings)))
}

pub(crate) fn simple_step(exporter: impl LogExporter + 'static) -> LogStep {
    Box::new(move |b, _| b.with_simple_exporter(exporter))
}

pub(crate) fn batch(
    exporter: impl LogExporter + 'static,
    settings: &Settings,
) -> BatchLogProcessor {
    let batch = &settings.logs.batch;
    BatchLogProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(batch.schedule_delay)
                .with_max_queue_size(batch.max_queue_size)
                .with_max_export_batch_size(batch.max_export_batch_size)
                .build(),
        )
        .build()
}
