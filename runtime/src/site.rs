//! What generated code hands the span path about a call site: the static
//! [`CallSite`] and the [`Attrs`] of `attrs(..)`/`args(..)`. Generated code
//! names them through `traced::__private`; the span paths (`crate::tracer`)
//! read them.

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};

/// What the macro knows about an instrumented function, built at compile time.
#[derive(Debug)]
pub struct CallSite {
    /// The span name.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
    /// `module::path::function`, for `code.function.name`.
    pub function: &'static str,
    /// The function's own name (the `function` label of call metrics).
    pub fn_name: &'static str,
    /// `module_path!()` (the `module` label of call metrics).
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
    /// `#[traced(metrics(objective = ..))]`: the labels of the call metrics.
    pub objective: Option<&'static crate::metrics::Objective>,
}

impl crate::metrics::MetricSite for CallSite {
    fn fn_name(&self) -> &'static str {
        self.fn_name
    }
    fn module(&self) -> &'static str {
        self.module
    }
    fn objective(&self) -> Option<&'static crate::metrics::Objective> {
        self.objective
    }
}

/// Collects attributes, only ever called when the span records.
pub struct Attrs {
    pub(crate) list: Vec<KeyValue>,
    /// A key the built-in secret-key rules mask was written (decided at
    /// compile time, per call site).
    pub(crate) secret: bool,
}

/// Whether the built-in secret-key rules mask `key`: generated code evaluates
/// it at compile time for each key it writes, so that a call site without
/// such a key pays nothing for them.
pub const fn is_secret_key(key: &str) -> bool {
    crate::redact::builtin_secret(key.as_bytes())
}

impl Attrs {
    /// Records `key = value`; a value that converts to nothing (`None`) is
    /// skipped. `SECRET` is [`is_secret_key`]`(key)`, computed at compile time.
    ///
    /// Generated code converts the value where the user wrote it,
    /// `AttrValue::to_attr_value((&AttrProbe(&(expr))).traced_attr())`, so that a
    /// value that cannot be recorded is reported there, on its own type.
    #[inline]
    pub fn add_site<const SECRET: bool>(&mut self, key: &'static str, value: Option<Value>) {
        if SECRET {
            self.secret = true;
        }
        self.add(key, value);
    }

    /// Records `key = value` (see [`add_site`](Self::add_site)).
    #[inline]
    pub fn add(&mut self, key: &'static str, value: Option<Value>) {
        if let Some(value) = value {
            self.list
                .push(KeyValue::new(Key::from_static_str(key), value));
        }
    }
}

/// The attributes of `attrs(..)`/`args(..)`, and the secrets among them
/// (values under secret keys), which log records must not show either.
#[inline]
pub(crate) fn site_attributes(
    fill: &mut dyn FnMut(&mut Attrs),
) -> (Vec<KeyValue>, Option<crate::redact::SpanSecrets>) {
    let mut attrs = Attrs {
        list: Vec::new(),
        secret: false,
    };
    fill(&mut attrs);
    if attrs.list.is_empty() {
        return (attrs.list, None);
    }
    // Only where a key the built-in rules mask was written, or where the
    // program added key rules of its own: nothing to look at otherwise.
    let secrets = if attrs.secret || crate::redact::custom_key_rules() {
        crate::redact::secrets_of(&attrs.list)
    } else {
        None
    };
    (attrs.list, secrets)
}
