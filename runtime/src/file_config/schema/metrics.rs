//! `meter_provider`: readers (periodic and Prometheus pull), temporality,
//! histogram aggregation and cardinality limits.

use super::*;
use crate::settings::{named, EXEMPLAR_FILTERS};

impl Cx<'_> {
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, which the OTLP and
    /// the OTLP file metric exporters share.
    pub(super) fn metrics_temporality(
        &mut self,
        o: &Obj<'_>,
        temporality: Temporality,
    ) -> Result<()> {
        self.shared(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            match temporality {
                Temporality::Cumulative => "cumulative",
                Temporality::Delta => "delta",
                Temporality::LowMemory => "lowmemory",
            }
            .to_owned(),
            o.set("temporality_preference").map(|(_, n)| n.pos),
            o.pos,
            "`temporality_preference` of OTLP metric exporters",
            |s| s.metrics.temporality = temporality.sdk(),
        )
    }

    pub(super) fn temporality(&self, o: &Obj<'_>) -> Result<Temporality> {
        Ok(match o.set("temporality_preference") {
            Some((_, n)) => {
                match self
                    .enumerated(
                        n,
                        "temporality_preference",
                        &["cumulative", "delta", "low_memory"],
                    )?
                    .as_str()
                {
                    "delta" => Temporality::Delta,
                    "low_memory" => Temporality::LowMemory,
                    _ => Temporality::Cumulative,
                }
            }
            None => Temporality::Cumulative,
        })
    }

    pub(super) fn histogram_aggregation(&self, o: &Obj<'_>) -> Result<()> {
        if let Some((k, n)) = o.set("default_histogram_aggregation") {
            let value = self.enumerated(
                n,
                "default_histogram_aggregation",
                &[
                    "explicit_bucket_histogram",
                    "base2_exponential_bucket_histogram",
                ],
            )?;
            if value != "explicit_bucket_histogram" {
                return Err(self.not_supported(
                    o,
                    k,
                    &format!("default_histogram_aggregation: {value}"),
                    "histograms use explicit buckets",
                ));
            }
        }
        Ok(())
    }

    pub(super) fn meter_provider(&mut self, top: &Obj<'_>, config: &mut FileConfig) -> Result<()> {
        let Some(node) = top.get("meter_provider") else {
            return Ok(());
        };
        let o = self.obj(
            node,
            "meter_provider".into(),
            &[
                "readers",
                "views",
                "exemplar_filter",
                "meter_configurator/development",
            ],
        )?;
        self.unsupported(
            &o,
            "views",
            "traced's Builder has no views (traced_span_metrics takes its own cardinality_limit and buckets_ms)",
        )?;
        self.unsupported(
            &o,
            "meter_configurator/development",
            "meters cannot be configured one by one",
        )?;
        if let Some((_, n)) = o.set("exemplar_filter") {
            let filter = self.enumerated(
                n,
                "exemplar_filter",
                &EXEMPLAR_FILTERS.map(|(name, _)| name),
            )?;
            if let Some(filter) = named(&EXEMPLAR_FILTERS, &filter) {
                self.settings.metrics.exemplar_filter = filter;
            }
            self.name("OTEL_METRICS_EXEMPLAR_FILTER");
        }
        let list = self.require(&o, "readers")?;
        let items = self.list(&o, "readers")?;
        if items.is_empty() {
            return Err(self.err(
                list.pos,
                format!(
                    "`readers` in meter_provider at {} is empty: give at least one",
                    self.at(list.pos)
                ),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let path = format!("meter_provider.readers[{i}]");
            let (key, value) =
                self.select(item, &path, "metric reader", &["periodic", "pull"], &[])?;
            let path = format!("{path}.{}", key.name);
            let reader = if key.name == "periodic" {
                self.periodic(value, path)?
            } else {
                self.pull(key, value, path)?
            };
            config.metric_readers.push(reader);
        }
        Ok(())
    }

    pub(super) fn cardinality_limits(&self, o: &Obj<'_>) -> Result<()> {
        let Some((_, n)) = o.entry("cardinality_limits") else {
            return Ok(());
        };
        let limits = self.obj(
            n,
            o.child("cardinality_limits"),
            &[
                "default",
                "counter",
                "gauge",
                "histogram",
                "observable_counter",
                "observable_gauge",
                "observable_up_down_counter",
                "up_down_counter",
            ],
        )?;
        for (key, _) in limits.entries {
            self.default_only(
                &limits,
                &key.name,
                2000,
                "the SDK's default cardinality limit applies (traced_span_metrics takes its own cardinality_limit)",
            )?;
        }
        Ok(())
    }

    pub(super) fn periodic(&mut self, node: &Node, path: String) -> Result<Reader> {
        let o = self.obj(
            node,
            path,
            &[
                "interval",
                "timeout",
                "exporter",
                "producers",
                "cardinality_limits",
                "max_export_batch_size/development",
            ],
        )?;
        self.unsupported(&o, "producers", "there are no metric producers to bridge")?;
        self.unsupported(
            &o,
            "max_export_batch_size/development",
            "metric exports are not split in batches",
        )?;
        self.cardinality_limits(&o)?;
        let interval = self.uint(&o, "interval")?.unwrap_or(60_000);
        let timeout = self.bounded_millis(&o, "timeout", 30_000)?;
        type Field = fn(&mut Settings) -> &mut std::time::Duration;
        let fields: [(&str, &str, u64, Field); 2] = [
            ("interval", "OTEL_METRIC_EXPORT_INTERVAL", interval, |s| {
                &mut s.metrics.export_interval
            }),
            ("timeout", "OTEL_METRIC_EXPORT_TIMEOUT", timeout, |s| {
                &mut s.metrics.export_timeout
            }),
        ];
        for (key, var, value, field) in fields {
            self.shared(
                var,
                value.to_string(),
                o.set(key).map(|(_, n)| n.pos),
                o.pos,
                &format!("`{key}` of periodic metric readers"),
                |s| *field(s) = std::time::Duration::from_millis(value),
            )?;
        }
        let exporter = self.require(&o, "exporter")?;
        let (exporter, temporality) =
            self.exporter(exporter, o.child("exporter"), Signal::Metrics)?;
        Ok(Reader::Periodic(exporter, temporality))
    }

    pub(super) fn pull(&mut self, key: &Key, node: &Node, path: String) -> Result<Reader> {
        let o = self.obj(node, path, &["exporter", "producers", "cardinality_limits"])?;
        self.unsupported(&o, "producers", "there are no metric producers to bridge")?;
        self.cardinality_limits(&o)?;
        self.once(
            "pull metric reader",
            key.pos,
            "traced serves one Prometheus endpoint",
        )?;
        let exporter = self.require(&o, "exporter")?;
        let path = o.child("exporter");
        let (key, value) = self.select(
            exporter,
            &path,
            "pull metric exporter",
            &["prometheus/development", "prometheus"],
            &[],
        )?;
        let p = self.obj(
            value,
            format!("{path}.{}", key.name),
            &[
                "host",
                "port",
                "scope_info_enabled",
                "target_info_enabled/development",
                "resource_constant_labels",
                "translation_strategy",
                "without_units",
                "without_type_suffix",
                "without_scope_info",
                "without_target_info",
                "with_resource_constant_labels",
            ],
        )?;
        const FIXED: &str = "traced's Prometheus endpoint follows the OpenTelemetry-to-Prometheus rules as they are";
        self.default_bool(&p, "scope_info_enabled", true, FIXED)?;
        self.default_bool(&p, "target_info_enabled/development", true, FIXED)?;
        for key in [
            "without_units",
            "without_type_suffix",
            "without_scope_info",
            "without_target_info",
        ] {
            self.default_bool(&p, key, false, FIXED)?;
        }
        for key in ["resource_constant_labels", "with_resource_constant_labels"] {
            self.unsupported(&p, key, FIXED)?;
        }
        if let Some((k, n)) = p.set("translation_strategy") {
            let strategy = self.enumerated(
                n,
                "translation_strategy",
                &[
                    "underscore_escaping_with_suffixes",
                    "underscore_escaping_without_suffixes/development",
                    "no_utf8_escaping_with_suffixes/development",
                    "no_translation/development",
                ],
            )?;
            if strategy != "underscore_escaping_with_suffixes" {
                return Err(self.not_supported(
                    &p,
                    k,
                    &format!("translation_strategy: {strategy}"),
                    &format!("{FIXED}; only `underscore_escaping_with_suffixes` (the default) is accepted"),
                ));
            }
        }
        let host = self
            .string(&p, "host")?
            .unwrap_or_else(|| "localhost".to_owned());
        let port = match self.uint(&p, "port")? {
            None => 9464,
            Some(port) => u16::try_from(port).map_err(|_| {
                let n = p.get("port").expect("it was read");
                self.err(
                    n.pos,
                    format!(
                        "`port` at {} must be from 0 to 65535, found {port}",
                        self.at(n.pos)
                    ),
                )
            })?,
        };
        Ok(Reader::Prometheus { host, port })
    }
}
