//! `file_format`, `resource` (attributes and their types) and `propagator`.

use super::*;

impl Cx<'_> {
    pub(super) fn file_format(&mut self, top: &Obj<'_>) -> Result<String> {
        let Some((key, node)) = top.entry("file_format") else {
            return Err(self.err(
                top.pos,
                format!(
                    "missing `file_format` at the top level of {}: it is required, e.g. `file_format: \"1.0\"`",
                    self.file
                ),
            ));
        };
        let version = self
            .as_string(node, "file_format")?
            .ok_or_else(|| self.expected(node, "a string", &key.name))?;
        let numbers = version.split('-').next().unwrap_or_default();
        let mut parts = numbers.split('.').map(str::parse::<u64>);
        let (major, minor) = match (parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor))) if parts.all(|p| p.is_ok()) => (major, minor),
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "invalid file_format `{version}` at {}: expected a version such as \"1.0\"",
                        self.at(node.pos)
                    ),
                ))
            }
        };
        match (major, minor) {
            (0, 3 | 4) => {}
            (1, minor) if minor <= KNOWN_MINOR => {}
            (1, _) => self.warnings.push(format!(
                "{}: file_format {version} is newer than the 1.{KNOWN_MINOR} traced knows; keys it does not know are reported as errors",
                self.file
            )),
            _ => {
                return Err(self.err(
                    node.pos,
                    format!(
                        "unsupported file_format `{version}` at {}: traced reads 1.x, 0.4 and 0.3",
                        self.at(node.pos)
                    ),
                ))
            }
        }
        Ok(version)
    }

    pub(super) fn resource(&mut self, top: &Obj<'_>) -> Result<Vec<Attribute>> {
        let Some(node) = top.get("resource") else {
            return Ok(Vec::new());
        };
        let o = self.obj(
            node,
            "resource".into(),
            &[
                "attributes",
                "attributes_list",
                "schema_url",
                "detection/development",
                "detectors",
            ],
        )?;
        self.unsupported(
            &o,
            "schema_url",
            "traced's Builder cannot set a resource schema URL",
        )?;
        for key in ["detection/development", "detectors"] {
            self.unsupported(
                &o,
                key,
                "resource detectors are not run; set the attributes you need under `attributes`",
            )?;
        }
        if let Some(list) = self.string(&o, "attributes_list")? {
            self.settings.resource = crate::settings::ResourceSettings::from_list(&list);
            self.name("OTEL_RESOURCE_ATTRIBUTES");
        }
        let mut out: Vec<Attribute> = Vec::new();
        for (i, item) in self.list(&o, "attributes")?.iter().enumerate() {
            let a = self.obj(
                item,
                format!("resource.attributes[{i}]"),
                &["name", "value", "type"],
            )?;
            let name = self.required_string(&a, "name")?;
            let ty = match a.set("type") {
                Some((_, t)) => self.enumerated(
                    t,
                    "type",
                    &[
                        "string",
                        "bool",
                        "int",
                        "double",
                        "string_array",
                        "bool_array",
                        "int_array",
                        "double_array",
                    ],
                )?,
                None => "string".to_owned(),
            };
            let Some((_, value)) = a.entry("value") else {
                return Err(self.err(
                    a.pos,
                    format!("missing `value` {} at {}", a.place(), self.at(a.pos)),
                ));
            };
            // A null value leaves the entry out, as the schema says.
            if value.value == Value::Null {
                continue;
            }
            let value = self.attribute_value(value, &ty)?;
            out.retain(|existing| existing.name != name);
            out.push(Attribute { name, value });
        }
        Ok(out)
    }

    pub(super) fn attribute_value(&self, node: &Node, ty: &str) -> Result<AttributeValue> {
        let with_type = |e: ConfigError| {
            let message = format!("{e} (the attribute's `type` is {ty})");
            ConfigError::new(self.file, Some(node.pos), message)
        };
        let one = |n: &Node, name: &str, element: &str| -> Result<AttributeValue> {
            Ok(match (element, &n.value) {
                ("string", Value::Str(s)) => AttributeValue::String(s.clone()),
                ("bool", Value::Bool(b)) => AttributeValue::Bool(*b),
                ("int", Value::Int(i)) => AttributeValue::Int(*i),
                #[allow(clippy::cast_precision_loss)]
                ("double", Value::Int(i)) => AttributeValue::Double(*i as f64),
                ("double", Value::Float(f)) => AttributeValue::Double(*f),
                ("string", _) => return Err(self.expected(n, "a string", name)),
                ("bool", _) => return Err(self.expected(n, "true or false", name)),
                ("int", _) => return Err(self.expected(n, "a whole number", name)),
                _ => return Err(self.expected(n, "a number", name)),
            })
        };
        let Some(element) = ty.strip_suffix("_array") else {
            return one(node, "value", ty).map_err(with_type);
        };
        let Value::Seq(items) = &node.value else {
            return Err(with_type(self.expected(node, "a list", "value")));
        };
        let values = items
            .iter()
            .enumerate()
            .map(|(i, n)| one(n, &format!("value[{i}]"), element))
            .collect::<Result<Vec<_>>>()
            .map_err(with_type)?;
        let mut array = match element {
            "string" => AttributeValue::StringArray(Vec::new()),
            "bool" => AttributeValue::BoolArray(Vec::new()),
            "int" => AttributeValue::IntArray(Vec::new()),
            _ => AttributeValue::DoubleArray(Vec::new()),
        };
        for value in values {
            match (&mut array, value) {
                (AttributeValue::StringArray(a), AttributeValue::String(s)) => a.push(s),
                (AttributeValue::BoolArray(a), AttributeValue::Bool(b)) => a.push(b),
                (AttributeValue::IntArray(a), AttributeValue::Int(i)) => a.push(i),
                (AttributeValue::DoubleArray(a), AttributeValue::Double(d)) => a.push(d),
                _ => unreachable!("`one` returns the element type"),
            }
        }
        Ok(array)
    }

    pub(super) fn propagators(
        &self,
        top: &Obj<'_>,
    ) -> Result<Vec<crate::settings::PropagatorChoice>> {
        let names = crate::settings::PROPAGATORS.map(|(name, _)| name);
        let supported: &[&str] = &names;
        const WHY: &str = "no maintained propagator for it works with opentelemetry 0.33";
        const UNSUPPORTED: &[(&str, &str)] = &[
            ("b3", WHY),
            ("b3multi", WHY),
            ("jaeger", WHY),
            ("xray", WHY),
            ("ottrace", WHY),
        ];
        // No propagator section: the specification's default, a no-op propagator.
        let Some(node) = top.get("propagator") else {
            return Ok(Vec::new());
        };
        let o = self.obj(node, "propagator".into(), &["composite", "composite_list"])?;
        let mut chosen: Vec<String> = Vec::new();
        for (i, item) in self.list(&o, "composite")?.iter().enumerate() {
            let path = format!("propagator.composite[{i}]");
            let (key, value) = self.select(item, &path, "propagator", supported, UNSUPPORTED)?;
            self.obj(value, format!("{path}.{}", key.name), &[])?;
            chosen.push(key.name.clone());
        }
        if let Some((_, node)) = o.set("composite_list") {
            let list = self.as_string(node, "composite_list")?.unwrap_or_default();
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if supported.contains(&name) {
                    chosen.push(name.to_owned());
                } else if name == "none" {
                } else if UNSUPPORTED.iter().any(|(n, _)| *n == name) {
                    return Err(self.err(
                        node.pos,
                        format!(
                            "the propagator `{name}` in propagator.composite_list at {} is not supported by traced: {WHY}",
                            self.at(node.pos)
                        ),
                    ));
                } else {
                    let mut message = format!(
                        "unknown propagator `{name}` in propagator.composite_list at {}; expected {}",
                        self.at(node.pos),
                        one_of(&["tracecontext", "baggage", "none"])
                    );
                    if let Some(s) = suggest(name, supported) {
                        message.push_str(&format!("; did you mean `{s}`?"));
                    }
                    return Err(self.err(node.pos, message));
                }
            }
        }
        let mut unique = Vec::new();
        // Every name was checked against `supported` above.
        for choice in chosen
            .iter()
            .filter_map(|name| crate::settings::named(&crate::settings::PROPAGATORS, name))
        {
            if !unique.contains(&choice) {
                unique.push(choice);
            }
        }
        Ok(unique)
    }
}
