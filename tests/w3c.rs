//! W3C Trace Context Level 1 and Level 2, one test per rule of the specification,
//! through the public API: a service takes its parent from the incoming headers
//! with `traced::propagation::extract` and writes the outgoing ones with
//! `traced::propagation::inject`. The incoming headers are a list of header lines,
//! so that a name can come several times, as on the wire.
//!
//! At the end: the same over real sockets through `traced::http::ServerLayer` and
//! `send_traced`, and a property that every header `traced` sends parses under
//! the specification's grammar, checked by a parser written here from the ABNF.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::SpanId;
use opentelemetry::Context;
use std::collections::HashMap;
use traced::traced;

const TRACE_ID: &str = "12345678901234567890123456789012";
const PARENT_ID: &str = "1234567890123456";

/// A `traceparent` of [`TRACE_ID`] and [`PARENT_ID`] with these flags.
fn traceparent(flags: &str) -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-{flags}")
}

/// Header lines in order; names are case-insensitive, and a name may come again.
struct Lines(Vec<(String, String)>);

impl Lines {
    fn new(lines: &[(&str, &str)]) -> Self {
        Lines(
            lines
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
}

impl Extractor for Lines {
    fn get(&self, key: &str) -> Option<&str> {
        self.get_all(key).map(|values| values[0])
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// The service: a server span whose parent comes from the request's headers, and
/// the headers it sends on.
#[traced(kind = server, parent = traced::propagation::extract(request))]
fn service(request: &Lines) -> HashMap<String, String> {
    let mut outgoing = HashMap::new();
    traced::propagation::inject(&mut outgoing);
    outgoing
}

/// What one request through [`service`] gives.
struct Hop {
    outgoing: HashMap<String, String>,
    spans: Spans,
}

impl Hop {
    fn traceparent(&self) -> &str {
        &self.outgoing["traceparent"]
    }

    fn trace_id(&self) -> &str {
        &self.traceparent()[3..35]
    }

    fn parent_id(&self) -> &str {
        &self.traceparent()[36..52]
    }

    fn flags(&self) -> &str {
        &self.traceparent()[53..]
    }

    fn tracestate(&self) -> Option<&str> {
        self.outgoing.get("tracestate").map(String::as_str)
    }

    /// Whether the service continued the caller's trace ([`TRACE_ID`]).
    fn continued(&self) -> bool {
        self.trace_id() == TRACE_ID
    }

    /// Asserts the service started a new trace: a new trace id, and a root span
    /// when it was recorded.
    fn assert_new_trace(&self, request: &str) {
        assert_ne!(
            self.trace_id(),
            TRACE_ID,
            "{request:?} must start a new trace"
        );
        if let Some(span) = self.spans.all("service").first() {
            assert_eq!(span.parent_span_id, SpanId::INVALID, "{request:?}");
        }
        assert_eq!(
            self.tracestate(),
            None,
            "{request:?}: no tracestate of its own"
        );
    }
}

/// Sends one request with these header lines through [`service`].
fn hop(lines: &[(&str, &str)]) -> Hop {
    let request = Lines::new(lines);
    let (outgoing, spans) = capture(|| {
        // The "other service": nothing of the test's context but the headers.
        let _isolated = Context::new().attach();
        service(&request)
    });
    Hop { outgoing, spans }
}

/// [`hop`] with a valid `traceparent` and these `tracestate` lines: the tracestate
/// sent on.
fn tracestate_through<S: AsRef<str>>(tracestate: &[S]) -> Option<String> {
    let parent = traceparent("01");
    let mut lines = vec![("traceparent", parent.as_str())];
    lines.extend(tracestate.iter().map(|v| ("tracestate", v.as_ref())));
    let hop = hop(&lines);
    assert!(
        hop.continued(),
        "the traceparent is used whatever the tracestate"
    );
    hop.tracestate().map(str::to_owned)
}

// ---------------------------------------------------------------------------------
// traceparent

#[test]
fn no_traceparent_starts_a_new_trace_and_sends_a_traceparent() {
    let hop = hop(&[]);
    hop.assert_new_trace("no headers");
    assert!(hop.traceparent().starts_with("00-"));
}

#[test]
fn a_valid_traceparent_is_continued_with_a_new_parent_id() {
    let hop = hop(&[("traceparent", &traceparent("01"))]);
    assert!(hop.continued());
    assert_ne!(hop.parent_id(), PARENT_ID);
    let span = hop.spans.one("service");
    assert_eq!(span.parent_span_id.to_string(), PARENT_ID);
    assert!(span.parent_span_is_remote);
    assert_eq!(hop.parent_id(), span.span_context.span_id().to_string());
}

#[test]
fn several_traceparent_headers_start_a_new_trace() {
    let other = format!("00-{}1-{PARENT_ID}-01", &TRACE_ID[..31]);
    let hop = hop(&[
        ("traceparent", &traceparent("01")),
        ("traceparent", &other),
        ("tracestate", "foo=1"),
    ]);
    hop.assert_new_trace("two traceparent headers");
    assert_ne!(hop.trace_id(), &other[3..35]);
    // Even two identical ones.
    let same = traceparent("01");
    self::hop(&[("traceparent", &same), ("traceparent", &same)]).assert_new_trace("twice");
}

#[test]
fn traceparent_version_00_is_exactly_55_characters() {
    for request in [
        format!("{}.", traceparent("01")),
        format!("{}-what-the-future-will-be-like", traceparent("01")),
        format!("{}-", traceparent("01")),
    ] {
        hop(&[("traceparent", &request)]).assert_new_trace(&request);
    }
}

#[test]
fn traceparent_higher_version_is_read_by_the_00_rules_and_sent_as_00() {
    for request in [
        format!("cc-{TRACE_ID}-{PARENT_ID}-01"),
        format!("cc-{TRACE_ID}-{PARENT_ID}-01-what-the-future-will-be-like"),
        format!("01-{TRACE_ID}-{PARENT_ID}-01-"),
    ] {
        let hop = hop(&[("traceparent", &request)]);
        assert!(hop.continued(), "{request}");
        assert!(
            hop.traceparent().starts_with("00-"),
            "{request}: downgraded"
        );
        assert_eq!(
            hop.traceparent().len(),
            55,
            "{request}: nothing unknown sent"
        );
    }
    for request in [
        // What follows the flags must be a dash.
        format!("cc-{TRACE_ID}-{PARENT_ID}-01.what-the-future-will-be-like"),
        // Shorter than 55 characters.
        format!("cc-{TRACE_ID}-{PARENT_ID}-1"),
        format!("cc-{TRACE_ID}-{PARENT_ID}"),
    ] {
        hop(&[("traceparent", &request)]).assert_new_trace(&request);
    }
}

#[test]
fn traceparent_version_ff_is_invalid() {
    let request = format!("ff-{TRACE_ID}-{PARENT_ID}-01");
    hop(&[("traceparent", &request)]).assert_new_trace(&request);
}

#[test]
fn traceparent_version_is_two_lowercase_hex_digits() {
    for version in [".0", "0.", "0", "000", "0000", "CC", "0g"] {
        let request = format!("{version}-{TRACE_ID}-{PARENT_ID}-01");
        hop(&[("traceparent", &request)]).assert_new_trace(&request);
    }
}

#[test]
fn traceparent_trace_id_is_32_lowercase_hex_digits_not_all_zero() {
    for trace_id in [
        "00000000000000000000000000000000",
        ".2345678901234567890123456789012",
        "1234567890123456789012345678901.",
        "123456789012345678901234567890123",
        "1234567890123456789012345678901",
        "ABCDEF78901234567890123456789012",
    ] {
        let request = format!("00-{trace_id}-{PARENT_ID}-01");
        let hop = hop(&[("traceparent", &request)]);
        hop.assert_new_trace(&request);
        assert!(!trace_id.contains(hop.trace_id()), "{request}");
    }
}

#[test]
fn traceparent_parent_id_is_16_lowercase_hex_digits_not_all_zero() {
    for parent_id in [
        "0000000000000000",
        ".234567890123456",
        "123456789012345.",
        "12345678901234567",
        "123456789012345",
        "ABCDEF7890123456",
    ] {
        let request = format!("00-{TRACE_ID}-{parent_id}-01");
        hop(&[("traceparent", &request)]).assert_new_trace(&request);
    }
}

#[test]
fn traceparent_flags_are_two_lowercase_hex_digits() {
    for flags in [".0", "0.", "1", "001", "0A", "xy"] {
        let request = traceparent(flags);
        hop(&[("traceparent", &request)]).assert_new_trace(&request);
    }
}

#[test]
fn traceparent_ows_around_the_value_is_allowed() {
    let valid = traceparent("01");
    for request in [
        format!(" {valid}"),
        format!("\t{valid}"),
        format!("{valid} "),
        format!("{valid}\t"),
        format!("\t {valid} \t"),
    ] {
        assert!(hop(&[("traceparent", &request)]).continued(), "{request:?}");
    }
    let inside = format!("00-{TRACE_ID} -{PARENT_ID}-01");
    hop(&[("traceparent", &inside)]).assert_new_trace(&inside);
}

#[test]
fn sampled_flag_follows_the_parent() {
    let sampled = hop(&[("traceparent", &traceparent("01"))]);
    assert_eq!(sampled.flags(), "01");
    assert_eq!(sampled.spans.len(), 1);
    let not_sampled = hop(&[("traceparent", &traceparent("00"))]);
    assert!(not_sampled.continued());
    assert_eq!(not_sampled.flags(), "00");
    assert_eq!(
        not_sampled.spans.len(),
        0,
        "the parent-based sampler drops it"
    );
    assert_ne!(not_sampled.parent_id(), PARENT_ID);
}

#[test]
fn random_flag_is_kept_on_the_outgoing_traceparent() {
    // Level 2: set in, set out, whether the service's span records or not.
    for (incoming, outgoing) in [("02", "02"), ("03", "03"), ("01", "01"), ("00", "00")] {
        let hop = hop(&[("traceparent", &traceparent(incoming))]);
        assert!(hop.continued());
        assert_eq!(hop.flags(), outgoing, "incoming flags {incoming}");
    }
    let higher = format!("cc-{TRACE_ID}-{PARENT_ID}-02-later");
    assert_eq!(hop(&[("traceparent", &higher)]).flags(), "02");
}

#[test]
fn a_trace_started_here_has_the_random_flag() {
    // Level 2: the SDK's id generator draws the whole trace id at random, so a
    // trace `traced` starts says so.
    assert_eq!(hop(&[]).flags(), "03");
    let invalid = format!("00-{TRACE_ID}-{PARENT_ID}-0");
    let restarted = hop(&[("traceparent", &invalid)]);
    restarted.assert_new_trace(&invalid);
    assert_eq!(restarted.flags(), "03");
    // Not sampled: still random.
    let (flags, spans, _) = capture_with(
        |b| b.sampler(traced::opentelemetry_sdk::trace::Sampler::AlwaysOff),
        || {
            let _isolated = Context::new().attach();
            service(&Lines::new(&[]))["traceparent"][53..].to_owned()
        },
    );
    assert_eq!(flags, "02");
    assert_eq!(spans.len(), 0);
}

#[traced(parent = parent.clone())]
fn under_a_span_context(parent: &opentelemetry::trace::SpanContext) -> HashMap<String, String> {
    let mut outgoing = HashMap::new();
    traced::propagation::inject(&mut outgoing);
    outgoing
}

#[test]
fn random_flag_of_a_span_context_parent_is_kept() {
    use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};
    for (flags, outgoing) in [(0x02, "02"), (0x03, "03"), (0x00, "00")] {
        let parent = SpanContext::new(
            TraceId::from_hex(TRACE_ID).unwrap(),
            SpanId::from_hex(PARENT_ID).unwrap(),
            TraceFlags::new(flags),
            true,
            TraceState::NONE,
        );
        let (sent, _) = capture(|| {
            let _isolated = Context::new().attach();
            under_a_span_context(&parent)
        });
        assert_eq!(&sent["traceparent"][3..35], TRACE_ID);
        assert_eq!(
            &sent["traceparent"][53..],
            outgoing,
            "parent flags {flags:02x}"
        );
    }
}

#[test]
fn unknown_trace_flags_are_not_forwarded() {
    for (incoming, outgoing) in [("ff", "03"), ("fd", "01"), ("fe", "02"), ("04", "00")] {
        let hop = hop(&[("traceparent", &traceparent(incoming))]);
        assert!(hop.continued());
        assert_eq!(hop.flags(), outgoing, "incoming flags {incoming}");
    }
}

#[test]
fn inject_without_a_span_writes_nothing() {
    let (outgoing, _) = capture(|| {
        let _isolated = Context::new().attach();
        let mut outgoing = HashMap::new();
        traced::propagation::inject(&mut outgoing);
        outgoing
    });
    assert!(outgoing.is_empty(), "{outgoing:?}");
}

// ---------------------------------------------------------------------------------
// tracestate

#[test]
fn tracestate_is_sent_on_with_a_valid_traceparent() {
    assert_eq!(
        tracestate_through(&["foo=1,bar=2"]).as_deref(),
        Some("foo=1,bar=2")
    );
    assert_eq!(
        tracestate_through(&["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]).as_deref(),
        Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    );
}

#[test]
fn tracestate_without_a_valid_traceparent_is_discarded() {
    hop(&[("tracestate", "foo=1")]).assert_new_trace("tracestate alone");
    let bad = format!("00-{TRACE_ID}-{PARENT_ID}-0");
    hop(&[("traceparent", &bad), ("tracestate", "foo=1")]).assert_new_trace(&bad);
}

#[test]
fn several_tracestate_headers_are_one_list_in_order() {
    assert_eq!(
        tracestate_through(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).as_deref(),
        Some("foo=1,bar=2,rojo=1,congo=2,baz=3")
    );
}

#[test]
fn empty_tracestate_header_is_accepted_and_not_sent() {
    assert_eq!(tracestate_through(&[""]), None);
    assert_eq!(tracestate_through(&["foo=1", ""]).as_deref(), Some("foo=1"));
    assert_eq!(tracestate_through(&["", "foo=1"]).as_deref(), Some("foo=1"));
}

#[test]
fn empty_and_whitespace_only_list_members_are_ignored() {
    assert_eq!(tracestate_through(&[" \t "]), None);
    assert_eq!(
        tracestate_through(&[",foo=1,, ,\t,bar=2,"]).as_deref(),
        Some("foo=1,bar=2")
    );
}

#[test]
fn ows_around_list_members_is_ignored() {
    for header in [
        "foo=1 \t , \t bar=2, \t baz=3",
        "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
    ] {
        assert_eq!(
            tracestate_through(&[header]).as_deref(),
            Some("foo=1,bar=2,baz=3"),
            "{header:?}"
        );
    }
    for header in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        assert_eq!(
            tracestate_through(&[header]).as_deref(),
            Some("foo=1"),
            "{header:?}"
        );
    }
}

#[test]
fn tracestate_key_characters() {
    // lcalpha first, then lcalpha, DIGIT, "_", "-", "*", "/".
    let key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let with_vendor = format!("{key}@a-z0-9_-*/");
    for key in [key, with_vendor.as_str()] {
        let member = format!("{key}=1");
        assert_eq!(tracestate_through(&[&member]), Some(member.clone()));
    }
    for member in [
        "foo =1",
        "FOO=1",
        "foo.bar=1",
        "fOo=1",
        "_foo=1",
        "@foo=1",
        "f\u{e9}=1",
    ] {
        let list = format!("{member},bar=2");
        assert_eq!(
            tracestate_through(&[&list]),
            None,
            "{member:?}: dropped whole"
        );
    }
}

/// Level 2: `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, `@` a keychar. Every
/// Level 1 key (simple, `tenant@system`) is one, and so are the keys Level 1
/// refused.
#[test]
fn tracestate_keys_follow_the_level_2_grammar() {
    for member in [
        "tenant@vendor=1",
        "0tenant@vendor=1",
        "t@v=1",
        "1foo=1",
        "foo@=1",
        "foo@@bar=1",
        "foo@bar@baz=1",
        "tenant@0vendor=1",
        "tenant@_vendor=1",
    ] {
        assert_eq!(tracestate_through(&[member]).as_deref(), Some(member));
    }
    for member in ["@foo=1", "_foo=1", "*foo=1", "-foo=1", "/foo=1"] {
        let list = format!("{member},bar=2");
        assert_eq!(
            tracestate_through(&[&list]),
            None,
            "{member:?}: dropped whole"
        );
    }
}

#[test]
fn tracestate_key_length_limits() {
    let simple = "z".repeat(256);
    let multi = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    for key in [&simple, &multi] {
        let member = format!("{key}=1");
        assert_eq!(
            tracestate_through(&["foo=1", member.as_str()]),
            Some(format!("foo=1,{member}"))
        );
    }
    // Through a span the sampler drops too.
    let member = format!("{multi}=1");
    let dropped = hop(&[("traceparent", &traceparent("00")), ("tracestate", &member)]);
    assert_eq!(dropped.spans.len(), 0);
    assert_eq!(dropped.tracestate(), Some(member.as_str()));
    // 256 characters whatever the `@`s (Level 1's 241 + 14 limits are gone).
    for key in [
        format!("{}@v", "t".repeat(242)),
        format!("t@{}", "v".repeat(254)),
    ] {
        let member = format!("{key}=1");
        assert_eq!(
            tracestate_through(&["foo=1", member.as_str()]),
            Some(format!("foo=1,{member}"))
        );
    }
    for key in ["z".repeat(257), format!("t@{}", "v".repeat(255))] {
        let member = format!("{key}=1");
        assert_eq!(
            tracestate_through(&["foo=1", member.as_str()]),
            None,
            "{} chars",
            key.len()
        );
    }
}

#[test]
fn tracestate_has_at_most_32_members() {
    let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
    let lines = |members: &[String]| -> Vec<String> {
        members.chunks(10).map(|chunk| chunk.join(",")).collect()
    };
    let thirty_two = lines(&members[..32]);
    let refs: Vec<&str> = thirty_two.iter().map(String::as_str).collect();
    assert_eq!(tracestate_through(&refs), Some(members[..32].join(",")));
    let thirty_three = lines(&members);
    let refs: Vec<&str> = thirty_three.iter().map(String::as_str).collect();
    assert_eq!(tracestate_through(&refs), None);
}

/// "If adding an entry would cause the `tracestate` list to contain more than 32
/// `list-members` the right-most `list-member` should be removed from the list."
/// The incoming list has 32 members, the last with a key the SDK's `TraceState`
/// cannot hold (a system of 14 characters, which the W3C grammar allows), so
/// `traced` keeps it beside the trace state; the process then adds its entry.
#[test]
fn an_entry_added_to_32_members_removes_the_right_most() {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::{SpanContext, TraceContextExt};
    let mut members: Vec<String> = (1..=31).map(|i| format!("bar{i:02}={i:02}")).collect();
    members.push("t@abcdefghijklmn=x".to_owned());
    let list = members.join(",");
    let propagator = traced::propagation::StrictTraceContext::default();
    let incoming = Lines::new(&[("traceparent", &traceparent("01")), ("tracestate", &list)]);
    let cx = propagator.extract_with_context(&Context::new(), &incoming);
    let mut unchanged = HashMap::new();
    propagator.inject_context(&cx, &mut unchanged);
    assert_eq!(unchanged["tracestate"], list, "sent on as it came");
    // The process adds its own entry, at the left as the specification says.
    let parent = cx.span().span_context().clone();
    let added = parent.trace_state().insert("mine", "1").unwrap();
    let cx = cx.with_remote_span_context(SpanContext::new(
        parent.trace_id(),
        parent.span_id(),
        parent.trace_flags(),
        true,
        added,
    ));
    let mut outgoing = HashMap::new();
    propagator.inject_context(&cx, &mut outgoing);
    let expected: Vec<&str> = std::iter::once("mine=1")
        .chain(members[..31].iter().map(String::as_str))
        .collect();
    assert_eq!(outgoing["tracestate"], expected.join(","));
}

#[test]
fn tracestate_value_characters() {
    // Printable ASCII (0x20-0x7E) but "," and "=".
    let value: String = (0x20u8..=0x7e)
        .filter(|c| !matches!(c, b',' | b'='))
        .map(char::from)
        .collect();
    let member = format!("foo={value}");
    assert_eq!(tracestate_through(&[&member]), Some(member.clone()));
    for list in [
        "foo=bar=baz",
        "foo=a\tb",
        "foo=\u{7f}",
        "foo=caf\u{e9}",
        "foo=a\u{0}",
    ] {
        assert_eq!(tracestate_through(&[list]), None, "{list:?}");
    }
}

#[test]
fn tracestate_value_is_1_to_256_characters() {
    let longest = format!("foo={}", "v".repeat(256));
    assert_eq!(tracestate_through(&[&longest]), Some(longest.clone()));
    let too_long = format!("foo={}", "v".repeat(257));
    assert_eq!(tracestate_through(&[&too_long]), None);
    assert_eq!(tracestate_through(&["foo=,bar=3"]), None, "an empty value");
    assert_eq!(tracestate_through(&["foo,bar=3"]), None, "no value at all");
}

#[test]
fn tracestate_value_keeps_leading_spaces_and_drops_trailing_ones() {
    assert_eq!(
        tracestate_through(&["foo=  1  ,bar= 2"]).as_deref(),
        Some("foo=  1,bar= 2")
    );
}

#[test]
fn tracestate_duplicate_keys_keep_the_first_member() {
    assert_eq!(
        tracestate_through(&["foo=1,foo=1"]).as_deref(),
        Some("foo=1")
    );
    assert_eq!(
        tracestate_through(&["foo=1,foo=2"]).as_deref(),
        Some("foo=1")
    );
    assert_eq!(
        tracestate_through(&["foo=1", "foo=2"]).as_deref(),
        Some("foo=1")
    );
    assert_eq!(
        tracestate_through(&["foo=1,bar=2", "foo=3,baz=4"]).as_deref(),
        Some("foo=1,bar=2,baz=4")
    );
}

#[test]
fn invalid_tracestate_is_dropped_whole_and_the_traceparent_still_used() {
    // One bad member anywhere, in any of the headers, and nothing is sent on.
    assert_eq!(tracestate_through(&["foo=1,bar=2", "Bad=3"]), None);
    let hop = hop(&[
        ("traceparent", &traceparent("01")),
        ("tracestate", "foo=1,bar="),
    ]);
    assert!(hop.continued());
    assert_eq!(hop.tracestate(), None);
    let span = hop.spans.one("service");
    assert_eq!(span.parent_span_id.to_string(), PARENT_ID);
    assert_eq!(span.span_context.trace_state().header(), "");
}

// ---------------------------------------------------------------------------------
// Over real sockets: header lines on the wire into `ServerLayer`, and what
// `send_traced` sends on to the next service.

#[cfg(all(feature = "tower", feature = "axum", feature = "reqwest"))]
mod over_http {
    use super::*;
    use axum::extract::State;
    use axum::routing::get;
    use axum::Router;
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use traced::http::{RequestBuilderExt as _, ServerLayer};

    /// The bound on the whole test.
    const TIMEOUT: Duration = Duration::from_secs(30);

    /// The next service: answers with the trace-context header lines it got.
    async fn next_service(headers: axum::http::HeaderMap) -> String {
        let mut lines = String::new();
        for name in ["traceparent", "tracestate"] {
            for value in headers.get_all(name) {
                let value = String::from_utf8_lossy(value.as_bytes());
                lines.push_str(&format!("{name}: {value}\n"));
            }
        }
        lines
    }

    /// The service under test: calls the next one with `send_traced` and answers
    /// with what that one got.
    async fn service(State(next): State<String>) -> String {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .build()
            .unwrap();
        let response = client.get(&next).send_traced().await.unwrap();
        response.text().await.unwrap()
    }

    /// Serves `router` on 127.0.0.1, any free port.
    async fn serve(router: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (addr, task)
    }

    /// Writes a request with these header lines, as they are, to the service and
    /// returns the trace-context header lines the next service got.
    async fn request(service: SocketAddr, lines: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut request =
            format!("GET /service HTTP/1.1\r\nhost: {service}\r\nconnection: close\r\n");
        for (name, value) in lines {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(service).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        body.lines()
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }

    fn values<'a>(sent: &'a [(String, String)], name: &str) -> Vec<&'a str> {
        sent.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one `traceparent` sent on, as (trace id, flags).
    fn sent_traceparent(sent: &[(String, String)]) -> (String, String) {
        let traceparent = values(sent, "traceparent");
        assert_eq!(traceparent.len(), 1, "one traceparent sent on: {sent:?}");
        (
            traceparent[0][3..35].to_owned(),
            traceparent[0][53..].to_owned(),
        )
    }

    #[test]
    fn duplicated_headers_over_http() {
        let (_, spans) = capture_multi_thread(async {
            tokio::time::timeout(TIMEOUT, async {
                let (next, _next_task) =
                    serve(Router::new().route("/next", get(next_service))).await;
                let app = Router::new()
                    .route("/service", get(service))
                    .with_state(format!("http://{next}/next"))
                    .layer(ServerLayer::new());
                let (addr, _task) = serve(app).await;
                let parent = traceparent("01");

                // Two traceparent lines: neither is used, and the tracestate goes too.
                let other = format!("00-{}-{PARENT_ID}-01", "ab".repeat(16));
                let sent = request(
                    addr,
                    &[
                        ("traceparent", &parent),
                        ("traceparent", &other),
                        ("tracestate", "foo=1"),
                    ],
                )
                .await;
                let (trace_id, _) = sent_traceparent(&sent);
                assert!(trace_id != TRACE_ID && trace_id != other[3..35], "{sent:?}");
                assert_eq!(values(&sent, "tracestate"), Vec::<&str>::new());

                // Header names in any case; tracestate lines, an empty one among
                // them, joined in order and sent on as one.
                let sent = request(
                    addr,
                    &[
                        ("TraceParent", &parent),
                        ("tracestate", "foo=1,bar=2"),
                        ("TRACESTATE", ""),
                        ("TrAcEsTaTe", "rojo=1 , congo=2"),
                    ],
                )
                .await;
                assert_eq!(
                    sent_traceparent(&sent),
                    (TRACE_ID.to_owned(), "01".to_owned())
                );
                assert_eq!(values(&sent, "tracestate"), ["foo=1,bar=2,rojo=1,congo=2"]);

                // One bad member in the second line: the whole tracestate is
                // dropped, the traceparent still used.
                let sent = request(
                    addr,
                    &[
                        ("traceparent", &parent),
                        ("tracestate", "foo=1"),
                        ("tracestate", "bar=,baz=3"),
                    ],
                )
                .await;
                assert_eq!(sent_traceparent(&sent).0, TRACE_ID);
                assert_eq!(values(&sent, "tracestate"), Vec::<&str>::new());

                // Names that are not the W3C ones are not read.
                let sent = request(addr, &[("trace-parent", &parent)]).await;
                assert_ne!(sent_traceparent(&sent).0, TRACE_ID);

                // The random flag of the caller, on a trace the sampler drops.
                let sent = request(addr, &[("traceparent", &traceparent("02"))]).await;
                assert_eq!(
                    sent_traceparent(&sent),
                    (TRACE_ID.to_owned(), "02".to_owned())
                );
            })
            .await
            .expect("the requests did not finish in time")
        });
        let continued = spans
            .all("GET /service")
            .into_iter()
            .filter(|s| s.span_context.trace_id().to_string() == TRACE_ID)
            .count();
        assert_eq!(
            continued, 2,
            "server spans under the caller's sampled traceparent"
        );
    }
}

// ---------------------------------------------------------------------------------
// Every header `traced` sends parses under the specification's grammar. The
// grammar is written here again from the ABNF, not taken from `traced`.

mod grammar {
    /// `HEXDIGLC`.
    fn hexdiglc(c: u8) -> bool {
        c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
    }

    /// `traceparent` of version 00: `"00" "-" 32HEXDIGLC "-" 16HEXDIGLC "-" 2HEXDIGLC`,
    /// ids not all zeros, flags other than sampled and random zero.
    pub fn traceparent_00(value: &str) -> bool {
        let fields: Vec<&str> = value.split('-').collect();
        let [version, trace_id, parent_id, flags] = fields[..] else {
            return false;
        };
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(hexdiglc);
        version == "00"
            && hex(trace_id, 32)
            && trace_id.bytes().any(|c| c != b'0')
            && hex(parent_id, 16)
            && parent_id.bytes().any(|c| c != b'0')
            && hex(flags, 2)
            && u8::from_str_radix(flags, 16).is_ok_and(|f| f & !0x03 == 0)
    }

    fn lcalpha(c: u8) -> bool {
        c.is_ascii_lowercase()
    }

    /// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, with
    /// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"` (Level 2).
    pub fn key(key: &str) -> bool {
        let k = key.as_bytes();
        let keychar = |c: u8| lcalpha(c) || c.is_ascii_digit() || b"_-*/@".contains(&c);
        match k.split_first() {
            Some((&first, rest)) => {
                (lcalpha(first) || first.is_ascii_digit())
                    && rest.len() <= 255
                    && rest.iter().all(|&c| keychar(c))
            }
            None => false,
        }
    }

    /// `value = 0*255(chr) nblk-chr`.
    pub fn value(value: &str) -> bool {
        let nblk_chr = |c: u8| matches!(c, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e);
        let chr = |c: u8| c == 0x20 || nblk_chr(c);
        match value.as_bytes().split_last() {
            Some((&last, rest)) => {
                nblk_chr(last) && rest.len() <= 255 && rest.iter().all(|&c| chr(c))
            }
            None => false,
        }
    }

    /// A `tracestate` worth sending: `list-member 0*31( OWS "," OWS list-member )`
    /// with every member `key "=" value` and no key twice.
    pub fn tracestate(list: &str) -> bool {
        let mut keys = Vec::new();
        for member in list.split(',') {
            let member = member.trim_matches([' ', '\t']);
            let Some(eq) = member.find('=') else {
                return false;
            };
            let (k, v) = (&member[..eq], &member[eq + 1..]);
            if !key(k) || !value(v) || keys.contains(&k) {
                return false;
            }
            keys.push(k);
        }
        (1..=32).contains(&keys.len())
    }

    #[test]
    fn the_grammar_itself() {
        assert!(traceparent_00(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"
        ));
        assert!(!traceparent_00(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-05"
        ));
        assert!(!traceparent_00(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(tracestate("a=1,b@c=2"));
        assert!(!tracestate("a=1,a=2"));
        assert!(!tracestate(""));
        assert!(!tracestate("a=1 ,b="));
        assert!(key(&format!("{}@{}", "t".repeat(241), "v".repeat(14))));
        assert!(key(&format!("{}@v", "t".repeat(242))));
        assert!(key("a@b@c") && key("1abc") && !key("@a") && !key(&"z".repeat(257)));
        assert!(value(" x") && !value("x ") && !value(""));
    }
}

mod emitted {
    use super::*;
    use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// A `tracestate` member near the grammar: valid ones, and ones that slip.
    fn member() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9_*/-]{0,8}=[ -~]{0,6}[!-~]",
            "[a-z0-9][a-z0-9_*/-]{0,4}@[a-z][a-z0-9_*/-]{0,3}=[!-~]{1,4}",
            "[a-zA-Z0-9@_ .-]{0,6}=[ -~\t]{0,5}",
            ".{0,12}",
            Just(String::new()),
        ]
    }

    /// `tracestate` header lines of such members, with separators and OWS.
    fn tracestate_lines() -> impl Strategy<Value = Vec<String>> {
        let line = prop::collection::vec(
            (
                member(),
                prop_oneof![Just(","), Just(" , "), Just(",\t"), Just(",,")],
            ),
            0..14,
        )
        .prop_map(|members| {
            members
                .into_iter()
                .map(|(m, sep)| m + sep)
                .collect::<String>()
        });
        prop::collection::vec(line, 0..4)
    }

    /// An incoming `traceparent`: valid with any flags, or near it.
    fn incoming_traceparent() -> impl Strategy<Value = String> {
        prop_oneof![
            (
                "[0-9a-f]{2}",
                "[0-9a-f]{32}",
                "[0-9a-f]{16}",
                "[0-9a-f]{2}",
                "(-[ -~]{0,5})?"
            )
                .prop_map(|(v, t, p, f, rest)| format!("{v}-{t}-{p}-{f}{rest}")),
            "[0-9a-fA-F.-]{50,60}",
            ".{0,60}",
        ]
    }

    fn check(outgoing: &HashMap<String, String>) -> Result<(), TestCaseError> {
        if let Some(traceparent) = outgoing.get("traceparent") {
            prop_assert!(
                grammar::traceparent_00(traceparent),
                "traceparent {traceparent:?}"
            );
        }
        if let Some(tracestate) = outgoing.get("tracestate") {
            prop_assert!(grammar::tracestate(tracestate), "tracestate {tracestate:?}");
            prop_assert!(outgoing.contains_key("traceparent"));
        }
        Ok(())
    }

    #[test]
    fn every_header_traced_sends_parses_under_the_grammar() {
        let config = Config {
            cases: 512,
            failure_persistence: None,
            ..Config::default()
        };
        let (result, _) = capture(|| {
            let _isolated = Context::new().attach();
            let mut runner = TestRunner::new(config.clone());
            let through_a_service = runner.run(
                &(
                    prop::collection::vec(incoming_traceparent(), 0..3),
                    tracestate_lines(),
                ),
                |(traceparents, tracestates)| {
                    let mut lines: Vec<(&str, &str)> = traceparents
                        .iter()
                        .map(|v| ("traceparent", v.as_str()))
                        .collect();
                    lines.extend(tracestates.iter().map(|v| ("tracestate", v.as_str())));
                    check(&service(&Lines::new(&lines)))
                },
            );
            // A trace state built in the process (by a sampler, say) through the
            // SDK's API, which is more lenient than the W3C grammar.
            let mut runner = TestRunner::new(config);
            let from_the_sdk = runner.run(
                &(
                    prop::collection::vec(("[a-z0-9][a-z0-9_*/@-]{0,20}", "[^,=]{0,10}"), 0..40),
                    any::<u8>(),
                ),
                |(pairs, flags)| {
                    let Ok(state) = TraceState::from_key_value(pairs) else {
                        return Ok(());
                    };
                    let sc = SpanContext::new(
                        TRACE_ID
                            .parse::<u128>()
                            .map(Into::into)
                            .unwrap_or(1u128.into()),
                        1u64.into(),
                        TraceFlags::new(flags),
                        true,
                        state,
                    );
                    let cx = Context::new().with_remote_span_context(sc);
                    let mut outgoing = HashMap::new();
                    traced::propagation::inject_context(&cx, &mut outgoing);
                    check(&outgoing)
                },
            );
            (through_a_service, from_the_sdk)
        });
        let (through_a_service, from_the_sdk) = result;
        through_a_service.unwrap();
        from_the_sdk.unwrap();
    }
}
