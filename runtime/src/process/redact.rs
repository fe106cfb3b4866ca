//! Redaction: secrets and personal data are removed from spans before any
//! exporter sees them.
//!
//! A [`Redaction`] is a list of rules. A rule matches an attribute by its key (a
//! case-insensitive pattern where `*` matches any run of characters) or a part of
//! a string value (a regular expression), and then deletes the attribute, masks
//! the value (`[REDACTED]`), or replaces it with a keyed hash (HMAC-SHA-256, so
//! that equal values can still be joined across spans and services that share
//! the key, without revealing them).
//!
//! [`Redaction::default_rules`] covers the common secrets: authorization and
//! cookie headers, passwords, tokens, API keys, secrets and credentials by key;
//! card numbers (Luhn-checked), e-mail addresses and bearer tokens inside any
//! string value, including span names' status messages and event attributes.
//!
//! ```
//! use traced_runtime::process::Redaction;
//! let _telemetry = traced_runtime::Builder::new()
//!     .redact(
//!         Redaction::default_rules()
//!             .hash_key("user.id")
//!             .delete_key("http.request.header.x-debug-*"),
//!     )
//!     .init();
//! ```

use super::glob::KeyPattern;
use std::fmt;
use std::sync::Arc;
#[cfg(feature = "enabled")]
use {
    hmac::{Hmac, Mac},
    opentelemetry::logs::AnyValue,
    opentelemetry::trace::Status,
    opentelemetry::{Array, KeyValue, StringValue, Value},
    opentelemetry_sdk::error::OTelSdkResult,
    opentelemetry_sdk::trace::SpanData,
    std::borrow::Cow,
    std::time::Duration,
};

/// A compiled value pattern (a regular expression, with the `enabled` feature;
/// nothing to compile without it).
#[cfg(feature = "enabled")]
type Pattern = regex::Regex;
#[cfg(not(feature = "enabled"))]
#[derive(Clone)]
struct Pattern;

#[cfg(feature = "enabled")]
fn compile(regex: &str) -> Result<Pattern, PatternError> {
    Pattern::new(regex).map_err(|e| PatternError(e.to_string()))
}

#[cfg(not(feature = "enabled"))]
fn compile(_regex: &str) -> Result<Pattern, PatternError> {
    Ok(Pattern)
}

/// Why [`Redaction::value_pattern`] did not take a regular expression: the
/// message says where it is not valid. (With the `enabled` feature off patterns
/// are not compiled, so this never happens.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError(String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

/// What a rule does to what it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Removes the attribute (key rules); for value rules, masks.
    Delete,
    /// Replaces the value, or the matching part of it, with `[REDACTED]`.
    Mask,
    /// Replaces the value, or the matching part, with `hmac:<hex>`, keyed.
    Hash,
}

/// The text that replaces a masked value.
pub const MASK: &str = "[REDACTED]";

#[derive(Clone)]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
enum Matcher {
    Key(KeyPattern),
    Value(Pattern, Option<fn(&str) -> bool>),
}

#[derive(Clone)]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
struct Rule {
    matcher: Matcher,
    action: Action,
}

/// A set of redaction rules, applied in order.
#[derive(Clone)]
#[must_use]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub struct Redaction {
    rules: Vec<Rule>,
    key: Arc<[u8]>,
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Default for Redaction {
    fn default() -> Self {
        Self::default_rules()
    }
}

#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
fn luhn(digits: &str) -> bool {
    let digits: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

impl Redaction {
    /// No rules.
    pub fn none() -> Self {
        Redaction {
            rules: Vec::new(),
            key: Arc::from(random_key().as_slice()),
        }
    }

    /// The rules for the common secrets (see the module docs).
    pub fn default_rules() -> Self {
        let mut r = Self::none();
        for key in [
            "*authorization*",
            "*cookie*",
            "*password*",
            "*passwd*",
            "*secret*",
            "*token*",
            "*api_key*",
            "*apikey*",
            "*api-key*",
            "*api.key*",
            "*private_key*",
            "*credential*",
        ] {
            r = r.mask_key(key);
        }
        r.rules.push(Rule {
            matcher: Matcher::Value(
                compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*").expect("valid"),
                None,
            ),
            action: Action::Mask,
        });
        r.rules.push(Rule {
            matcher: Matcher::Value(
                compile(r"\b(?:\d[ -]?){12,18}\d\b").expect("valid"),
                Some(luhn),
            ),
            action: Action::Mask,
        });
        r.rules.push(Rule {
            matcher: Matcher::Value(
                compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}").expect("valid"),
                None,
            ),
            action: Action::Mask,
        });
        r
    }

    fn key_rule(mut self, pattern: &str, action: Action) -> Self {
        self.rules.push(Rule {
            matcher: Matcher::Key(KeyPattern::new(pattern)),
            action,
        });
        self
    }

    /// Removes attributes whose key matches `pattern` (`*` is a wildcard).
    pub fn delete_key(self, pattern: &str) -> Self {
        self.key_rule(pattern, Action::Delete)
    }

    /// Masks the values of attributes whose key matches `pattern`.
    pub fn mask_key(self, pattern: &str) -> Self {
        self.key_rule(pattern, Action::Mask)
    }

    /// Replaces the values of attributes whose key matches `pattern` with a keyed hash.
    pub fn hash_key(self, pattern: &str) -> Self {
        self.key_rule(pattern, Action::Hash)
    }

    /// Masks (or hashes) every part of a string value that matches `regex`.
    pub fn value_pattern(mut self, regex: &str, action: Action) -> Result<Self, PatternError> {
        self.rules.push(Rule {
            matcher: Matcher::Value(compile(regex)?, None),
            action,
        });
        Ok(self)
    }

    /// The key of [`Action::Hash`] (random per process by default: set one shared
    /// by the services whose hashed values must be joined).
    pub fn hash_secret(mut self, key: impl AsRef<[u8]>) -> Self {
        self.key = Arc::from(key.as_ref());
        self
    }

    #[cfg(feature = "enabled")]
    fn hash(&self, value: &str) -> String {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("hmac:{hex}")
    }

    #[cfg(feature = "enabled")]
    /// Redacts a string (value rules only).
    pub fn redact_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for rule in &self.rules {
            if let Matcher::Value(regex, check) = &rule.matcher {
                if !regex.is_match(&out) {
                    continue;
                }
                let replaced = regex
                    .replace_all(&out, |caps: &regex::Captures<'_>| {
                        let m = &caps[0];
                        if check.is_some_and(|c| !c(m)) {
                            return m.to_owned();
                        }
                        match rule.action {
                            Action::Hash => self.hash(m),
                            _ => MASK.to_owned(),
                        }
                    })
                    .into_owned();
                out = Cow::Owned(replaced);
            }
        }
        out
    }

    #[cfg(feature = "enabled")]
    fn redact_value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::String(s) => match self.redact_str(s.as_str()) {
                Cow::Borrowed(_) => None,
                Cow::Owned(o) => Some(Value::String(o.into())),
            },
            Value::Array(Array::String(items)) => {
                let mut changed = false;
                let out: Vec<StringValue> = items
                    .iter()
                    .map(|s| match self.redact_str(s.as_str()) {
                        Cow::Borrowed(_) => s.clone(),
                        Cow::Owned(o) => {
                            changed = true;
                            o.into()
                        }
                    })
                    .collect();
                changed.then_some(Value::Array(Array::String(out)))
            }
            _ => None,
        }
    }

    #[cfg(feature = "enabled")]
    /// Redacts attributes in place: key rules first, then value rules.
    pub fn redact_attributes(&self, attributes: &mut Vec<KeyValue>) {
        attributes.retain_mut(|kv| {
            for rule in &self.rules {
                if let Matcher::Key(pattern) = &rule.matcher {
                    if pattern.matches(kv.key.as_str()) {
                        match rule.action {
                            Action::Delete => return false,
                            Action::Mask => kv.value = Value::from(MASK),
                            Action::Hash => {
                                kv.value = Value::from(self.hash(&kv.value.as_str()));
                            }
                        }
                        return true;
                    }
                }
            }
            if let Some(v) = self.redact_value(&kv.value) {
                kv.value = v;
            }
            true
        });
    }

    #[cfg(feature = "enabled")]
    /// Redacts a finished span: its attributes, its events' and links'
    /// attributes, its event names and its status message.
    pub fn redact_span(&self, span: &mut SpanData) {
        self.redact_attributes(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            self.redact_attributes(&mut event.attributes);
            if let Cow::Owned(name) = self.redact_str(&event.name) {
                event.name = name.into();
            }
        }
        for link in span.links.links.iter_mut() {
            self.redact_attributes(&mut link.attributes);
        }
        if let Status::Error { description } = &span.status {
            if let Cow::Owned(d) = self.redact_str(description) {
                span.status = Status::error(d);
            }
        }
    }
}

fn random_key() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    key
}

/// The rules `init` was given, for the instruments of `traced::metrics`, which
/// redact their attributes before recording.
#[cfg(feature = "enabled")]
static CURRENT: arc_swap::ArcSwapOption<Redaction> = arc_swap::ArcSwapOption::const_empty();

/// Makes `rules` the ones metric instruments apply (`None`: none).
#[cfg(feature = "enabled")]
pub(crate) fn set_current(rules: Option<Redaction>) {
    CURRENT.store(rules.map(Arc::new));
}

/// Redacts metric attributes with the current rules, if there are any; `None`
/// when there is nothing to do (the attributes are recorded as they are).
#[cfg(feature = "enabled")]
#[inline]
pub(crate) fn redact_metric_attributes(attributes: &[KeyValue]) -> Option<Vec<KeyValue>> {
    let rules = CURRENT.load();
    let rules = rules.as_deref()?;
    if attributes.is_empty() {
        return None;
    }
    let mut out = attributes.to_vec();
    rules.redact_attributes(&mut out);
    Some(out)
}

#[cfg(feature = "enabled")]
impl Redaction {
    /// Redacts a log attribute: `None` deletes it.
    fn redact_any(&self, key: &str, value: &AnyValue) -> Option<AnyValue> {
        for rule in &self.rules {
            if let Matcher::Key(pattern) = &rule.matcher {
                if pattern.matches(key) {
                    return match rule.action {
                        Action::Delete => None,
                        Action::Mask => Some(AnyValue::String(MASK.into())),
                        Action::Hash => Some(AnyValue::String(self.hash(&any_text(value)).into())),
                    };
                }
            }
        }
        Some(self.redact_any_value(value))
    }

    fn redact_any_value(&self, value: &AnyValue) -> AnyValue {
        match value {
            AnyValue::String(s) => match self.redact_str(s.as_str()) {
                Cow::Borrowed(_) => value.clone(),
                Cow::Owned(o) => AnyValue::String(o.into()),
            },
            AnyValue::ListAny(items) => AnyValue::ListAny(Box::new(
                items.iter().map(|v| self.redact_any_value(v)).collect(),
            )),
            AnyValue::Map(map) => AnyValue::Map(Box::new(
                map.iter()
                    .filter_map(|(k, v)| self.redact_any(k.as_str(), v).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            other => other.clone(),
        }
    }
}

#[cfg(feature = "enabled")]
fn any_text(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => s.as_str().to_owned(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// Redacts log records before the processors after it see them: `init` puts it
/// first in the logger provider. `SdkLogRecord` can gain attributes but not lose
/// or change them, so a record that needs redacting is rebuilt from a blank one.
#[cfg(feature = "enabled")]
#[derive(Debug)]
pub(crate) struct RedactingLogs {
    rules: Redaction,
    blank: opentelemetry_sdk::logs::SdkLogger,
    _provider: opentelemetry_sdk::logs::SdkLoggerProvider,
}

#[cfg(feature = "enabled")]
impl RedactingLogs {
    pub(crate) fn new(rules: Redaction) -> Self {
        use opentelemetry::logs::LoggerProvider as _;
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        RedactingLogs {
            rules,
            blank: provider.logger("traced.redaction"),
            _provider: provider,
        }
    }
}

#[cfg(feature = "enabled")]
impl opentelemetry_sdk::logs::LogProcessor for RedactingLogs {
    fn emit(
        &self,
        record: &mut opentelemetry_sdk::logs::SdkLogRecord,
        _scope: &opentelemetry::InstrumentationScope,
    ) {
        use opentelemetry::logs::{LogRecord as _, Logger as _};
        let attributes: Vec<(opentelemetry::Key, Option<AnyValue>)> = record
            .attributes_iter()
            .map(|(k, v)| (k.clone(), self.rules.redact_any(k.as_str(), v)))
            .collect();
        let body = record.body().map(|b| self.rules.redact_any_value(b));
        let unchanged = body.as_ref() == record.body()
            && attributes
                .iter()
                .zip(record.attributes_iter())
                .all(|((_, new), (_, old))| new.as_ref() == Some(old));
        if unchanged {
            return;
        }
        let mut fresh = self.blank.create_log_record();
        if let Some(name) = record.event_name() {
            fresh.set_event_name(name);
        }
        if let Some(target) = record.target() {
            fresh.set_target(target.clone());
        }
        if let Some(t) = record.timestamp() {
            fresh.set_timestamp(t);
        }
        if let Some(t) = record.observed_timestamp() {
            fresh.set_observed_timestamp(t);
        }
        if let Some(cx) = record.trace_context() {
            fresh.set_trace_context(cx.trace_id, cx.span_id, cx.trace_flags);
        }
        if let Some(text) = record.severity_text() {
            fresh.set_severity_text(text);
        }
        if let Some(n) = record.severity_number() {
            fresh.set_severity_number(n);
        }
        if let Some(body) = body {
            fresh.set_body(body);
        }
        for (k, v) in attributes {
            if let Some(v) = v {
                fresh.add_attribute(k, v);
            }
        }
        *record = fresh;
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[cfg(all(test, feature = "enabled"))]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&'static str, &'static str)]) -> Vec<KeyValue> {
        pairs.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect()
    }

    fn get(list: &[KeyValue], key: &str) -> Option<String> {
        list.iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    #[test]
    fn key_patterns() {
        let p = KeyPattern::new("*password*");
        assert!(p.matches("user.Password"));
        assert!(p.matches("password"));
        assert!(!p.matches("pass"));
        let exact = KeyPattern::new("user.id");
        assert!(exact.matches("USER.ID"));
        assert!(!exact.matches("user.idx"));
        let prefix = KeyPattern::new("http.request.header.*");
        assert!(prefix.matches("http.request.header.x"));
        assert!(!prefix.matches("http.response.header.x"));
        let suffix = KeyPattern::new("*.token");
        assert!(suffix.matches("session.token"));
        assert!(!suffix.matches("session.token.kind"));
    }

    #[test]
    fn default_rules_cover_the_common_secrets() {
        let r = Redaction::default_rules();
        let mut list = attrs(&[
            ("http.request.header.authorization", "Basic dXNlcjpwYXNz"),
            ("http.request.header.cookie", "session=abc"),
            ("db.password", "hunter2"),
            ("auth.token", "t0k3n"),
            ("x-api-key", "k"),
            ("client_secret", "s"),
            ("note", "card 4111 1111 1111 1111 and mail ada@example.com"),
            ("header", "Bearer abc.def.ghi"),
            ("order.id", "1234567890123"),
            ("safe", "nothing here"),
        ]);
        r.redact_attributes(&mut list);
        for key in [
            "http.request.header.authorization",
            "http.request.header.cookie",
            "db.password",
            "auth.token",
            "x-api-key",
            "client_secret",
        ] {
            assert_eq!(get(&list, key).as_deref(), Some(MASK), "{key}");
        }
        assert_eq!(
            get(&list, "note").as_deref(),
            Some("card [REDACTED] and mail [REDACTED]")
        );
        assert_eq!(get(&list, "header").as_deref(), Some("[REDACTED]"));
        assert_eq!(
            get(&list, "order.id").as_deref(),
            Some("1234567890123"),
            "not a Luhn number: kept"
        );
        assert_eq!(get(&list, "safe").as_deref(), Some("nothing here"));
    }

    #[test]
    fn delete_and_keyed_hash() {
        let r = Redaction::none()
            .delete_key("debug.*")
            .hash_key("user.id")
            .hash_secret("shared");
        let mut a = attrs(&[("debug.dump", "x"), ("user.id", "42")]);
        let mut b = attrs(&[("user.id", "42")]);
        r.redact_attributes(&mut a);
        r.redact_attributes(&mut b);
        assert_eq!(get(&a, "debug.dump"), None);
        let h = get(&a, "user.id").unwrap();
        assert!(h.starts_with("hmac:") && h != "42");
        assert_eq!(Some(h), get(&b, "user.id"), "same key, same hash: joinable");
        let other = Redaction::none().hash_key("user.id").hash_secret("other");
        let mut c = attrs(&[("user.id", "42")]);
        other.redact_attributes(&mut c);
        assert_ne!(get(&a, "user.id"), get(&c, "user.id"));
    }
}
