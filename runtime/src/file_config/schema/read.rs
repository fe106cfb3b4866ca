//! Reading values with their checks: typed getters that name the path and
//! position of what is wrong, the nearest valid key, and the settings one
//! part of the file shares with another.

use super::*;

impl Cx<'_> {
    pub(super) fn at(&self, pos: Pos) -> String {
        at(self.file, pos)
    }

    pub(super) fn err(&self, pos: Pos, message: String) -> ConfigError {
        ConfigError::new(self.file, Some(pos), message)
    }

    /// `node` as a mapping whose keys are all in `keys` (null reads as empty).
    pub(super) fn obj<'n>(&self, node: &'n Node, path: String, keys: &[&str]) -> Result<Obj<'n>> {
        let entries: &[(Key, Node)] = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => return Err(self.expected(node, "a mapping", leaf(&path))),
        };
        for (key, _) in entries {
            if !keys.contains(&key.name.as_str()) {
                return Err(self.unknown_key(&path, key, keys));
            }
        }
        Ok(Obj {
            path,
            pos: node.pos,
            entries,
        })
    }

    pub(super) fn unknown_key(&self, path: &str, key: &Key, keys: &[&str]) -> ConfigError {
        let mut message = if path.is_empty() {
            format!(
                "unknown top-level key `{}` at {}",
                key.name,
                self.at(key.pos)
            )
        } else {
            format!(
                "unknown key `{}` in {path} at {}",
                key.name,
                self.at(key.pos)
            )
        };
        match suggest(&key.name, keys) {
            Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
            None if keys.is_empty() => message.push_str("; it takes no keys"),
            None => message.push_str(&format!("; expected {}", one_of(keys))),
        }
        self.err(key.pos, message)
    }

    pub(super) fn expected(&self, node: &Node, what: &str, name: &str) -> ConfigError {
        let mut message = format!(
            "expected {what} for `{name}` at {}, found {}",
            self.at(node.pos),
            node.value.describe()
        );
        if what == "a string"
            && matches!(node.value, Value::Int(_) | Value::Float(_) | Value::Bool(_))
        {
            message.push_str(&format!(
                "; quote it to make it a string (\"{}\")",
                plain(&node.value)
            ));
        }
        self.err(node.pos, message)
    }

    pub(super) fn not_supported(
        &self,
        obj: &Obj<'_>,
        key: &Key,
        what: &str,
        why: &str,
    ) -> ConfigError {
        self.err(
            key.pos,
            format!(
                "`{what}` {} at {} is not supported by traced: {why}",
                obj.place(),
                self.at(key.pos)
            ),
        )
    }

    /// An error if `key` is set (to anything but null).
    pub(super) fn unsupported(&self, obj: &Obj<'_>, key: &str, why: &str) -> Result<()> {
        match obj.set(key) {
            Some((k, _)) => Err(self.not_supported(obj, k, key, why)),
            None => Ok(()),
        }
    }

    /// An error if `key` is set to anything but `default` (a whole number).
    pub(super) fn default_only(
        &self,
        obj: &Obj<'_>,
        key: &str,
        default: u64,
        why: &str,
    ) -> Result<()> {
        match (self.uint(obj, key)?, obj.entry(key)) {
            (Some(v), Some((k, _))) if v != default => Err(self.not_supported(
                obj,
                k,
                &format!("{key}: {v}"),
                &format!("{why}; only the default ({default}) is accepted"),
            )),
            _ => Ok(()),
        }
    }

    /// An error if `key` is set to anything but `default` (a boolean).
    pub(super) fn default_bool(
        &self,
        obj: &Obj<'_>,
        key: &str,
        default: bool,
        why: &str,
    ) -> Result<()> {
        match (self.boolean(obj, key)?, obj.entry(key)) {
            (Some(v), Some((k, _))) if v != default => Err(self.not_supported(
                obj,
                k,
                &format!("{key}: {v}"),
                &format!("{why}; only the default ({default}) is accepted"),
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn require<'n>(&self, obj: &Obj<'n>, key: &str) -> Result<&'n Node> {
        match obj.entry(key) {
            Some((_, node)) if node.value != Value::Null => Ok(node),
            Some((k, _)) => Err(self.err(
                k.pos,
                format!("`{key}` {} at {} has no value", obj.place(), self.at(k.pos)),
            )),
            None => Err(self.err(
                obj.pos,
                format!("missing `{key}` {} at {}", obj.place(), self.at(obj.pos)),
            )),
        }
    }

    pub(super) fn as_string(&self, node: &Node, name: &str) -> Result<Option<String>> {
        match &node.value {
            Value::Null => Ok(None),
            Value::Str(s) => Ok(Some(s.clone())),
            _ => Err(self.expected(node, "a string", name)),
        }
    }

    pub(super) fn string(&self, obj: &Obj<'_>, key: &str) -> Result<Option<String>> {
        obj.get(key)
            .map_or(Ok(None), |node| self.as_string(node, key))
    }

    pub(super) fn required_string(&self, obj: &Obj<'_>, key: &str) -> Result<String> {
        let node = self.require(obj, key)?;
        Ok(self.as_string(node, key)?.unwrap_or_default())
    }

    pub(super) fn uint(&self, obj: &Obj<'_>, key: &str) -> Result<Option<u64>> {
        let Some(node) = obj.get(key) else {
            return Ok(None);
        };
        match node.value {
            Value::Null => Ok(None),
            Value::Int(i) => u64::try_from(i).map(Some).map_err(|_| {
                self.err(
                    node.pos,
                    format!(
                        "`{key}` at {} must be 0 or more, found {i}",
                        self.at(node.pos)
                    ),
                )
            }),
            _ => Err(self.expected(node, "a whole number", key)),
        }
    }

    pub(super) fn positive(&self, obj: &Obj<'_>, key: &str) -> Result<Option<u64>> {
        match self.uint(obj, key)? {
            Some(0) => {
                let node = obj.get(key).expect("it was read");
                Err(self.err(
                    node.pos,
                    format!("`{key}` at {} must be above 0, found 0", self.at(node.pos)),
                ))
            }
            other => Ok(other),
        }
    }

    /// Milliseconds where the schema's 0 means "no limit", which traced does not do.
    pub(super) fn bounded_millis(&self, obj: &Obj<'_>, key: &str, default: u64) -> Result<u64> {
        match self.uint(obj, key)? {
            Some(0) => {
                let (k, _) = obj.entry(key).expect("it was read");
                Err(self.not_supported(
                    obj,
                    k,
                    &format!("{key}: 0"),
                    "0 means no limit, and traced bounds every export; give a number of milliseconds",
                ))
            }
            Some(ms) => Ok(ms),
            None => Ok(default),
        }
    }

    pub(super) fn as_number(&self, node: &Node, name: &str) -> Result<Option<f64>> {
        match node.value {
            Value::Null => Ok(None),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok(Some(i as f64)),
            Value::Float(f) => Ok(Some(f)),
            _ => Err(self.expected(node, "a number", name)),
        }
    }

    pub(super) fn boolean(&self, obj: &Obj<'_>, key: &str) -> Result<Option<bool>> {
        let Some(node) = obj.get(key) else {
            return Ok(None);
        };
        match node.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            _ => Err(self.expected(node, "true or false", key)),
        }
    }

    pub(super) fn list<'n>(&self, obj: &Obj<'n>, key: &str) -> Result<&'n [Node]> {
        let Some(node) = obj.get(key) else {
            return Ok(&[]);
        };
        match &node.value {
            Value::Null => Ok(&[]),
            Value::Seq(items) => Ok(items),
            _ => Err(self.expected(node, "a list", key)),
        }
    }

    pub(super) fn strings(&self, obj: &Obj<'_>, key: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (i, item) in self.list(obj, key)?.iter().enumerate() {
            match self.as_string(item, &format!("{key}[{i}]"))? {
                Some(s) => out.push(s),
                None => return Err(self.expected(item, "a string", &format!("{key}[{i}]"))),
            }
        }
        Ok(out)
    }

    /// A string that must be one of `options`.
    pub(super) fn enumerated(&self, node: &Node, name: &str, options: &[&str]) -> Result<String> {
        let value = self
            .as_string(node, name)?
            .ok_or_else(|| self.expected(node, "a string", name))?;
        if options.contains(&value.as_str()) {
            return Ok(value);
        }
        let mut message = format!(
            "unknown value `{value}` for `{name}` at {}; expected {}",
            self.at(node.pos),
            one_of(options)
        );
        if let Some(s) = suggest(&value, options) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        Err(self.err(node.pos, message))
    }

    /// A one-key mapping that names a component (`exporter: {otlp_http: ...}`):
    /// the key and its value. `unsupported` are names the schema has that traced
    /// does not do, with why.
    pub(super) fn select<'n>(
        &self,
        node: &'n Node,
        path: &str,
        what: &str,
        supported: &[&str],
        unsupported: &[(&str, &str)],
    ) -> Result<(&'n Key, &'n Node)> {
        let entries: &[(Key, Node)] = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => &[],
            _ => return Err(self.expected(node, "a mapping", leaf(path))),
        };
        let (key, value) = match entries {
            [(key, value)] => (key, value),
            [] => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "`{}` at {} names no {what}; expected {}",
                        leaf(path),
                        self.at(node.pos),
                        one_of(supported)
                    ),
                ))
            }
            [_, (second, _), ..] => {
                let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
                return Err(self.err(
                    second.pos,
                    format!(
                        "`{}` at {} names {} components ({}); each entry takes exactly one {what}",
                        leaf(path),
                        self.at(node.pos),
                        names.len(),
                        one_of(&names)
                    ),
                ));
            }
        };
        if supported.contains(&key.name.as_str()) {
            return Ok((key, value));
        }
        if let Some((_, why)) = unsupported.iter().find(|(name, _)| *name == key.name) {
            return Err(self.err(
                key.pos,
                format!(
                    "the {what} `{}` in {path} at {} is not supported by traced: {why}",
                    key.name,
                    self.at(key.pos)
                ),
            ));
        }
        let mut message = format!(
            "unknown {what} `{}` in {path} at {}; expected {}",
            key.name,
            self.at(key.pos),
            one_of(supported)
        );
        let all: Vec<&str> = supported
            .iter()
            .copied()
            .chain(unsupported.iter().map(|(n, _)| *n))
            .collect();
        if let Some(s) = suggest(&key.name, &all) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
        Err(self.err(key.pos, message))
    }

    /// Records that the file sets the standard setting `name`.
    pub(super) fn name(&mut self, name: &str) {
        self.named.insert(name.to_owned());
    }

    /// Records a setting several parts of the file share (all batch span
    /// processors use `OTEL_BSP_*`, for example), written as `value`, with
    /// `apply`: an error if two parts disagree.
    pub(super) fn shared(
        &mut self,
        name: &str,
        value: String,
        given: Option<Pos>,
        at: Pos,
        what: &str,
        apply: impl FnOnce(&mut Settings),
    ) -> Result<()> {
        if self.named.contains(name) {
            let previous = self.settings.value_of(name).unwrap_or_default();
            if previous != value {
                let first = self.origins[name];
                let value = match given {
                    Some(_) => value,
                    None => format!("{value} (the default)"),
                };
                return Err(self.err(
                    given.unwrap_or(at),
                    format!(
                        "{what} at {} is {value}, but the one at {} is {previous}: traced has one setting for all of them ({name}), so they must agree",
                        self.at(given.unwrap_or(at)),
                        self.at(first)
                    ),
                ));
            }
            return Ok(());
        }
        apply(&mut self.settings);
        debug_assert_eq!(self.settings.value_of(name), Some(value), "{name}");
        self.name(name);
        self.origins.insert(name.to_owned(), given.unwrap_or(at));
        Ok(())
    }

    /// An error if `what` was already seen (one OTLP exporter per signal, ...).
    pub(super) fn once(&mut self, what: &str, pos: Pos, why: &str) -> Result<()> {
        if let Some(first) = self.once.get(what) {
            return Err(self.err(
                pos,
                format!(
                    "a second {what} at {} cannot be mapped (the first is at {}): {why}",
                    self.at(pos),
                    self.at(*first)
                ),
            ));
        }
        self.once.insert(what.to_owned(), pos);
        Ok(())
    }
}
