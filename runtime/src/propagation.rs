//! W3C trace context and baggage across process boundaries.
//!
//! `init` installs the W3C `traceparent`/`tracestate` propagator
//! ([`StrictTraceContext`], Trace Context Level 1 and Level 2) and the `baggage`
//! propagator globally. [`inject`] writes the current context into outgoing headers
//! and [`extract`] reads an incoming one.
//!
//! ```
//! # use traced_runtime as traced;
//! use std::collections::HashMap;
//!
//! let mut headers = HashMap::new();
//! traced::propagation::inject(&mut headers);
//! let parent = traced::propagation::extract(&headers);
//! # let _ = parent;
//! ```
//!
//! # What is read
//!
//! A `traceparent` is used only when it is the request's only one and is exactly
//! `version-traceid-parentid-flags`:
//! - two lowercase hex digits of version, not `ff`; version `00` is exactly 55
//!   characters, a later version is read by the `00` rules for its first 55
//!   characters and may go on after a `-` (what follows is not read);
//! - a trace id of 32 and a parent id of 16 lowercase hex digits, neither all zeros;
//! - two lowercase hex digits of flags, of which `sampled` (`01`) and `random`
//!   (`02`) are kept and the others set to zero;
//! - spaces and tabs around the value are allowed.
//!
//! Anything else, and two or more `traceparent` headers, are ignored: the span
//! started under the result begins a new trace, and the `tracestate` is not read.
//!
//! The `tracestate` is read only with a valid `traceparent`. Several `tracestate`
//! headers are one list, joined in order. The list is kept when every member is
//! valid, and dropped whole (never sent on) otherwise, while the `traceparent` is
//! still used:
//! - members are separated by commas, with optional spaces and tabs around them;
//!   empty and blank members are allowed and skipped, so an empty header is an
//!   empty list;
//! - at most 32 members;
//! - a member is `key=value`. A key is a lowercase letter or a digit, then up
//!   to 255 of `a-z 0-9 _ - * / @` (the Level 2 grammar, `key = ( lcalpha /
//!   DIGIT ) 0*255 ( keychar )`). It accepts every Level 1 key (simple and
//!   multi-tenant `tenant@system` ones) and also those Level 1 refused (`1abc`,
//!   `foo@`, `a@b@c`, a system of 15), which a Level 2 peer may send;
//! - a value is 1 to 256 printable ASCII characters (`0x20`-`0x7E`) but `,` and
//!   `=`, not ending in a space; leading spaces are part of it;
//! - a key that comes again is dropped, the first member with it is kept.
//!
//! # What is written
//!
//! [`inject`] writes nothing without a valid span in the context. Otherwise it
//! writes a version `00` `traceparent` with the span's ids and its `sampled` and
//! `random` flags (no other flag):
//! - the `random` flag of an incoming `traceparent` (or of a parent `SpanContext`)
//!   stays on every outgoing one of the same trace, and stays off when it was off,
//!   even through spans the sampler dropped (whose own flags the SDK resets);
//! - a trace started by the tracer `init` installed has it, as the SDK's id
//!   generator draws the whole trace id at random.
//!
//! The `tracestate` is written when the span's trace state has members that are
//! valid as above (only those are written, at most 32, each key once); an empty
//! one is not written.
//!
//! The incoming `tracestate` is the parent's
//! [`TraceState`](opentelemetry::trace::TraceState), as the SDK's samplers and
//! span processors see it. That type refuses a few keys the W3C grammar allows (a
//! system of 14 characters after the `@`); such members are left out of it but
//! still sent on, in their place, while the trace state is not changed in the
//! process, and after the others when it is.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::Context;

/// The propagators `init` installs by default: W3C trace context (strict, see
/// [`StrictTraceContext`]) and W3C baggage.
#[cfg(feature = "enabled")]
pub fn default_propagator() -> opentelemetry::propagation::TextMapCompositePropagator {
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry_sdk::propagation::BaggagePropagator;
    TextMapCompositePropagator::new(vec![
        Box::new(StrictTraceContext::default()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// Writes the current context into `carrier` with the global propagator.
pub fn inject(carrier: &mut dyn Injector) {
    inject_context(&Context::current(), carrier);
}

/// Writes `cx` into `carrier` with the global propagator.
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, carrier));
}

/// Reads a context from `carrier` alone with the global propagator: nothing of
/// the current context comes along, so a carrier without a valid `traceparent`
/// gives a context without a span (a parent of nothing: the span starts a new
/// trace; a link to nothing: no link).
///
/// Use it as `#[traced(parent = traced::propagation::extract(&headers))]`, or in
/// `traced::link!(traced::propagation::extract(&message.headers))`.
///
/// A carrier that can hold a header several times should return every value from
/// [`Extractor::get_all`] (as `traced::http::HeaderExtractor` does), so that two
/// `traceparent` headers are seen as two and several `tracestate` headers are
/// joined.
pub fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&Context::new(), carrier)
    })
}

#[cfg(feature = "enabled")]
const TRACEPARENT: &str = "traceparent";
#[cfg(feature = "enabled")]
const TRACESTATE: &str = "tracestate";
/// The `sampled` trace flag.
const SAMPLED: u8 = 0x01;
/// The `random` trace flag (Level 2): the trace id's right-most 7 bytes are random.
/// The `random` trace flag of W3C Trace Context Level 2.
pub(crate) const RANDOM: u8 = 0x02;
/// The most members a `tracestate` list may have.
const MAX_MEMBERS: usize = 32;
/// Optional whitespace (RFC 9110): spaces and horizontal tabs.
const OWS: [char; 2] = [' ', '\t'];

/// The W3C trace-context propagator (Level 1 and Level 2), strict on what it
/// accepts and on what it sends: see the [module documentation](self) for the
/// rules. It keeps the SDK's types: the parent is a remote
/// [`SpanContext`](opentelemetry::trace::SpanContext) whose
/// [`TraceState`](opentelemetry::trace::TraceState) holds the `tracestate`.
///
/// ```
/// # use traced_runtime as traced;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use std::collections::HashMap;
///
/// let propagator = traced::propagation::StrictTraceContext::default();
/// let headers = HashMap::from([
///     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".to_owned()),
///     ("tracestate".to_owned(), "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE".to_owned()),
/// ]);
/// let cx = propagator.extract(&headers);
/// let parent = cx.span().span_context().clone();
/// assert!(parent.is_remote() && parent.is_sampled());
/// assert_eq!(parent.trace_state().get("congo"), Some("t61rcWkgMzE"));
///
/// // An invalid tracestate (here an empty value) is dropped, the traceparent kept.
/// let headers = HashMap::from([
///     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
///     ("tracestate".to_owned(), "foo=,bar=3".to_owned()),
/// ]);
/// let cx = propagator.extract(&headers);
/// assert!(cx.span().span_context().is_valid());
/// assert_eq!(cx.span().span_context().trace_state().header(), "");
/// ```
#[cfg(feature = "enabled")]
#[derive(Debug, Default)]
pub struct StrictTraceContext {
    _private: (),
}

/// The fields [`StrictTraceContext`] reads and writes.
#[cfg(feature = "enabled")]
static FIELDS: std::sync::LazyLock<[String; 2]> =
    std::sync::LazyLock::new(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]);

/// In a context: what the headers sent in a trace carry that its span contexts
/// cannot hold. Children's contexts inherit it.
#[cfg(feature = "enabled")]
#[derive(Debug)]
struct TraceExtras {
    trace_id: opentelemetry::trace::TraceId,
    /// The `random` flag, of an incoming `traceparent` (spans the sampler drops get
    /// flags `00` from the SDK) or of a trace started here ([`random_trace`]).
    random: bool,
    /// The whole `tracestate` list, when the SDK's `TraceState` refuses some of its
    /// members (it takes at most 13 characters after an `@`, where the W3C grammar
    /// allows 14), with the `TraceState` of the members it holds.
    tracestate: Option<(opentelemetry::trace::TraceState, Vec<(String, String)>)>,
}

#[cfg(feature = "enabled")]
impl opentelemetry::propagation::TextMapPropagator for StrictTraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        use opentelemetry::trace::TraceContextExt;
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let extras = cx
            .get::<TraceExtras>()
            .filter(|extras| extras.trace_id == sc.trace_id());
        let mut flags = sc.trace_flags().to_u8() & (SAMPLED | RANDOM);
        if extras.is_some_and(|extras| extras.random) {
            flags |= RANDOM;
        }
        injector.set(
            TRACEPARENT,
            format!("00-{}-{}-{flags:02x}", sc.trace_id(), sc.span_id()),
        );
        let whole = extras.and_then(|extras| extras.tracestate.as_ref());
        if let Some(state) = outgoing_tracestate(sc.trace_state(), whole) {
            injector.set(TRACESTATE, state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
        let Some(parent) = incoming_traceparent(extractor) else {
            return cx.clone();
        };
        let members = extractor
            .get_all(TRACESTATE)
            .and_then(|values| parse_tracestate(values.iter().copied()))
            .unwrap_or_default();
        let (state, whole) = match TraceState::from_key_value(members.iter().copied()) {
            Ok(state) => (state, None),
            Err(_) => {
                let held = members
                    .iter()
                    .copied()
                    .filter(|&member| TraceState::from_key_value([member]).is_ok());
                let state = TraceState::from_key_value(held).unwrap_or_default();
                let owned = members
                    .iter()
                    .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                (state.clone(), Some((state, owned)))
            }
        };
        let sc = SpanContext::new(
            parent.trace_id,
            parent.span_id,
            TraceFlags::new(parent.flags),
            true,
            state,
        );
        let random = parent.flags & RANDOM != 0;
        let cx = cx.with_remote_span_context(sc);
        // A context that said otherwise for this trace is overruled.
        let stale = cx
            .get::<TraceExtras>()
            .is_some_and(|extras| extras.trace_id == parent.trace_id);
        if random || whole.is_some() || stale {
            cx.with_value(TraceExtras {
                trace_id: parent.trace_id,
                random,
                tracestate: whole,
            })
        } else {
            cx
        }
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        opentelemetry::propagation::text_map_propagator::FieldIter::new(&FIELDS[..])
    }
}

/// `cx` with a span that the tracer `init` installed started in a new trace: its
/// trace id comes from the SDK's random id generator (the only one `init` installs),
/// so the `traceparent` headers sent in that trace carry the `random` flag.
#[cfg(feature = "enabled")]
pub(crate) fn random_trace(cx: Context) -> Context {
    use opentelemetry::trace::TraceContextExt;
    let trace_id = cx.span().span_context().trace_id();
    with_random_flag(cx, trace_id)
}

/// A context with `parent` as its remote span, whose `random` flag stays on the
/// headers sent in its trace even under spans the sampler drops.
#[cfg(feature = "enabled")]
pub(crate) fn remote_parent(cx: &Context, parent: opentelemetry::trace::SpanContext) -> Context {
    use opentelemetry::trace::TraceContextExt;
    let (trace_id, random) = (
        parent.trace_id(),
        parent.trace_flags().to_u8() & RANDOM != 0,
    );
    let cx = cx.with_remote_span_context(parent);
    if random {
        with_random_flag(cx, trace_id)
    } else {
        cx
    }
}

/// `cx` where the headers sent in trace `trace_id` carry the `random` flag.
#[cfg(feature = "enabled")]
fn with_random_flag(cx: Context, trace_id: opentelemetry::trace::TraceId) -> Context {
    if trace_id == opentelemetry::trace::TraceId::INVALID {
        return cx;
    }
    cx.with_value(TraceExtras {
        trace_id,
        random: true,
        tracestate: None,
    })
}

/// The request's `traceparent`, when it has exactly one and that one is valid.
#[cfg(feature = "enabled")]
fn incoming_traceparent(extractor: &dyn Extractor) -> Option<Traceparent> {
    match extractor.get_all(TRACEPARENT)?.as_slice() {
        [only] => parse_traceparent(only),
        _ => None,
    }
}

/// The `tracestate` to send for `state`: its valid members (each key once, at most
/// 32), or nothing when none is.
///
/// `whole` is the incoming list when `state` could not hold all of it: sent as it
/// came while `state` is still what was made of it; after a change, the members
/// `state` could not hold follow those of `state`.
#[cfg(feature = "enabled")]
fn outgoing_tracestate(
    state: &opentelemetry::trace::TraceState,
    whole: Option<&(opentelemetry::trace::TraceState, Vec<(String, String)>)>,
) -> Option<String> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let candidates: Box<dyn Iterator<Item = (&str, &str)>> = match whole {
        Some((held, list)) if held == state => {
            Box::new(list.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        }
        Some((held, list)) => Box::new(
            state.into_iter().chain(
                list.iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .filter(|(k, _)| held.get(k).is_none()),
            ),
        ),
        None => Box::new(state.into_iter()),
    };
    for (key, value) in candidates {
        if members.len() < MAX_MEMBERS
            && valid_key(key)
            && valid_value(value)
            && !members.iter().any(|(k, _)| *k == key)
        {
            members.push((key, value));
        }
    }
    if members.is_empty() {
        return None;
    }
    let mut header = String::new();
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        header.push_str(key);
        header.push('=');
        header.push_str(value);
    }
    Some(header)
}

/// A parsed `traceparent`: ids and the flags kept (`sampled` and `random`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Traceparent {
    trace_id: opentelemetry::trace::TraceId,
    span_id: opentelemetry::trace::SpanId,
    flags: u8,
}

/// Lowercase hex digits as a number; `None` for anything else or more than 32.
fn lower_hex(digits: &[u8]) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    digits.iter().try_fold(0u128, |n, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(n << 4 | u128::from(digit))
    })
}

/// Parses one `traceparent` value by the rules of the module documentation.
fn parse_traceparent(header: &str) -> Option<Traceparent> {
    use opentelemetry::trace::{SpanId, TraceId};
    let h = header.trim_matches(OWS).as_bytes();
    if h.len() < 55 || h[2] != b'-' || h[35] != b'-' || h[52] != b'-' {
        return None;
    }
    let version = lower_hex(&h[..2])?;
    match version {
        0xff => return None,
        0 if h.len() != 55 => return None,
        // A later version may go on, after a dash.
        _ if h.len() > 55 && h[55] != b'-' => return None,
        _ => {}
    }
    let trace_id = lower_hex(&h[3..35]).filter(|&id| id != 0)?;
    let span_id = lower_hex(&h[36..52]).filter(|&id| id != 0)?;
    let flags = lower_hex(&h[53..55])?;
    Some(Traceparent {
        trace_id: TraceId::from(trace_id),
        span_id: SpanId::from(u64::try_from(span_id).ok()?),
        flags: u8::try_from(flags).ok()? & (SAMPLED | RANDOM),
    })
}

/// Whether `header` is a `traceparent` this module accepts (see the module
/// documentation).
///
/// ```
/// # use traced_runtime as traced;
/// use traced::propagation::valid_traceparent;
///
/// assert!(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
/// assert!(valid_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"));
/// assert!(!valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"));
/// assert!(!valid_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
/// ```
pub fn valid_traceparent(header: &str) -> bool {
    parse_traceparent(header).is_some()
}

/// Whether `values`, the `tracestate` headers of a request in order, make a list
/// this module accepts (see the module documentation). No header, or empty ones,
/// make a valid empty list.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::propagation::valid_tracestate;
///
/// assert!(valid_tracestate(["rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE"]));
/// assert!(valid_tracestate(["", " , "]));
/// assert!(valid_tracestate(["tenant1@vendor=x"]));
/// assert!(!valid_tracestate(["foo="]));
/// assert!(!valid_tracestate(["Foo=1"]));
/// ```
pub fn valid_tracestate<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    parse_tracestate(values).is_some()
}

/// The members of the `tracestate` list made of `values`, in order, each key once;
/// `None` when the list is invalid.
fn parse_tracestate<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<(&'a str, &'a str)>> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut count = 0;
    for value in values {
        for member in value.split(',') {
            let member = member.trim_matches(OWS);
            if member.is_empty() {
                continue;
            }
            let (key, value) = member.split_once('=')?;
            count += 1;
            if count > MAX_MEMBERS || !valid_key(key) || !valid_value(value) {
                return None;
            }
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, value));
            }
        }
    }
    Some(members)
}

/// A `tracestate` key: `simple-key` or `tenant-id "@" system-id`.
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    let keychar = |c: &u8| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
    };
    match b.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_lowercase() || first.is_ascii_digit())
                && rest.len() <= 255
                && rest.iter().all(keychar)
        }
        None => false,
    }
}

/// A `tracestate` value: 1 to 256 of `0x20`-`0x7E` but `,` and `=`, not ending in
/// a space.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN_ID: &str = "00f067aa0ba902b7";

    fn parent(header: &str) -> Option<(String, String, u8)> {
        parse_traceparent(header).map(|p| (p.trace_id.to_string(), p.span_id.to_string(), p.flags))
    }

    #[test]
    fn traceparent_checks() {
        assert!(valid_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        ));
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.later",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            // Multi-byte characters where the dashes go: no slicing inside one.
            "00\u{e9}4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            assert!(!valid_traceparent(bad), "{bad}");
        }
    }

    #[test]
    fn traceparent_fields_and_flags() {
        let id = |flags: u8| Some((TRACE_ID.to_owned(), SPAN_ID.to_owned(), flags));
        assert_eq!(parent(&format!("00-{TRACE_ID}-{SPAN_ID}-01")), id(0x01));
        assert_eq!(parent(&format!("00-{TRACE_ID}-{SPAN_ID}-02")), id(0x02));
        assert_eq!(parent(&format!("00-{TRACE_ID}-{SPAN_ID}-03")), id(0x03));
        // Flags this version does not define are set to zero.
        assert_eq!(parent(&format!("00-{TRACE_ID}-{SPAN_ID}-ff")), id(0x03));
        assert_eq!(parent(&format!("00-{TRACE_ID}-{SPAN_ID}-04")), id(0x00));
        assert_eq!(
            parent(&format!("cc-{TRACE_ID}-{SPAN_ID}-09-what")),
            id(0x01)
        );
        assert_eq!(parent(&format!("01-{TRACE_ID}-{SPAN_ID}-01-")), id(0x01));
        assert_eq!(
            parent(&format!(" \t00-{TRACE_ID}-{SPAN_ID}-01\t ")),
            id(0x01)
        );
    }

    #[test]
    fn tracestate_keys() {
        for good in [
            "a",
            "foo",
            "abcdefghijklmnopqrstuvwxyz0123456789_-*/",
            "0tenant@vendor",
            "tenant@v",
            "t@abcdefghijklmn",
        ] {
            assert!(valid_key(good), "{good}");
        }
        let long = "z".repeat(256);
        let tenant = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        assert!(valid_key(&long) && valid_key(&tenant));
        // Level 2 keys Level 1 refused.
        for good in [
            format!("{}@v", "t".repeat(242)),
            format!("t@{}", "v".repeat(15)),
            "1simple".into(),
            "foo@".into(),
            "foo@@bar".into(),
            "foo@bar@baz".into(),
            "tenant@0vendor".into(),
            "0".into(),
        ] {
            assert!(valid_key(&good), "{good}");
        }
        for bad in [
            String::new(),
            "z".repeat(257),
            "Foo".into(),
            "foo.bar".into(),
            "foo ".into(),
            "@foo".into(),
            "_foo".into(),
            "*".into(),
            "k\u{e9}y".into(),
        ] {
            assert!(!valid_key(&bad), "{bad}");
        }
    }

    #[test]
    fn tracestate_values() {
        let all: String = (0x20u8..=0x7e)
            .filter(|c| !matches!(c, b',' | b'='))
            .map(char::from)
            .collect();
        for good in ["1", " leading", "a b", "~", &all, &"v".repeat(256)] {
            assert!(valid_value(good), "{good:?}");
        }
        for bad in [
            "",
            "trailing ",
            "a=b",
            "a,b",
            "tab\tin",
            "\u{7f}",
            "\u{e9}",
            &"v".repeat(257),
        ] {
            assert!(!valid_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn tracestate_lists() {
        let parse = |values: &[&'static str]| parse_tracestate(values.iter().copied());
        assert_eq!(parse(&[]), Some(vec![]));
        assert_eq!(parse(&[""]), Some(vec![]));
        assert_eq!(parse(&[" \t , ,"]), Some(vec![]));
        assert_eq!(
            parse(&["foo=1 \t , \t bar=2", "", "baz= 3\t"]),
            Some(vec![("foo", "1"), ("bar", "2"), ("baz", " 3")])
        );
        assert_eq!(parse(&["foo=1,foo=2", "foo=3"]), Some(vec![("foo", "1")]));
        for bad in [
            &["foo"][..],
            &["foo="],
            &["foo=,bar=3"],
            &["foo=bar=baz"],
            &["foo =1"],
            &["bar=1", "FOO=1"],
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let members: Vec<String> = (1..=33).map(|i| format!("k{i}={i}")).collect();
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        assert_eq!(
            parse_tracestate(refs[..32].iter().copied()).map(|m| m.len()),
            Some(32)
        );
        assert_eq!(parse_tracestate(refs.iter().copied()), None);
    }

    #[cfg(feature = "enabled")]
    #[test]
    fn outgoing_tracestate_keeps_valid_members_only() {
        use opentelemetry::trace::TraceState;
        let state = TraceState::from_key_value([("a", "1"), ("b", ""), ("c", "3")]).unwrap();
        assert_eq!(
            outgoing_tracestate(&state, None).as_deref(),
            Some("a=1,c=3")
        );
        let state = TraceState::from_key_value([("b", "")]).unwrap();
        assert_eq!(outgoing_tracestate(&state, None), None);
        assert_eq!(outgoing_tracestate(&TraceState::NONE, None), None);
    }

    #[cfg(feature = "enabled")]
    #[test]
    fn outgoing_tracestate_keeps_what_the_sdk_cannot_hold() {
        use opentelemetry::trace::TraceState;
        let system14 = "t@abcdefghijklmn";
        assert!(TraceState::from_key_value([(system14, "1")]).is_err());
        let held = TraceState::from_key_value([("a", "1"), ("b", "2")]).unwrap();
        let list: Vec<(String, String)> = [("a", "1"), (system14, "x"), ("b", "2")]
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let whole = (held.clone(), list);
        assert_eq!(
            outgoing_tracestate(&held, Some(&whole)).as_deref(),
            Some("a=1,t@abcdefghijklmn=x,b=2")
        );
        let changed = held.insert("mine", "7").unwrap();
        assert_eq!(
            outgoing_tracestate(&changed, Some(&whole)).as_deref(),
            Some("mine=7,a=1,b=2,t@abcdefghijklmn=x")
        );
    }
}
