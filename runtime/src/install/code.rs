//! The [`Builder`]'s typed methods, applied over what the environment
//! front-end read: what code sets wins.

use crate::builder::Builder;
use crate::choices::MetricsExporter;
use crate::settings::{PrometheusSettings, SamplerChoice, Settings};

impl Settings {
    /// Sets what `builder`'s typed methods chose (exporters, sampler, metric
    /// interval, exemplar filter, Prometheus endpoint, log filter), taking it out
    /// of the builder. A Prometheus endpoint set in code adds the Prometheus
    /// exporter to the metric exporters if they do not name it.
    pub(crate) fn apply_code(&mut self, builder: &mut Builder) {
        if let Some(exporters) = builder.exporters.take() {
            self.traces.exporters = Some(exporters);
        }
        if let Some(sampler) = builder.sampler.take() {
            self.traces.sampler = SamplerChoice::Code(sampler);
        }
        if let Some(exporters) = builder.metrics_exporters.take() {
            self.metrics.exporters = Some(exporters);
        }
        if let Some(interval) = builder.metric_interval.take() {
            self.metrics.export_interval = interval;
        }
        if let Some(filter) = builder.exemplar_filter.take() {
            self.metrics.exemplar_filter = filter;
        }
        if let Some((host, port)) = builder.prometheus.take() {
            self.metrics.prometheus = PrometheusSettings { host, port };
            let list = self.metrics.exporters.get_or_insert_with(Vec::new);
            if !list.contains(&MetricsExporter::Prometheus) {
                list.push(MetricsExporter::Prometheus);
            }
        }
        if let Some(exporters) = builder.logs_exporters.take() {
            self.logs.exporters = Some(exporters);
        }
        if let Some(filter) = builder.log_filter.take() {
            self.logs.filter = filter;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choices::{LogsExporter, Sampler, TracesExporter};
    use std::time::Duration;

    fn from_env(pairs: &[(&str, &str)]) -> Settings {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_env(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn code_wins_over_the_environment() {
        let mut settings = from_env(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("RUST_LOG", "debug"),
        ]);
        let mut builder = Builder::new()
            .traces_exporters([TracesExporter::Console])
            .sampler(Sampler::ratio(0.5))
            .metric_export_interval(Duration::from_secs(7))
            .logs_exporters([])
            .log_filter("warn");
        settings.apply_code(&mut builder);
        assert_eq!(
            settings.traces.exporters,
            Some(vec![TracesExporter::Console])
        );
        assert_eq!(
            settings.traces.sampler,
            SamplerChoice::Code(Sampler::ratio(0.5))
        );
        assert_eq!(settings.metrics.export_interval, Duration::from_secs(7));
        assert_eq!(settings.logs.exporters, Some(Vec::<LogsExporter>::new()));
        assert_eq!(settings.logs.filter, "warn");
        // Taken out of the builder: it is applied once.
        assert!(builder.exporters.is_none() && builder.sampler.is_none());
    }

    #[test]
    fn what_code_does_not_set_stays() {
        let mut settings = from_env(&[("OTEL_TRACES_SAMPLER", "always_off")]);
        settings.apply_code(&mut Builder::new());
        assert_eq!(settings.traces.sampler, SamplerChoice::AlwaysOff);
        assert_eq!(settings.traces.exporters, None);
    }

    #[test]
    fn a_prometheus_endpoint_in_code_adds_its_exporter() {
        let mut settings = from_env(&[("OTEL_METRICS_EXPORTER", "otlp")]);
        settings.apply_code(&mut Builder::new().prometheus_endpoint("127.0.0.1", 0));
        assert_eq!(
            settings.metrics.exporters,
            Some(vec![MetricsExporter::Otlp, MetricsExporter::Prometheus])
        );
        assert_eq!(
            settings.metrics.prometheus,
            PrometheusSettings {
                host: "127.0.0.1".to_owned(),
                port: 0
            }
        );
        // Nothing named: only Prometheus (the console default no longer applies).
        let mut settings = from_env(&[]);
        settings.apply_code(&mut Builder::new().prometheus_endpoint("127.0.0.1", 9000));
        assert_eq!(
            settings.metrics.exporters,
            Some(vec![MetricsExporter::Prometheus])
        );
    }
}
