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
//! **On by default.** Whatever rules a program sets, and when it sets none,
//! `init` masks the values of the keys that name secrets
//! ([`Redaction::secret_keys`]: authorization and cookie headers, passwords,
//! passphrases, secrets, tokens, API keys, private keys and credentials) on
//! spans, span events, links, log records and the attributes of the
//! `traced::metrics` instruments. The one way out is explicit:
//! `Builder::redact_secret_keys(false)` in code, `secret_keys: false` in the
//! pipeline file's `traced_redaction`.
//!
//! **Echoed secrets.** A string value masked or hashed under its key is also
//! replaced wherever else it appears in the same span: its status message, the
//! other attributes, event names and attributes (the `exception.message` of an
//! `err` event that repeats a password), link attributes; and in the log
//! records written while that span is current (its `attrs(..)`/`args(..)`
//! values, for spans of `#[traced]`). Not caught: a secret transformed before
//! it is written elsewhere (encoded, split, reformatted), one that appears in
//! another span, values shorter than four characters, and values set on the
//! span after it started when it comes to log records.
//!
//! [`Redaction::default_rules`] adds the common personal data and secrets in
//! text: card numbers (Luhn-checked), e-mail addresses and bearer tokens inside
//! any string value, including status messages and event attributes.
//!
//! Rules a program adds come first: the first key rule that matches decides,
//! and the built-in key rules (those of [`Redaction::secret_keys`], also in
//! [`Redaction::default_rules`]) apply only to keys no added rule matches, so
//! `hash_key("session.token")` hashes that token instead of masking it.
//!
//! ```
//! # use traced_runtime as traced;
//! use traced::process::Redaction;
//! let _telemetry = traced::Builder::new()
//!     .redact(
//!         Redaction::default_rules()
//!             .hash_key("user.id")
//!             .delete_key("http.request.header.x-debug-*"),
//!     )
//!     .init();
//! ```

pub(crate) mod glob;

use glob::KeyPattern;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// A built-in key rule: it decides only for keys no added rule matches.
    builtin: bool,
}

/// A set of redaction rules, applied in order.
#[derive(Clone)]
#[must_use]
#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
pub struct Redaction {
    rules: Vec<Rule>,
    key: Arc<[u8]>,
    /// Names this set of key rules in the per-thread key cache: changes with
    /// every rule added (a clone keeps it, with the same rules).
    id: u64,
    key_rules: bool,
    value_rules: bool,
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// The key patterns of [`Redaction::secret_keys`].
const SECRET_KEYS: &[&str] = &[
    "*authorization*",
    "*cookie*",
    "*password*",
    "*passwd*",
    "*passphrase*",
    "*secret*",
    // Tokens, not token counts (`gen_ai.usage.input_tokens`) or tokenizers.
    "*token",
    "*token.value",
    "*api_key*",
    "*apikey*",
    "*api-key*",
    "*api.key*",
    "*private_key*",
    "*private-key*",
    "*private.key*",
    "*privatekey*",
    "*credential*",
];

/// Whether a pattern of [`SECRET_KEYS`] matches `key` (ASCII case-insensitive),
/// at compile time for the keys generated code writes.
#[cfg(feature = "enabled")]
pub(crate) const fn builtin_secret(key: &[u8]) -> bool {
    let mut i = 0;
    while i < SECRET_KEYS.len() {
        if glob::glob(SECRET_KEYS[i].as_bytes(), key) {
            return true;
        }
        i += 1;
    }
    false
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
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
    ///
    /// Given to `Builder::redact`, it adds nothing: the built-in secret-key
    /// rules still apply unless `Builder::redact_secret_keys(false)` turns
    /// them off.
    pub fn none() -> Self {
        Redaction {
            rules: Vec::new(),
            key: Arc::from(random_key().as_slice()),
            id: next_id(),
            key_rules: false,
            value_rules: false,
        }
    }

    /// The key rules `init` applies by default: the values of keys that name
    /// a secret are masked. The patterns (case-insensitive, `*` any run of
    /// characters): `*authorization*` (with `proxy-authorization`),
    /// `*cookie*` (with `set-cookie`), `*password*`, `*passwd*`,
    /// `*passphrase*`, `*secret*`, `*token` and `*token.value` (a token, not a
    /// count of tokens), `*api_key*`, `*apikey*`, `*api-key*`, `*api.key*`,
    /// `*private_key*` (and `-`, `.` and no separator) and `*credential*`.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use traced::process::Redaction;
    /// // What every pipeline does unless told otherwise:
    /// let _telemetry = traced::Builder::new().redact(Redaction::secret_keys()).init();
    /// ```
    pub fn secret_keys() -> Self {
        let mut r = Self::none();
        r.push_secret_keys();
        r
    }

    /// Appends the built-in key rules (those no added rule overrides).
    fn push_secret_keys(&mut self) {
        for key in SECRET_KEYS {
            let pattern = KeyPattern::new(key);
            let present = self.rules.iter().any(|rule| {
                rule.builtin
                    && matches!(&rule.matcher, Matcher::Key(p) if p.source() == pattern.source())
            });
            if !present {
                self.rules.push(Rule {
                    matcher: Matcher::Key(pattern),
                    action: Action::Mask,
                    builtin: true,
                });
            }
        }
        self.key_rules = true;
        self.id = next_id();
    }

    /// These rules with the built-in secret-key rules after them (what `init`
    /// applies unless `redact_secret_keys(false)`).
    #[cfg(feature = "enabled")]
    pub(crate) fn with_secret_keys(mut self) -> Self {
        self.push_secret_keys();
        self
    }

    /// The rules for the common secrets: [`secret_keys`](Self::secret_keys),
    /// then bearer tokens, card numbers (Luhn-checked) and e-mail addresses
    /// inside any string value (see the module docs).
    pub fn default_rules() -> Self {
        let mut r = Self::secret_keys();
        r.rules.push(Rule {
            matcher: Matcher::Value(
                compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*").expect("valid"),
                None,
            ),
            action: Action::Mask,
            builtin: false,
        });
        r.rules.push(Rule {
            matcher: Matcher::Value(
                compile(r"\b(?:\d[ -]?){12,18}\d\b").expect("valid"),
                Some(luhn),
            ),
            action: Action::Mask,
            builtin: false,
        });
        r.rules.push(Rule {
            matcher: Matcher::Value(
                compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}").expect("valid"),
                None,
            ),
            action: Action::Mask,
            builtin: false,
        });
        r.value_rules = true;
        r
    }

    fn key_rule(mut self, pattern: &str, action: Action) -> Self {
        self.rules.push(Rule {
            matcher: Matcher::Key(KeyPattern::new(pattern)),
            action,
            builtin: false,
        });
        self.key_rules = true;
        self.id = next_id();
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
            builtin: false,
        });
        self.value_rules = true;
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

    /// What the key rules do to `key`: the first added rule that matches
    /// decides, else the first built-in one. Decided once per key text and
    /// thread (see [`key_cache`]), so a call site's keys cost a lookup.
    #[cfg(feature = "enabled")]
    pub(crate) fn key_action(&self, key: &str) -> Option<Action> {
        if !self.has_key_rules() {
            return None;
        }
        key_cache::lookup(self.id, key, || self.key_action_uncached(key))
    }

    #[cfg(feature = "enabled")]
    fn has_key_rules(&self) -> bool {
        self.key_rules
    }

    #[cfg(feature = "enabled")]
    fn key_action_uncached(&self, key: &str) -> Option<Action> {
        let lower: Vec<u8> = key.bytes().map(|b| b.to_ascii_lowercase()).collect();
        let mut builtin = None;
        for rule in &self.rules {
            if let Matcher::Key(pattern) = &rule.matcher {
                if !pattern.matches_lowercase(&lower) {
                    continue;
                }
                if !rule.builtin {
                    return Some(rule.action);
                }
                builtin = builtin.or(Some(rule.action));
            }
        }
        builtin
    }

    /// Whether any value rule exists (else string values are left alone).
    #[cfg(feature = "enabled")]
    fn has_value_rules(&self) -> bool {
        self.value_rules
    }

    #[cfg(feature = "enabled")]
    /// Redacts attributes in place: key rules first, then value rules.
    pub fn redact_attributes(&self, attributes: &mut Vec<KeyValue>) {
        self.redact_list(attributes, None);
    }

    /// [`redact_attributes`](Self::redact_attributes), noting in `echo` each
    /// string value a key rule replaced, with what replaced it.
    #[cfg(feature = "enabled")]
    fn redact_list(&self, attributes: &mut Vec<KeyValue>, mut echo: Option<&mut Echo>) {
        let values = self.has_value_rules();
        attributes.retain_mut(|kv| {
            if let Some(action) = self.key_action(kv.key.as_str()) {
                let replacement = match action {
                    Action::Delete | Action::Mask => MASK.to_owned(),
                    Action::Hash => self.hash(&kv.value.as_str()),
                };
                if let (Some(echo), Value::String(original)) = (echo.as_deref_mut(), &kv.value) {
                    echo.note(original.as_str(), &replacement);
                }
                if action == Action::Delete {
                    return false;
                }
                kv.value = Value::from(replacement);
                return true;
            }
            if values {
                if let Some(v) = self.redact_value(&kv.value) {
                    kv.value = v;
                }
            }
            true
        });
    }

    #[cfg(feature = "enabled")]
    /// Redacts a finished span: its attributes, its events' and links'
    /// attributes, its event names and its status message; then replaces the
    /// values key rules masked wherever else they appear in the span (see the
    /// module docs on echoed secrets).
    pub fn redact_span(&self, span: &mut SpanData) {
        let mut echo = Echo::default();
        self.redact_list(&mut span.attributes, Some(&mut echo));
        for event in span.events.events.iter_mut() {
            self.redact_list(&mut event.attributes, Some(&mut echo));
            if let Cow::Owned(name) = self.redact_str(&event.name) {
                event.name = name.into();
            }
        }
        for link in span.links.links.iter_mut() {
            self.redact_list(&mut link.attributes, Some(&mut echo));
        }
        if let Status::Error { description } = &span.status {
            if let Cow::Owned(d) = self.redact_str(description) {
                span.status = Status::error(d);
            }
        }
        if echo.is_empty() {
            return;
        }
        echo.replace_in_attributes(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            echo.replace_in_attributes(&mut event.attributes);
            if let Cow::Owned(name) = echo.replace(&event.name) {
                event.name = name.into();
            }
        }
        for link in span.links.links.iter_mut() {
            echo.replace_in_attributes(&mut link.attributes);
        }
        if let Status::Error { description } = &span.status {
            if let Cow::Owned(d) = echo.replace(description) {
                span.status = Status::error(d);
            }
        }
    }

    /// The string values of `attributes` that key rules replace, with their
    /// replacements (what log records written inside the span must not show).
    #[cfg(feature = "enabled")]
    pub(crate) fn secrets_in(&self, attributes: &[KeyValue]) -> Echo {
        let mut echo = Echo::default();
        for kv in attributes {
            if let Value::String(original) = &kv.value {
                if let Some(action) = self.key_action(kv.key.as_str()) {
                    let replacement = match action {
                        Action::Hash => self.hash(original.as_str()),
                        Action::Delete | Action::Mask => MASK.to_owned(),
                    };
                    echo.note(original.as_str(), &replacement);
                }
            }
        }
        echo
    }
}

/// Secret values found under secret keys, and what replaces them elsewhere.
#[cfg(feature = "enabled")]
#[derive(Clone, Debug, Default)]
pub(crate) struct Echo(Vec<(String, String)>);

#[cfg(feature = "enabled")]
impl Echo {
    /// Values shorter than this are not searched for elsewhere: they would
    /// mask ordinary words and numbers.
    const MIN_LEN: usize = 4;

    fn note(&mut self, original: &str, replacement: &str) {
        if original.len() >= Self::MIN_LEN
            && original != replacement
            && !self.0.iter().any(|(o, _)| o == original)
        {
            self.0.push((original.to_owned(), replacement.to_owned()));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every noted value replaced.
    pub(crate) fn replace<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (original, replacement) in &self.0 {
            if out.contains(original.as_str()) {
                out = Cow::Owned(out.replace(original.as_str(), replacement));
            }
        }
        out
    }

    fn replace_in_attributes(&self, attributes: &mut [KeyValue]) {
        for kv in attributes {
            match &kv.value {
                Value::String(s) => {
                    if let Cow::Owned(o) = self.replace(s.as_str()) {
                        kv.value = Value::String(o.into());
                    }
                }
                Value::Array(Array::String(items)) => {
                    let mut changed = false;
                    let out: Vec<StringValue> = items
                        .iter()
                        .map(|s| match self.replace(s.as_str()) {
                            Cow::Borrowed(_) => s.clone(),
                            Cow::Owned(o) => {
                                changed = true;
                                o.into()
                            }
                        })
                        .collect();
                    if changed {
                        kv.value = Value::Array(Array::String(out));
                    }
                }
                _ => {}
            }
        }
    }

    /// A log value with every noted value replaced in its strings.
    pub(crate) fn replace_any(&self, value: &AnyValue) -> AnyValue {
        match value {
            AnyValue::String(s) => match self.replace(s.as_str()) {
                Cow::Borrowed(_) => value.clone(),
                Cow::Owned(o) => AnyValue::String(o.into()),
            },
            AnyValue::ListAny(items) => AnyValue::ListAny(Box::new(
                items.iter().map(|v| self.replace_any(v)).collect(),
            )),
            AnyValue::Map(map) => AnyValue::Map(Box::new(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.replace_any(v)))
                    .collect(),
            )),
            other => other.clone(),
        }
    }
}

/// The secrets of the span a log record is written in, carried in its
/// [`opentelemetry::Context`] by the spans of `#[traced]` whose call-site
/// attributes hold some.
#[cfg(feature = "enabled")]
#[derive(Clone, Debug)]
pub(crate) struct SpanSecrets(pub(crate) Arc<Echo>);

/// Per thread, what the key rules decided for each key text: a call site's
/// keys are matched against the patterns once, then looked up. A set is chosen
/// by the text's address, the text is compared (so a reused address never
/// answers for another key), and each set holds two keys, the older replaced
/// first, so that two keys that share a set do not evict each other forever.
#[cfg(feature = "enabled")]
mod key_cache {
    use super::Action;
    use std::cell::RefCell;

    const SETS: usize = 256;

    struct Slot {
        rules: u64,
        addr: usize,
        text: Box<str>,
        action: Option<Action>,
    }

    /// Two slots; `newer` is the index of the one filled last.
    struct Set {
        slots: [Option<Slot>; 2],
        newer: u8,
    }

    thread_local! {
        static CACHE: RefCell<[Set; SETS]> = const {
            RefCell::new([const { Set { slots: [None, None], newer: 0 } }; SETS])
        };
    }

    #[inline]
    fn set_of(rules: u64, addr: usize, len: usize) -> usize {
        let h = (addr as u64 ^ ((len as u64) << 40) ^ (rules << 52))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 56) as usize % SETS
    }

    #[inline]
    pub(super) fn lookup(
        rules: u64,
        key: &str,
        decide: impl FnOnce() -> Option<Action>,
    ) -> Option<Action> {
        let addr = key.as_ptr() as usize;
        let index = set_of(rules, addr, key.len());
        let mut decide = Some(decide);
        let cached = CACHE
            .try_with(|cache| {
                let mut cache = cache.try_borrow_mut().ok()?;
                let set = &mut cache[index];
                for slot in set.slots.iter().flatten() {
                    if slot.rules == rules && slot.addr == addr && &*slot.text == key {
                        return Some(slot.action);
                    }
                }
                let action = (decide.take()?)();
                let older = usize::from(set.newer == 0);
                set.slots[older] = Some(Slot {
                    rules,
                    addr,
                    text: key.into(),
                    action,
                });
                set.newer = older as u8;
                Some(action)
            })
            .ok()
            .flatten();
        match (cached, decide) {
            (Some(action), _) => action,
            (None, Some(decide)) => decide(),
            (None, None) => None,
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

/// Whether the current rules hold key rules of the program's own (beyond the
/// built-in ones, which generated code checks at compile time).
#[cfg(feature = "enabled")]
static CUSTOM_KEY_RULES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes `rules` the ones metric instruments apply (`None`: none).
#[cfg(feature = "enabled")]
pub(crate) fn set_current(rules: Option<Redaction>) {
    let custom = rules.as_ref().is_some_and(|r| {
        r.rules
            .iter()
            .any(|rule| !rule.builtin && matches!(rule.matcher, Matcher::Key(_)))
    });
    CUSTOM_KEY_RULES.store(custom, Ordering::Relaxed);
    CURRENT.store(rules.map(Arc::new));
}

/// See [`CUSTOM_KEY_RULES`].
#[cfg(feature = "enabled")]
#[inline]
pub(crate) fn custom_key_rules() -> bool {
    CUSTOM_KEY_RULES.load(Ordering::Relaxed)
}

/// Redacts metric attributes with the current rules, if there are any; `None`
/// when there is nothing to do (the attributes are recorded as they are).
#[cfg(feature = "enabled")]
#[inline]
pub(crate) fn redact_metric_attributes(attributes: &[KeyValue]) -> Option<Vec<KeyValue>> {
    if attributes.is_empty() {
        return None;
    }
    let rules = CURRENT.load();
    let rules = rules.as_deref()?;
    let touches = rules.has_value_rules()
        || attributes
            .iter()
            .any(|kv| rules.key_action(kv.key.as_str()).is_some());
    if !touches {
        return None;
    }
    let mut out = attributes.to_vec();
    rules.redact_attributes(&mut out);
    Some(out)
}

/// The secrets among a `#[traced]` call site's attributes under the current
/// rules, for the log records written inside its span; `None` (nothing to
/// carry) when no string value sits under a secret key.
#[cfg(feature = "enabled")]
pub(crate) fn secrets_of(attributes: &[KeyValue]) -> Option<SpanSecrets> {
    if !attributes
        .iter()
        .any(|kv| matches!(kv.value, Value::String(_)))
    {
        return None;
    }
    let rules = CURRENT.load();
    let echo = rules.as_deref()?.secrets_in(attributes);
    (!echo.is_empty()).then(|| SpanSecrets(Arc::new(echo)))
}

#[cfg(feature = "enabled")]
impl Redaction {
    /// Redacts a log attribute: `None` deletes it.
    fn redact_any(&self, key: &str, value: &AnyValue) -> Option<AnyValue> {
        if let Some(action) = self.key_action(key) {
            return match action {
                Action::Delete => None,
                Action::Mask => Some(AnyValue::String(MASK.into())),
                Action::Hash => Some(AnyValue::String(self.hash(&any_text(value)).into())),
            };
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
        // The secrets of the span this record is written in (values masked
        // under their keys there), replaced here too.
        let echo = opentelemetry::Context::map_current(|cx| {
            cx.get::<SpanSecrets>().map(|s| Arc::clone(&s.0))
        });
        let echoed = |v: AnyValue| match &echo {
            Some(echo) => echo.replace_any(&v),
            None => v,
        };
        let attributes: Vec<(opentelemetry::Key, Option<AnyValue>)> = record
            .attributes_iter()
            .map(|(k, v)| (k.clone(), self.rules.redact_any(k.as_str(), v).map(echoed)))
            .collect();
        let body = record
            .body()
            .map(|b| echoed(self.rules.redact_any_value(b)));
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

    #[test]
    fn added_rules_decide_before_the_built_in_ones() {
        let r = Redaction::default_rules()
            .hash_key("session.token")
            .with_secret_keys();
        let mut list = attrs(&[("session.token", "abcd1234"), ("auth.token", "abcd1234")]);
        r.redact_attributes(&mut list);
        assert!(get(&list, "session.token").unwrap().starts_with("hmac:"));
        assert_eq!(get(&list, "auth.token").as_deref(), Some(MASK));
        let builtin = r.rules.iter().filter(|rule| rule.builtin).count();
        assert_eq!(
            builtin,
            SECRET_KEYS.len(),
            "appending the defaults twice adds nothing"
        );
    }

    #[test]
    fn token_counts_are_not_tokens() {
        let r = Redaction::secret_keys();
        for key in ["gen_ai.usage.input_tokens", "tokenizer", "llm.token_count"] {
            assert_eq!(r.key_action(key), None, "{key}");
        }
        for key in [
            "access_token",
            "x-auth-token",
            "session.token.value",
            "Proxy-Authorization",
        ] {
            assert_eq!(r.key_action(key), Some(Action::Mask), "{key}");
        }
    }

    #[test]
    fn the_key_cache_answers_for_the_text_not_the_address() {
        let r = Redaction::secret_keys();
        // Keys written into the same buffer: same address, different text.
        let mut buffer = String::with_capacity(16);
        for (key, secret) in [
            ("password", true),
            ("passage", false),
            ("passwd", true),
            ("pass", false),
        ] {
            buffer.clear();
            buffer.push_str(key);
            assert_eq!(r.key_action(&buffer).is_some(), secret, "{key}");
            assert_eq!(r.key_action(&buffer).is_some(), secret, "{key}, cached");
        }
        // Other rules, other answers for the same text.
        let none = Redaction::none().mask_key("passage");
        buffer.clear();
        buffer.push_str("passage");
        assert_eq!(none.key_action(&buffer), Some(Action::Mask));
        assert_eq!(r.key_action(&buffer), None);
    }

    #[test]
    fn echoed_values_are_replaced_elsewhere_in_the_span() {
        let r = Redaction::secret_keys();
        let mut echo = Echo::default();
        let mut list = attrs(&[("password", "hunter2"), ("pin", "123")]);
        r.redact_list(&mut list, Some(&mut echo));
        assert_eq!(
            echo.replace("wrong hunter2 given").as_ref(),
            "wrong [REDACTED] given"
        );
        assert_eq!(echo.replace("nothing").as_ref(), "nothing");
        let mut short = Echo::default();
        short.note("123", MASK);
        assert!(
            short.is_empty(),
            "values under four characters are not searched for"
        );
    }

    #[test]
    fn the_compile_time_check_agrees_with_the_rules() {
        let r = Redaction::secret_keys();
        for key in [
            "password",
            "db.Password",
            "http.request.header.authorization",
            "x-api-key",
            "access_token",
            "gen_ai.usage.input_tokens",
            "user.name",
            "route",
            "tokenizer",
            "session.token.value",
            "client_secret",
            "PRIVATE_KEY",
            "cookie",
            "",
            "*",
        ] {
            assert_eq!(
                builtin_secret(key.as_bytes()),
                r.key_action(key).is_some(),
                "{key}"
            );
        }
    }
}
