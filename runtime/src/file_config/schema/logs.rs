//! `logger_provider`: log processors and exporters, and the limits it does not take.

use super::*;

impl Cx<'_> {
    pub(super) fn logger_provider(&mut self, top: &Obj<'_>, config: &mut FileConfig) -> Result<()> {
        let Some(node) = top.get("logger_provider") else {
            return Ok(());
        };
        let o = self.obj(
            node,
            "logger_provider".into(),
            &["processors", "limits", "logger_configurator/development"],
        )?;
        if let Some((_, n)) = o.entry("limits") {
            let limits = self.obj(
                n,
                o.child("limits"),
                &[
                    "attribute_value_length_limit",
                    "attribute_value_depth_limit",
                    "attribute_count_limit",
                ],
            )?;
            self.unsupported(&limits, "attribute_value_length_limit", NO_LIMITS)?;
            self.default_only(&limits, "attribute_value_depth_limit", 64, NO_LIMITS)?;
            self.default_only(&limits, "attribute_count_limit", 128, NO_LIMITS)?;
        }
        self.unsupported(
            &o,
            "logger_configurator/development",
            "loggers cannot be configured one by one; RUST_LOG sets the level of bridged records",
        )?;
        let list = self.require(&o, "processors")?;
        let items = self.list(&o, "processors")?;
        if items.is_empty() {
            return Err(self.err(
                list.pos,
                format!(
                    "`processors` in logger_provider at {} is empty: give at least one",
                    self.at(list.pos)
                ),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let path = format!("logger_provider.processors[{i}]");
            let (key, value) = self.select(
                item,
                &path,
                "log record processor",
                &["batch", "simple"],
                &[(
                    "event_to_span_event_bridge/development",
                    "log records are not turned into span events (traced_span_logs does the opposite)",
                )],
            )?;
            let path = format!("{path}.{}", key.name);
            let processor = if key.name == "batch" {
                self.batch(value, path, Signal::Logs)?
            } else {
                self.simple(value, path, Signal::Logs)?
            };
            config.log_processors.push(processor);
        }
        Ok(())
    }
}
