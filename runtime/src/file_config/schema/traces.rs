//! `tracer_provider`: sampler, span processors and span exporters (the
//! OTLP file exporter included); batch and simple processors for all signals.

use super::*;

impl Cx<'_> {
    pub(super) fn sampler(&self, node: &Node, path: &str) -> Result<SamplerConfig> {
        const NOT_MAPPED: &str = "traced's Builder takes the SDK's samplers: always_on, always_off, trace_id_ratio_based and parent_based";
        let (key, value) = self.select(
            node,
            path,
            "sampler",
            &["always_on", "always_off", "trace_id_ratio_based", "parent_based"],
            &[
                ("always_record", "with `traced_span_metrics` traced records every span itself, and only exports the sampled ones"),
                ("composite/development", NOT_MAPPED),
                ("jaeger_remote/development", NOT_MAPPED),
                ("jaeger_remote", NOT_MAPPED),
                ("probability/development", NOT_MAPPED),
            ],
        )?;
        let path = format!("{path}.{}", key.name);
        Ok(match key.name.as_str() {
            "always_on" => {
                self.obj(value, path, &[])?;
                SamplerConfig::AlwaysOn
            }
            "always_off" => {
                self.obj(value, path, &[])?;
                SamplerConfig::AlwaysOff
            }
            "trace_id_ratio_based" => {
                let o = self.obj(value, path, &["ratio"])?;
                let ratio = match o.get("ratio") {
                    Some(n) => self.as_number(n, "ratio")?.map_or(Ok(1.0), |r| {
                        if (0.0..=1.0).contains(&r) {
                            Ok(r)
                        } else {
                            Err(self.err(
                                n.pos,
                                format!(
                                    "`ratio` at {} must be from 0 to 1, found {r}",
                                    self.at(n.pos)
                                ),
                            ))
                        }
                    })?,
                    None => 1.0,
                };
                SamplerConfig::TraceIdRatioBased(ratio)
            }
            _ => {
                let o = self.obj(
                    value,
                    path,
                    &[
                        "root",
                        "remote_parent_sampled",
                        "remote_parent_not_sampled",
                        "local_parent_sampled",
                        "local_parent_not_sampled",
                    ],
                )?;
                let root = match o.set("root") {
                    Some((_, n)) => self.sampler(n, &o.child("root"))?,
                    None => SamplerConfig::AlwaysOn,
                };
                for (key, fixed) in [
                    ("remote_parent_sampled", SamplerConfig::AlwaysOn),
                    ("remote_parent_not_sampled", SamplerConfig::AlwaysOff),
                    ("local_parent_sampled", SamplerConfig::AlwaysOn),
                    ("local_parent_not_sampled", SamplerConfig::AlwaysOff),
                ] {
                    if let Some((k, n)) = o.set(key) {
                        if self.sampler(n, &o.child(key))? != fixed {
                            let name = if fixed == SamplerConfig::AlwaysOn {
                                "always_on"
                            } else {
                                "always_off"
                            };
                            return Err(self.not_supported(
                                &o,
                                k,
                                key,
                                &format!("the SDK's parent-based sampler follows the parent's decision, so only `{name}` (the default) is accepted here"),
                            ));
                        }
                    }
                }
                SamplerConfig::ParentBased(Box::new(root))
            }
        })
    }

    pub(super) fn tracer_provider(&mut self, top: &Obj<'_>, config: &mut FileConfig) -> Result<()> {
        let Some(node) = top.get("tracer_provider") else {
            return Ok(());
        };
        let o = self.obj(
            node,
            "tracer_provider".into(),
            &[
                "processors",
                "limits",
                "sampler",
                "id_generator",
                "tracer_configurator/development",
            ],
        )?;
        if let Some((_, n)) = o.entry("limits") {
            let limits = self.obj(
                n,
                o.child("limits"),
                &[
                    "attribute_value_length_limit",
                    "attribute_value_depth_limit",
                    "attribute_count_limit",
                    "event_count_limit",
                    "link_count_limit",
                    "event_attribute_count_limit",
                    "link_attribute_count_limit",
                ],
            )?;
            self.unsupported(&limits, "attribute_value_length_limit", NO_LIMITS)?;
            self.default_only(&limits, "attribute_value_depth_limit", 64, NO_LIMITS)?;
            for key in [
                "attribute_count_limit",
                "event_count_limit",
                "link_count_limit",
                "event_attribute_count_limit",
                "link_attribute_count_limit",
            ] {
                self.default_only(&limits, key, 128, NO_LIMITS)?;
            }
        }
        if let Some((_, n)) = o.set("id_generator") {
            let (key, value) = self.select(
                n,
                &o.child("id_generator"),
                "id generator",
                &["random"],
                &[],
            )?;
            self.obj(
                value,
                format!("{}.{}", o.child("id_generator"), key.name),
                &[],
            )?;
        }
        self.unsupported(
            &o,
            "tracer_configurator/development",
            "tracers cannot be configured one by one",
        )?;
        if let Some((_, n)) = o.set("sampler") {
            config.sampler = self.sampler(n, &o.child("sampler"))?;
        }

        let list = self.require(&o, "processors")?;
        let items = self.list(&o, "processors")?;
        if items.is_empty() {
            return Err(self.err(
                list.pos,
                format!(
                    "`processors` in tracer_provider at {} is empty: give at least one",
                    self.at(list.pos)
                ),
            ));
        }
        let mut first_exporting: Option<(String, Pos)> = None;
        for (i, item) in items.iter().enumerate() {
            let path = format!("tracer_provider.processors[{i}]");
            let (key, value) = self.select(item, &path, "span processor", SPAN_PROCESSORS, &[])?;
            let path = format!("{path}.{}", key.name);
            let name = key.name.as_str();
            if name.starts_with("traced_") {
                self.once(
                    &format!("`{name}` processor"),
                    key.pos,
                    "there is one of each traced processor",
                )?;
            }
            match name {
                "batch" | "simple" => {
                    let processor = if name == "batch" {
                        self.batch(value, path, Signal::Traces)?
                    } else {
                        self.simple(value, path, Signal::Traces)?
                    };
                    config.span_processors.push(processor);
                    first_exporting.get_or_insert((name.to_owned(), key.pos));
                }
                "traced_filter" | "traced_redaction" => {
                    if let Some((exporting, pos)) = &first_exporting {
                        return Err(self.err(
                            key.pos,
                            format!(
                                "`{name}` at {} comes after the exporting processor `{exporting}` at {}: it applies to every exporting processor, so list it before them",
                                self.at(key.pos),
                                self.at(*pos)
                            ),
                        ));
                    }
                    if name == "traced_filter" {
                        config.filter = Some(self.filter(value, path)?);
                    } else {
                        config.redaction = Some(self.redaction(value, path)?);
                    }
                }
                "traced_span_metrics" => {
                    config.span_metrics = Some(self.span_metrics(value, path)?)
                }
                "traced_span_logs" => {
                    self.obj(value, path, &[])?;
                    config.span_logs = true;
                }
                _ => {
                    let o = self.obj(value, path, &["keys"])?;
                    self.require(&o, "keys")?;
                    config.baggage_attributes = self.strings(&o, "keys")?;
                }
            }
        }
        Ok(())
    }

    /// A batch span or log record processor: its settings and its exporter.
    pub(super) fn batch(&mut self, node: &Node, path: String, signal: Signal) -> Result<Processor> {
        let o = self.obj(
            node,
            path,
            &[
                "schedule_delay",
                "export_timeout",
                "max_queue_size",
                "max_export_batch_size",
                "exporter",
            ],
        )?;
        let (prefix, what, delay) = match signal {
            Signal::Logs => ("OTEL_BLRP", "batch log record processors", 1000),
            _ => ("OTEL_BSP", "batch span processors", 5000),
        };
        let schedule_delay = self.uint(&o, "schedule_delay")?.unwrap_or(delay);
        let export_timeout = self.bounded_millis(&o, "export_timeout", 30_000)?;
        let queue = self.positive(&o, "max_queue_size")?.unwrap_or(2048);
        let batch = self.positive(&o, "max_export_batch_size")?.unwrap_or(512);
        if batch > queue {
            let pos = o
                .get("max_export_batch_size")
                .or_else(|| o.get("max_queue_size"))
                .map_or(o.pos, |n| n.pos);
            return Err(self.err(
                pos,
                format!(
                    "`max_export_batch_size` ({batch}) {} at {} is larger than `max_queue_size` ({queue})",
                    o.place(),
                    self.at(pos)
                ),
            ));
        }
        let ms = std::time::Duration::from_millis;
        for (key, value) in [
            ("schedule_delay", schedule_delay),
            ("export_timeout", export_timeout),
            ("max_queue_size", queue),
            ("max_export_batch_size", batch),
        ] {
            self.shared(
                &format!("{prefix}_{}", key.to_ascii_uppercase()),
                value.to_string(),
                o.set(key).map(|(_, n)| n.pos),
                o.pos,
                &format!("`{key}` of {what}"),
                |s| {
                    let b = match signal {
                        Signal::Logs => &mut s.logs.batch,
                        _ => &mut s.traces.batch,
                    };
                    match key {
                        "schedule_delay" => b.schedule_delay = ms(value),
                        "export_timeout" => b.export_timeout = ms(value),
                        "max_queue_size" => b.max_queue_size = value as usize,
                        _ => b.max_export_batch_size = value as usize,
                    }
                },
            )?;
        }
        let exporter = self.require(&o, "exporter")?;
        let (exporter, _) = self.exporter(exporter, o.child("exporter"), signal)?;
        Ok(Processor::Batch(exporter))
    }

    /// A simple span or log record processor: only the console exporter.
    pub(super) fn simple(
        &mut self,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<Processor> {
        let o = self.obj(node, path, &["exporter"])?;
        let node = self.require(&o, "exporter")?;
        let (exporter, _) = self.exporter(node, o.child("exporter"), signal)?;
        if exporter != Exporter::Console {
            let (what, does) = if exporter == Exporter::OtlpFile {
                ("OTLP file export", "writes OTLP files")
            } else {
                ("OTLP export", "sends OTLP")
            };
            return Err(self.err(
                node.pos,
                format!(
                    "{what} behind a `simple` processor {} at {} cannot be mapped: traced {does} from a batch processor, never from the application's threads; use `batch`",
                    o.place(),
                    self.at(node.pos)
                ),
            ));
        }
        Ok(Processor::Simple(exporter))
    }

    /// An exporter of `signal`, with its settings; the temporality is the console
    /// metric exporter's.
    pub(super) fn exporter(
        &mut self,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<(Exporter, Temporality)> {
        // The 0.3 format's OTLP exporter, `otlp`, where `protocol` chooses the transport.
        if let Value::Map(entries) = &node.value {
            if let [(key, value)] = entries.as_slice() {
                if key.name == "otlp" {
                    return self.otlp(key, value, format!("{path}.otlp"), signal);
                }
            }
        }
        let (key, value) = self.select(
            node,
            &path,
            signal.exporter(),
            &["otlp_http", "otlp_grpc", "otlp_file/development", "console"],
            &[(
                "zipkin",
                "traced has no Zipkin exporter; send OTLP to a collector",
            )],
        )?;
        let path = format!("{path}.{}", key.name);
        if key.name == "otlp_file/development" {
            return self.otlp_file(key, value, path, signal);
        }
        if key.name == "console" {
            let what = format!("console {}", signal.exporter());
            self.once(&what, key.pos, "one console is enough")?;
            if signal != Signal::Metrics {
                self.obj(value, path, &[])?;
                return Ok((Exporter::Console, Temporality::Cumulative));
            }
            let o = self.obj(
                value,
                path,
                &["temporality_preference", "default_histogram_aggregation"],
            )?;
            self.histogram_aggregation(&o)?;
            return Ok((Exporter::Console, self.temporality(&o)?));
        }
        self.otlp(key, value, path, signal)
    }

    /// `otlp_file/development`: its `output_stream` (`stdout`, the default, or
    /// a `file:///path` URI) as the signal's `TRACED_OTLP_FILE_*` setting.
    pub(super) fn otlp_file(
        &mut self,
        key: &Key,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<(Exporter, Temporality)> {
        let mut keys = vec!["output_stream"];
        if signal == Signal::Metrics {
            keys.extend(["temporality_preference", "default_histogram_aggregation"]);
        }
        let o = self.obj(node, path, &keys)?;
        self.once(
            &format!("OTLP file {}", signal.exporter()),
            key.pos,
            "traced writes each signal to one output stream",
        )?;
        let stream = match o.set("output_stream") {
            None => crate::settings::OutputStream::Stdout,
            Some((_, n)) => {
                let stream = self.as_string(n, "output_stream")?.unwrap_or_default();
                match crate::settings::OutputStream::parse(stream.trim(), false) {
                    Ok(stream) => stream,
                    Err(expected) => {
                        return Err(self.err(
                            n.pos,
                            format!(
                                "`output_stream` {} at {} is {stream:?}; expected {expected}",
                                o.place(),
                                self.at(n.pos)
                            ),
                        ))
                    }
                }
            }
        };
        *match signal {
            Signal::Traces => &mut self.settings.traces.otlp_file,
            Signal::Metrics => &mut self.settings.metrics.otlp_file,
            Signal::Logs => &mut self.settings.logs.otlp_file,
        } = stream;
        self.name(&format!("TRACED_OTLP_FILE_{}", signal.var()));
        let mut temporality = Temporality::Cumulative;
        if signal == Signal::Metrics {
            self.histogram_aggregation(&o)?;
            temporality = self.temporality(&o)?;
            self.metrics_temporality(&o, temporality)?;
        }
        Ok((Exporter::OtlpFile, temporality))
    }
}
