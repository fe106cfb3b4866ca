//! Environment variable substitution, as the OpenTelemetry configuration data
//! model specifies it: in scalar values only (never in keys), before the value's
//! type is resolved, and not recursively.
//!
//! - `${NAME}` or `${env:NAME}`: the variable's value, empty when it is unset
//!   (the name is then reported to the caller, which says so: an unset
//!   variable is more often a mistake than a choice);
//! - `${NAME:-default}`: `default` when the variable is unset or empty;
//! - `$$`: a literal `$` (so `$${NAME}` is the text `${NAME}`);
//! - any other `${...}` (a bad name, `${NAME:?err}`, no closing `}`) is an error.
//!
//! `NAME` matches `[a-zA-Z_][a-zA-Z0-9_]*`.

use std::borrow::Cow;

/// `text` with its references replaced, or why a reference is invalid. The
/// names of unset variables referenced without a default are added to `unset`.
pub(crate) fn substitute<'a>(
    text: &'a str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<Cow<'a, str>, String> {
    if !text.contains('$') {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let close = body
                .find(['}', '\n'])
                .filter(|&end| body.as_bytes()[end] == b'}')
                .ok_or_else(|| {
                    let shown: String = body.chars().take_while(|c| *c != '\n').collect();
                    format!("invalid substitution `${{{shown}`: no closing `}}`")
                })?;
            out.push_str(&reference(&body[..close], env, unset)?);
            rest = &body[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The value of one `${...}` whose inside is `inner`.
fn reference(
    inner: &str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    let invalid = || {
        format!(
            "invalid substitution `${{{inner}}}`: expected `${{NAME}}` or `${{NAME:-default}}` \
             with NAME made of letters, digits and `_`, not starting with a digit"
        )
    };
    let body = inner.strip_prefix("env:").unwrap_or(inner);
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, tail) = body.split_at(name_len);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let value = env(name);
    if tail.is_empty() {
        if value.is_none() && !unset.iter().any(|n| n == name) {
            unset.push(name.to_owned());
        }
        return Ok(value.unwrap_or_default());
    }
    let default = tail.strip_prefix(":-").ok_or_else(invalid)?;
    Ok(value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("collector".into()),
            "EMPTY" => Some(String::new()),
            "NESTED" => Some("${HOST}".into()),
            _ => None,
        }
    }

    fn sub(text: &str) -> Result<String, String> {
        substitute(text, &env, &mut Vec::new()).map(Cow::into_owned)
    }

    fn unset(text: &str) -> Vec<String> {
        let mut unset = Vec::new();
        substitute(text, &env, &mut unset).unwrap();
        unset
    }

    #[test]
    fn unset_variables_without_a_default_are_reported() {
        assert_eq!(unset("${UNSET}"), ["UNSET"]);
        assert_eq!(unset("${env:UNSET}:${OTHER}/${UNSET}"), ["UNSET", "OTHER"]);
        // A default, a value (even empty) or an escaped reference: nothing to say.
        assert!(unset("${UNSET:-x}").is_empty());
        assert!(unset("${UNSET:-}").is_empty());
        assert!(unset("${EMPTY}").is_empty());
        assert!(unset("${HOST}").is_empty());
        assert!(unset("$${UNSET}").is_empty());
    }

    #[test]
    fn references_are_replaced() {
        assert_eq!(sub("http://${HOST}:4318").unwrap(), "http://collector:4318");
        assert_eq!(sub("${env:HOST}").unwrap(), "collector");
        assert_eq!(sub("${UNSET}").unwrap(), "");
        assert_eq!(sub("${EMPTY}").unwrap(), "");
        assert_eq!(sub("no dollar").unwrap(), "no dollar");
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(
            sub("${UNSET:-http://localhost:4318}").unwrap(),
            "http://localhost:4318"
        );
        assert_eq!(sub("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(sub("${HOST:-fallback}").unwrap(), "collector");
        assert_eq!(sub("${UNSET:-}").unwrap(), "");
        assert_eq!(sub("${UNSET:-a:b-c}").unwrap(), "a:b-c");
    }

    #[test]
    fn dollars_escape_and_nothing_is_recursive() {
        assert_eq!(sub("$${HOST}").unwrap(), "${HOST}");
        assert_eq!(sub("$$$${HOST}").unwrap(), "$${HOST}");
        assert_eq!(sub("$$${HOST}").unwrap(), "$collector");
        assert_eq!(sub("cost: 5$ or $5").unwrap(), "cost: 5$ or $5");
        assert_eq!(sub("${NESTED}").unwrap(), "${HOST}");
    }

    #[test]
    fn malformed_references_are_errors() {
        for bad in [
            "${HOST",
            "${1HOST}",
            "${}",
            "${HOST:?required}",
            "${HO ST}",
            "${A\n}",
        ] {
            let err = sub(bad).unwrap_err();
            assert!(err.starts_with("invalid substitution"), "{bad}: {err}");
        }
    }
}
