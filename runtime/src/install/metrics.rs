//! The meter provider: the span-metrics view, the readers added in code, then
//! the configured exporters (console, OTLP, the Prometheus endpoint).

use crate::builder::Builder;
use crate::choices::MetricsExporter;
use crate::export::PrometheusEndpoint;
use crate::settings::Settings;
use crate::steps::metrics::periodic;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::Resource;

pub(crate) fn provider(
    builder: &mut Builder,
    settings: &Settings,
    resource: Resource,
) -> (SdkMeterProvider, Option<PrometheusEndpoint>) {
    #[cfg_attr(not(feature = "prometheus"), allow(unused_mut))]
    let mut prometheus = None;
    let mut b = SdkMeterProvider::builder().with_resource(resource);
    if let Some(limit) = builder
        .span_metrics
        .as_ref()
        .and_then(|c| c.cardinality_limit)
    {
        use crate::process::span_metrics::{CALLS, DURATION};
        b = b.with_view(move |i: &opentelemetry_sdk::metrics::Instrument| {
            (i.name() == CALLS || i.name() == DURATION)
                .then(|| {
                    opentelemetry_sdk::metrics::Stream::builder()
                        .with_cardinality_limit(limit)
                        .build()
                        .ok()
                })
                .flatten()
        });
    }
    let code_configured = !builder.meter_steps.is_empty();
    for step in builder.meter_steps.drain(..) {
        b = step(b, settings);
    }
    // Named in code or `OTEL_METRICS_EXPORTER`, else the defaults.
    let exporters = match settings.metrics.exporters.clone() {
        Some(named) => named,
        None if code_configured => Vec::new(),
        None if settings.metrics.otlp.endpoint_set() => vec![MetricsExporter::Otlp],
        None => vec![MetricsExporter::Console],
    };
    for exporter in exporters {
        b = match exporter {
            MetricsExporter::Console => b.with_reader(periodic(
                crate::export::console_metrics::ConsoleMetricsExporter::new(),
                settings,
            )),
            MetricsExporter::Otlp => match crate::export::otlp_metrics(settings) {
                Ok(exporter) => b.with_reader(periodic(exporter, settings)),
                Err(reason) => {
                    eprintln!("traced: OTLP metric export is off: {reason}");
                    b
                }
            },
            MetricsExporter::OtlpFile => match crate::export::otlp_file_metrics(settings) {
                Ok(exporter) => b.with_reader(periodic(exporter, settings)),
                Err(reason) => {
                    eprintln!("traced: OTLP file metric export is off: {reason}");
                    b
                }
            },
            MetricsExporter::Prometheus if prometheus.is_some() => b,
            #[cfg(feature = "prometheus")]
            MetricsExporter::Prometheus => {
                let endpoint = &settings.metrics.prometheus;
                match crate::export::prometheus(&endpoint.host, endpoint.port) {
                    Ok((reader, endpoint)) => {
                        prometheus = Some(endpoint);
                        b.with_reader(reader)
                    }
                    Err(reason) => {
                        eprintln!("traced: the Prometheus endpoint is off: {reason}");
                        b
                    }
                }
            }
            #[cfg(not(feature = "prometheus"))]
            MetricsExporter::Prometheus => {
                eprintln!(
                    "traced: the Prometheus endpoint is off: this build of traced has no `prometheus` feature"
                );
                b
            }
        };
    }
    (b.build(), prometheus)
}
