//! `traced`'s extension processors: span metrics, the span filter, redaction.

use super::*;

impl Cx<'_> {
    pub(super) fn span_metrics(&self, node: &Node, path: String) -> Result<SpanMetricsConfig> {
        let o = self.obj(
            node,
            path,
            &["dimensions", "buckets_ms", "cardinality_limit"],
        )?;
        let dimensions = self.strings(&o, "dimensions")?;
        let buckets_ms = match o.set("buckets_ms") {
            None => None,
            Some((_, list)) => {
                let mut bounds = Vec::new();
                for (i, item) in self.list(&o, "buckets_ms")?.iter().enumerate() {
                    let name = format!("buckets_ms[{i}]");
                    let bound = self
                        .as_number(item, &name)?
                        .filter(|b| b.is_finite())
                        .ok_or_else(|| self.expected(item, "a number", &name))?;
                    if bounds.last().is_some_and(|last| bound <= *last) {
                        return Err(self.err(
                            item.pos,
                            format!(
                                "`buckets_ms` at {} must increase: {bound} comes after {}",
                                self.at(list.pos),
                                bounds.last().copied().unwrap_or_default()
                            ),
                        ));
                    }
                    bounds.push(bound);
                }
                Some(bounds)
            }
        };
        let cardinality_limit = self
            .positive(&o, "cardinality_limit")?
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        Ok(SpanMetricsConfig {
            dimensions,
            buckets_ms,
            cardinality_limit,
        })
    }

    pub(super) fn filter(&self, node: &Node, path: String) -> Result<FilterConfig> {
        let o = self.obj(
            node,
            path,
            &[
                "drop_names",
                "drop_attributes",
                "drop_kinds",
                "also_from_span_metrics",
            ],
        )?;
        let drop_names = self.strings(&o, "drop_names")?;
        let mut drop_attributes = Vec::new();
        for (i, item) in self.list(&o, "drop_attributes")?.iter().enumerate() {
            let a = self.obj(
                item,
                format!("{}[{i}]", o.child("drop_attributes")),
                &["key", "value"],
            )?;
            drop_attributes.push((
                self.required_string(&a, "key")?,
                self.required_string(&a, "value")?,
            ));
        }
        let mut drop_kinds = Vec::new();
        for (i, item) in self.list(&o, "drop_kinds")?.iter().enumerate() {
            let kind = self.enumerated(
                item,
                &format!("drop_kinds[{i}]"),
                &["internal", "server", "client", "producer", "consumer"],
            )?;
            drop_kinds.push(match kind.as_str() {
                "internal" => SpanKind::Internal,
                "server" => SpanKind::Server,
                "client" => SpanKind::Client,
                "producer" => SpanKind::Producer,
                _ => SpanKind::Consumer,
            });
        }
        Ok(FilterConfig {
            drop_names,
            drop_attributes,
            drop_kinds,
            also_from_span_metrics: self.boolean(&o, "also_from_span_metrics")?.unwrap_or(false),
        })
    }

    pub(super) fn redaction(&mut self, node: &Node, path: String) -> Result<RedactionConfig> {
        let o = self.obj(
            node,
            path,
            &[
                "defaults",
                "secret_keys",
                "delete_keys",
                "mask_keys",
                "hash_keys",
                "value_patterns",
                "hash_secret",
            ],
        )?;
        let mut rules = Vec::new();
        // In the order the file gives them: the first key rule that matches decides.
        for (key, _) in o.entries {
            let rule: fn(String) -> RedactionRule = match key.name.as_str() {
                "delete_keys" => RedactionRule::DeleteKey,
                "mask_keys" => RedactionRule::MaskKey,
                "hash_keys" => RedactionRule::HashKey,
                "value_patterns" => {
                    for (i, item) in self.list(&o, "value_patterns")?.iter().enumerate() {
                        let p = self.obj(
                            item,
                            format!("{}[{i}]", o.child("value_patterns")),
                            &["pattern", "action"],
                        )?;
                        let pattern = self.required_string(&p, "pattern")?;
                        if let Err(e) = regex::Regex::new(&pattern) {
                            let n = p.get("pattern").expect("it was read");
                            let reason = e.to_string();
                            let reason = reason.lines().last().unwrap_or_default().trim();
                            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
                            return Err(self.err(
                                n.pos,
                                format!(
                                    "invalid regular expression `{pattern}` at {}: {reason}",
                                    self.at(n.pos)
                                ),
                            ));
                        }
                        let action = match p.set("action") {
                            Some((_, n)) => self.enumerated(n, "action", &["mask", "hash"])?,
                            None => "mask".to_owned(),
                        };
                        rules.push(if action == "hash" {
                            RedactionRule::HashValue(pattern)
                        } else {
                            RedactionRule::MaskValue(pattern)
                        });
                    }
                    continue;
                }
                _ => continue,
            };
            for pattern in self.strings(&o, &key.name)? {
                rules.push(rule(pattern));
            }
        }
        let hash_secret = self.string(&o, "hash_secret")?.filter(|s| !s.is_empty());
        let hashes = rules
            .iter()
            .any(|r| matches!(r, RedactionRule::HashKey(_) | RedactionRule::HashValue(_)));
        if hashes && hash_secret.is_none() {
            self.warnings.push(format!(
                "{}: traced_redaction hashes values but has no hash_secret: the key is random per process, so hashes cannot be joined across services or restarts",
                self.file
            ));
        }
        let defaults = self.boolean(&o, "defaults")?.unwrap_or(true);
        let secret_keys = self.boolean(&o, "secret_keys")?.unwrap_or(true);
        if defaults && !secret_keys {
            let n = o.get("secret_keys").expect("it was read");
            return Err(self.err(
                n.pos,
                format!(
                    "`secret_keys: false` at {} has no effect while `defaults` is true (the default \
                     rules include the secret keys): add `defaults: false` to record secret keys as written",
                    self.at(n.pos)
                ),
            ));
        }
        Ok(RedactionConfig {
            defaults,
            secret_keys,
            rules,
            hash_secret,
        })
    }
}
