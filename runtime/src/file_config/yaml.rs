//! YAML to a tree of [`Node`]s that remember where they were written.
//!
//! Built from `saphyr-parser`'s events, so every key and value keeps its line and
//! column for error messages. Scalars go through environment substitution first
//! (see `subst.rs`) and are typed afterwards by the YAML 1.2 core schema: a plain
//! `${PORT}` whose value is `4318` is an integer, a quoted `"${PORT}"` a string.
//! Anchors and aliases work; tags other than the core ones (`!!str`, ...),
//! non-scalar keys, duplicate keys and several documents in one file are errors.

use super::error::{at, ConfigError, Pos};
use super::subst;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use std::collections::HashMap;

/// A value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) pos: Pos,
}

/// A mapping key and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// What the value is, for "expected ..., found ..." messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::Null => "nothing (null)".to_owned(),
            Value::Bool(b) => format!("a boolean ({b})"),
            Value::Int(i) => format!("an integer ({i})"),
            Value::Float(f) => format!("a number ({f:?})"),
            Value::Str(s) => {
                let shown: String = s.chars().take(40).collect();
                let more = if s.chars().count() > 40 { "..." } else { "" };
                format!("a string ({shown:?}{more})")
            }
            Value::Seq(_) => "a list".to_owned(),
            Value::Map(_) => "a mapping".to_owned(),
        }
    }
}

fn pos(m: Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pos: Pos,
        anchor: usize,
        key: Option<Key>,
    },
}

/// Parses `text` (named `file` in messages), substituting `env` into scalar values.
/// `Ok(None)` for a file with no document (empty, or only comments). Each
/// value that references an unset variable without a default adds a warning
/// to `warnings`, naming the place, the key and the variable.
pub(crate) fn parse(
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<Node>, ConfigError> {
    let error = |p: Pos, message: String| ConfigError::new(file, Some(p), message);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let p = pos(*e.marker());
            error(p, format!("invalid YAML at {}: {}", at(file, p), e.info()))
        })?;
        let here = pos(span.start);
        let awaiting_key = matches!(stack.last(), Some(Frame::Map { key: None, .. }));
        let not_a_key = |what: &str| {
            error(
                here,
                format!(
                    "{what} as a key at {}: keys are plain names",
                    at(file, here)
                ),
            )
        };
        let is_map = matches!(event, Event::MappingStart(..));
        let (node, anchor) = match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(error(
                        here,
                        format!(
                            "a second YAML document at {}: a configuration file holds one",
                            at(file, here)
                        ),
                    ));
                }
                continue;
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if awaiting_key {
                    return Err(not_a_key("a list or mapping"));
                }
                let expected = if is_map { "map" } else { "seq" };
                if let Some(tag) =
                    tag.filter(|t| !(t.is_yaml_core_schema() && t.suffix == expected))
                {
                    return Err(error(
                        here,
                        format!("unsupported tag `{tag}` at {}", at(file, here)),
                    ));
                }
                stack.push(if is_map {
                    Frame::Map {
                        entries: Vec::new(),
                        pos: here,
                        anchor,
                        key: None,
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        pos: here,
                        anchor,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { items, pos, anchor }) => (
                    Node {
                        value: Value::Seq(items),
                        pos,
                    },
                    anchor,
                ),
                Some(Frame::Map {
                    entries,
                    pos,
                    anchor,
                    ..
                }) => (
                    Node {
                        value: Value::Map(entries),
                        pos,
                    },
                    anchor,
                ),
                None => continue,
            },
            Event::Alias(id) => {
                if awaiting_key {
                    return Err(not_a_key("an alias"));
                }
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| error(here, format!("unknown alias at {}", at(file, here))))?;
                (node, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                if awaiting_key {
                    if let Some(tag) =
                        tag.filter(|t| !(t.is_yaml_core_schema() && t.suffix == "str"))
                    {
                        return Err(not_a_key(&format!("a value tagged `{tag}`")));
                    }
                    let Some(Frame::Map { entries, key, .. }) = stack.last_mut() else {
                        unreachable!("awaiting a key means a mapping is open")
                    };
                    let name = text.into_owned();
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                        return Err(error(
                            here,
                            format!(
                                "duplicate key `{name}` at {} (first at {})",
                                at(file, here),
                                at(file, first.pos)
                            ),
                        ));
                    }
                    *key = Some(Key { name, pos: here });
                    continue;
                }
                let mut unset = Vec::new();
                let value = scalar(&text, style, tag.as_deref(), env, &mut unset)
                    .map_err(|m| error(here, format!("{m} at {}", at(file, here))))?;
                if !unset.is_empty() {
                    let key = match stack.last() {
                        Some(Frame::Map { key: Some(key), .. }) => format!("`{}`", key.name),
                        _ => "a list item".to_owned(),
                    };
                    warnings.push(unset_warning(&at(file, here), &key, &unset, &value));
                }
                (Node { value, pos: here }, anchor)
            }
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => {
                let k = key.take().expect("a mapping value follows its key");
                entries.push((k, node));
            }
        }
    }
    Ok(root)
}

/// What is said of a value at `place` (of `key`) that references the unset
/// variables `unset` without a default and became `value`.
fn unset_warning(place: &str, key: &str, unset: &[String], value: &Value) -> String {
    let references = unset
        .iter()
        .map(|name| format!("${{{name}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (names, are) = match unset {
        [one] => (one.clone(), "is"),
        _ => (unset.join(", "), "are"),
    };
    let became = if *value == Value::Null {
        "empty, so it is null, as if the key were not there".to_owned()
    } else {
        value.describe()
    };
    format!(
        "{place}: {key} references {references} without a default and {names} {are} not set: \
         the value is {became} (`${{{first}:-value}}` gives a default)",
        first = unset[0],
    )
}

/// A scalar value: substituted, then typed (plain scalars by the core schema,
/// quoted and block scalars as strings, tagged ones as their tag says).
/// Unset variables referenced without a default are added to `unset`.
fn scalar(
    raw: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<Value, String> {
    let text = subst::substitute(raw, env, unset)?;
    match tag {
        None if style == ScalarStyle::Plain => core(&text),
        None => Ok(Value::Str(text.into_owned())),
        Some(tag) if tag.is_yaml_core_schema() => {
            let typed = if tag.suffix == "str" {
                return Ok(Value::Str(text.into_owned()));
            } else {
                core(&text)?
            };
            let fits = match (tag.suffix.as_str(), &typed) {
                ("null", Value::Null) | ("bool", Value::Bool(_)) | ("int", Value::Int(_)) => true,
                ("float", Value::Float(_)) => true,
                ("float", Value::Int(i)) => {
                    #[allow(clippy::cast_precision_loss)]
                    return Ok(Value::Float(*i as f64));
                }
                _ => false,
            };
            if fits {
                Ok(typed)
            } else {
                Err(format!("`{tag} {text}` is not a valid {}", tag.suffix))
            }
        }
        Some(tag) => Err(format!("unsupported tag `{tag}`")),
    }
}

/// The YAML 1.2 core schema's reading of a plain scalar.
fn core(text: &str) -> Result<Value, String> {
    Ok(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => {
            let out_of_range = || format!("the integer `{text}` is out of range");
            if let Some(hex) = text.strip_prefix("0x").filter(|h| all_digits(h, 16)) {
                Value::Int(i64::from_str_radix(hex, 16).map_err(|_| out_of_range())?)
            } else if let Some(oct) = text.strip_prefix("0o").filter(|o| all_digits(o, 8)) {
                Value::Int(i64::from_str_radix(oct, 8).map_err(|_| out_of_range())?)
            } else if all_digits(text.strip_prefix(['-', '+']).unwrap_or(text), 10) {
                Value::Int(text.parse().map_err(|_| out_of_range())?)
            } else if is_float(text) {
                Value::Float(
                    text.parse()
                        .map_err(|_| format!("`{text}` is not a number"))?,
                )
            } else {
                Value::Str(text.to_owned())
            }
        }
    })
}

fn all_digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()),
        None => all_digits(mantissa, 10),
    };
    let exponent_ok =
        exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("4318".into()),
            "ON" => Some("true".into()),
            "MAP" => Some("a: b".into()),
            _ => None,
        }
    }

    fn one(yaml: &str) -> Value {
        let root = parse("t.yaml", yaml, &env, &mut Vec::new())
            .unwrap()
            .unwrap();
        let Value::Map(mut entries) = root.value else {
            panic!("not a map")
        };
        entries.remove(0).1.value
    }

    #[test]
    fn plain_scalars_are_typed_after_substitution() {
        assert_eq!(one("k: ${PORT}"), Value::Int(4318));
        assert_eq!(one("k: \"${PORT}\""), Value::Str("4318".into()));
        assert_eq!(one("k: ${ON}"), Value::Bool(true));
        assert_eq!(one("k: ${UNSET}"), Value::Null);
        assert_eq!(one("k: ${MAP}"), Value::Str("a: b".into()));
        assert_eq!(one("k: 0x10"), Value::Int(16));
        assert_eq!(one("k: 0.25"), Value::Float(0.25));
        assert_eq!(one("k: 1e3"), Value::Float(1000.0));
        assert_eq!(one("k: .5"), Value::Float(0.5));
        assert_eq!(one("k: 1.0.0"), Value::Str("1.0.0".into()));
        assert_eq!(one("k: !!str 12"), Value::Str("12".into()));
        assert_eq!(one("k: !!float 12"), Value::Float(12.0));
        assert_eq!(one("k:"), Value::Null);
        assert_eq!(one("k: ~"), Value::Null);
    }

    #[test]
    fn unset_variables_without_a_default_are_said_once_each() {
        let yaml = "sampler:\n  ratio: ${UNSET}\nurl: \"http://${UNSET}:${PORT}/${OTHER}\"\n\
                    list:\n  - ${UNSET}\ndefaulted: ${UNSET:-1}\nalias: &a ${ALSO}\ncopy: *a\n";
        let mut warnings = Vec::new();
        parse("t.yaml", yaml, &env, &mut warnings).unwrap().unwrap();
        assert_eq!(
            warnings,
            [
                "t.yaml:2:10: `ratio` references ${UNSET} without a default and UNSET is not \
                 set: the value is empty, so it is null, as if the key were not there \
                 (`${UNSET:-value}` gives a default)",
                "t.yaml:3:6: `url` references ${UNSET}, ${OTHER} without a default and UNSET, \
                 OTHER are not set: the value is a string (\"http://:4318/\") \
                 (`${UNSET:-value}` gives a default)",
                "t.yaml:5:5: a list item references ${UNSET} without a default and UNSET is not \
                 set: the value is empty, so it is null, as if the key were not there \
                 (`${UNSET:-value}` gives a default)",
                "t.yaml:7:8: `alias` references ${ALSO} without a default and ALSO is not set: \
                 the value is empty, so it is null, as if the key were not there \
                 (`${ALSO:-value}` gives a default)",
            ]
        );
    }

    #[test]
    fn keys_are_not_substituted() {
        let root = parse("t.yaml", "${PORT}: 1", &env, &mut Vec::new())
            .unwrap()
            .unwrap();
        let Value::Map(entries) = root.value else {
            panic!()
        };
        assert_eq!(entries[0].0.name, "${PORT}");
    }

    #[test]
    fn positions_are_one_based() {
        let root = parse("t.yaml", "a:\n  bb: 1\n", &env, &mut Vec::new())
            .unwrap()
            .unwrap();
        let Value::Map(entries) = root.value else {
            panic!()
        };
        let Value::Map(inner) = &entries[0].1.value else {
            panic!()
        };
        assert_eq!(inner[0].0.pos, Pos { line: 2, col: 3 });
        assert_eq!(inner[0].1.pos, Pos { line: 2, col: 7 });
    }

    #[test]
    fn anchors_and_aliases_copy_values() {
        let root = parse("t.yaml", "a: &x {b: 1}\nc: *x\n", &env, &mut Vec::new())
            .unwrap()
            .unwrap();
        let Value::Map(entries) = root.value else {
            panic!()
        };
        assert_eq!(entries[0].1.value, entries[1].1.value);
    }

    #[test]
    fn structural_problems_are_errors() {
        let err = |y: &str| {
            parse("t.yaml", y, &env, &mut Vec::new())
                .unwrap_err()
                .to_string()
        };
        assert!(err("a: 1\na: 2\n")
            .starts_with("duplicate key `a` at t.yaml:2:1 (first at t.yaml:1:1)"));
        assert!(err("a: 1\n---\nb: 2\n").starts_with("a second YAML document"));
        assert!(err("? [a]\n: 1\n").contains("as a key"));
        assert!(err("a: !custom 1\n").contains("unsupported tag"));
        assert!(err("a: ${X\n").contains("invalid substitution"));
        assert!(err("a: [1, 2\n").starts_with("invalid YAML at t.yaml:"));
        assert_eq!(
            parse("t.yaml", "# nothing\n", &env, &mut Vec::new()).unwrap(),
            None
        );
    }
}
