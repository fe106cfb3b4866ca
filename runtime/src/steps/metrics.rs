//! The metric exporters added in code, as the `Builder` keeps them until
//! `init` puts each behind a periodic reader.

use crate::settings::Settings;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader};

/// A metric exporter added in code, built at install time.
pub(crate) type MeterStep =
    Box<dyn FnOnce(MeterProviderBuilder, &Settings) -> MeterProviderBuilder>;

pub(crate) fn exporter_step(exporter: impl PushMetricExporter) -> MeterStep {
    Box::new(move |b, settings| b.with_reader(periodic(exporter, settings)))
}

pub(crate) fn periodic<E: PushMetricExporter>(
    exporter: E,
    settings: &Settings,
) -> PeriodicReader<E> {
    PeriodicReader::builder(exporter)
        .with_interval(settings.metrics.export_interval)
        .build()
}
