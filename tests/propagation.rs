//! W3C trace context and baggage across a process boundary (a header map in
//! between), parents taken from headers, and malformed headers that start new traces.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::Context;
use proptest::prelude::*;
use std::collections::HashMap;
use traced::traced;

#[traced(kind = client)]
fn call_inventory() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    traced::propagation::inject(&mut headers);
    headers
}

#[traced(kind = server, parent = traced::propagation::extract(headers))]
fn inventory_handler(headers: &HashMap<String, String>) -> Option<String> {
    traced::baggage::get("tenant.id")
}

#[test]
fn a_request_through_headers_is_one_trace() {
    let (tenant, spans) = capture(|| {
        let _baggage = traced::baggage::set([("tenant.id", "acme")]);
        let headers = call_inventory();
        assert!(headers["traceparent"].starts_with("00-"));
        assert_eq!(headers["baggage"], "tenant.id=acme");
        // The "other service": nothing of the caller's context but the headers.
        let _isolated = Context::new().attach();
        inventory_handler(&headers)
    });
    assert_eq!(tenant.as_deref(), Some("acme"), "baggage crossed");
    let client = spans.one("call_inventory");
    let server = spans.one("inventory_handler");
    assert_eq!(
        server.span_context.trace_id(),
        client.span_context.trace_id()
    );
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
}

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn malformed_traceparent_starts_a_new_trace() {
    let bad = [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // forbidden version
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  // short span id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", // upper case
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",  // short flags
        "garbage",
        "",
    ];
    for traceparent in bad {
        let carrier = headers(&[("traceparent", traceparent)]);
        let (_, spans) = capture(|| {
            let _isolated = Context::new().attach();
            inventory_handler(&carrier)
        });
        let server = spans.one("inventory_handler");
        assert_eq!(
            server.parent_span_id,
            SpanId::INVALID,
            "{traceparent:?} must start a new trace"
        );
    }
}

#[test]
fn oversized_tracestate_and_baggage_are_ignored_without_harm() {
    let members: Vec<String> = (0..33).map(|i| format!("k{i}=v{i}")).collect();
    let huge_baggage = format!("big={}", "x".repeat(10_000));
    let carrier = headers(&[
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("tracestate", &members.join(",")),
        ("baggage", &huge_baggage),
    ]);
    let (tenant, spans) = capture(|| {
        let _isolated = Context::new().attach();
        inventory_handler(&carrier)
    });
    assert_eq!(tenant, None);
    let server = spans.one("inventory_handler");
    // The valid traceparent is still honoured.
    assert_eq!(
        server.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert!(traced::baggage::all().is_empty());
}

#[test]
fn baggage_set_and_read_in_the_current_context() {
    without_telemetry(|| {
        assert_eq!(traced::baggage::get("plan"), None);
        {
            let _outer = traced::baggage::set([("plan", "gold"), ("region", "eu")]);
            let _inner = traced::baggage::set([("plan", "platinum")]);
            assert_eq!(traced::baggage::get("plan").as_deref(), Some("platinum"));
            assert_eq!(traced::baggage::get("region").as_deref(), Some("eu"));
        }
        assert!(
            traced::baggage::all().is_empty(),
            "guards restore the context"
        );
    });
}

prop_compose! {
    /// Headers near the valid form, where parsers slip: right shape, wrong digits.
    fn near_traceparent()(
        version in prop_oneof!["00", "01", "ff", "0", "000", "zz"],
        trace_id in "[0-9a-fA-F]{30,34}",
        span_id in "[0-9a-fA-F]{14,18}",
        flags in prop_oneof!["00", "01", "1", "0x", "001"],
    ) -> String {
        format!("{version}-{trace_id}-{span_id}-{flags}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever arrives in the headers, extracting never panics, and a context that
    /// is not exactly valid gives no parent.
    #[test]
    fn extract_never_panics(
        traceparent in prop_oneof![".{0,80}", near_traceparent()],
        tracestate in ".{0,200}",
        baggage in ".{0,300}",
    ) {
        let carrier = headers(&[
            ("traceparent", &traceparent),
            ("tracestate", &tracestate),
            ("baggage", &baggage),
        ]);
        without_telemetry(|| {
            opentelemetry::global::set_text_map_propagator(
                traced::propagation::default_propagator(),
            );
            let cx = traced::propagation::extract(&carrier);
            let sc = cx.span().span_context().clone();
            prop_assert_eq!(sc.is_valid(), traced::propagation::valid_traceparent(&traceparent));
            Ok(())
        })?;
    }
}

#[traced]
fn with_tenant() {}

#[test]
fn baggage_processor_copies_only_allowed_keys_onto_spans() {
    let (_, spans, _) = capture_with(
        |b| b.span_processor(traced::process::BaggageSpanProcessor::new(["tenant.id"])),
        || {
            let _scope = traced::baggage::set([("tenant.id", "acme"), ("secret", "s3cr3t")]);
            with_tenant();
        },
    );
    let s = spans.one("with_tenant");
    assert_eq!(
        attr(s, "tenant.id"),
        Some(opentelemetry::Value::from("acme"))
    );
    assert_eq!(attr(s, "secret"), None);
}
