//! The settings by their standard names: what `OTEL_*` value each one has, so
//! that a pipeline file, which sets the typed model directly, can still be shown
//! as the settings it makes ([`FileConfig::setting`](crate::file_config::FileConfig::setting)).
//!
//! Reading these values back with the environment front-end gives the same
//! model: the pipeline file's tests check that round trip.

use super::*;

impl Settings {
    /// The value of the setting `name` as its variable would write it, for the
    /// settings a pipeline file can make; `None` for any other name.
    pub(crate) fn value_of(&self, name: &str) -> Option<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        let value = match name {
            "OTEL_SDK_DISABLED" => self.sdk_disabled.to_string(),
            "OTEL_PROPAGATORS" if self.propagators.is_empty() => "none".to_owned(),
            "OTEL_PROPAGATORS" => {
                let names: Vec<&str> = self
                    .propagators
                    .iter()
                    .map(|p| name_of(&PROPAGATORS, p))
                    .collect();
                names.join(",")
            }
            "OTEL_RESOURCE_ATTRIBUTES" => pairs(&self.resource.attributes),
            "RUST_LOG" => self.logs.filter.clone(),
            "OTEL_METRICS_EXEMPLAR_FILTER" => {
                name_of(&EXEMPLAR_FILTERS, &self.metrics.exemplar_filter).to_owned()
            }
            "OTEL_METRIC_EXPORT_INTERVAL" => ms(self.metrics.export_interval),
            "OTEL_METRIC_EXPORT_TIMEOUT" => ms(self.metrics.export_timeout),
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE" => match self.metrics.temporality {
                Temporality::Delta => "delta",
                Temporality::LowMemory => "lowmemory",
                _ => "cumulative",
            }
            .to_owned(),
            _ => {
                if let Some(suffix) = name.strip_prefix("OTEL_BSP_") {
                    return batch(&self.traces.batch, suffix);
                }
                if let Some(suffix) = name.strip_prefix("OTEL_BLRP_") {
                    return batch(&self.logs.batch, suffix);
                }
                if let Some(rest) = name.strip_prefix("OTEL_EXPORTER_OTLP_") {
                    let (signal, suffix) = rest.split_once('_')?;
                    return otlp(self.otlp(signal)?, suffix);
                }
                let stream = match name {
                    "TRACED_OTLP_FILE_TRACES" => &self.traces.otlp_file,
                    "TRACED_OTLP_FILE_METRICS" => &self.metrics.otlp_file,
                    "TRACED_OTLP_FILE_LOGS" => &self.logs.otlp_file,
                    _ => return None,
                };
                return Some(match stream {
                    OutputStream::Stdout => "stdout".to_owned(),
                    OutputStream::File(path) => {
                        format!("file://{}", path.display().to_string().replace('%', "%25"))
                    }
                });
            }
        };
        Some(value)
    }

    /// The OTLP target of `signal` (`TRACES`, `METRICS`, `LOGS`).
    pub(crate) fn otlp(&self, signal: &str) -> Option<&OtlpTarget> {
        match signal {
            "TRACES" => Some(&self.traces.otlp),
            "METRICS" => Some(&self.metrics.otlp),
            "LOGS" => Some(&self.logs.otlp),
            _ => None,
        }
    }

    /// The OTLP target of `signal` (`TRACES`, `METRICS`, `LOGS`), to set.
    pub(crate) fn otlp_mut(&mut self, signal: &str) -> &mut OtlpTarget {
        match signal {
            "TRACES" => &mut self.traces.otlp,
            "METRICS" => &mut self.metrics.otlp,
            _ => &mut self.logs.otlp,
        }
    }
}

fn batch(b: &BatchSettings, suffix: &str) -> Option<String> {
    Some(match suffix {
        "SCHEDULE_DELAY" => b.schedule_delay.as_millis().to_string(),
        "EXPORT_TIMEOUT" => b.export_timeout.as_millis().to_string(),
        "MAX_QUEUE_SIZE" => b.max_queue_size.to_string(),
        "MAX_EXPORT_BATCH_SIZE" => b.max_export_batch_size.to_string(),
        _ => return None,
    })
}

fn otlp(t: &OtlpTarget, suffix: &str) -> Option<String> {
    let file = |s: &Option<Setting>| s.as_ref().map(|s| s.value.clone());
    match suffix {
        "ENDPOINT" => Some(t.endpoint_written.clone()),
        "PROTOCOL" => Some(name_of(&PROTOCOLS, &t.protocol).to_owned()),
        "TIMEOUT" => Some(t.timeout.as_millis().to_string()),
        "HEADERS" => Some(pairs(&t.headers)),
        "COMPRESSION" => Some(name_of(&COMPRESSIONS, &t.compression).to_owned()),
        "INSECURE" => Some(t.insecure.to_string()),
        "CERTIFICATE" => file(&t.certificate),
        "CLIENT_KEY" => file(&t.client_key),
        "CLIENT_CERTIFICATE" => file(&t.client_certificate),
        _ => None,
    }
}

/// `key=value,...` as the variables write it: `%` and `,` in values escaped,
/// so that reading it back gives the same pairs.
fn pairs(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={}", v.replace('%', "%25").replace(',', "%2C")))
        .collect::<Vec<_>>()
        .join(",")
}
