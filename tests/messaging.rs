//! A producer's context travels in message headers; a batch consumer links to
//! every message it handles.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry::Value;
use std::collections::HashMap;
use traced::traced;

#[traced(kind = producer, attrs("messaging.message.id" = id))]
fn send(id: u64) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    traced::propagation::inject(&mut headers);
    headers
}

#[traced(kind = consumer, root, attrs("messaging.batch.message_count" = batch.len()))]
fn process(batch: &[(u64, HashMap<String, String>)]) {
    for (id, headers) in batch {
        traced::link!(
            traced::propagation::extract(headers),
            "messaging.message.id" = *id
        );
    }
}

#[traced(kind = consumer, parent = traced::propagation::extract(headers))]
fn process_one(headers: &HashMap<String, String>) {}

#[test]
fn batch_consumer_links_every_message() {
    let (_, spans) = capture(|| {
        let batch: Vec<_> = (1..=3).map(|id| (id, send(id))).collect();
        process(&batch);
    });
    let consumer = spans.one("process");
    assert_kind(consumer, SpanKind::Consumer);
    assert_eq!(
        consumer.parent_span_id,
        SpanId::INVALID,
        "a batch starts its own trace"
    );
    let producers = spans.all("send");
    assert_eq!(producers.len(), 3);
    assert_eq!(consumer.links.len(), 3);
    for (link, producer) in consumer.links.iter().zip(&producers) {
        assert_eq!(link.span_context.span_id(), producer.span_context.span_id());
        assert_eq!(
            link.span_context.trace_id(),
            producer.span_context.trace_id()
        );
        assert_eq!(
            link.attributes
                .iter()
                .find(|kv| kv.key.as_str() == "messaging.message.id")
                .map(|kv| kv.value.clone()),
            attr(producer, "messaging.message.id")
        );
    }
    assert_eq!(
        attr(consumer, "messaging.batch.message_count"),
        Some(Value::I64(3))
    );
}

#[test]
fn single_message_consumer_continues_the_trace() {
    let (_, spans) = capture(|| {
        let headers = send(9);
        let _isolated = opentelemetry::Context::new().attach();
        process_one(&headers);
    });
    spans.assert_child_of("process_one", "send");
}

#[test]
fn link_outside_a_span_or_to_nothing_is_ignored() {
    let (_, spans) = capture(|| {
        traced::link!(opentelemetry::Context::new());
        process(&[(1, HashMap::new())]);
    });
    assert!(spans.one("process").links.is_empty());
}
