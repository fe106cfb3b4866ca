//! A producer writes its trace context into each message's headers; a batch
//! consumer starts one span for the batch and links it to every message it handles
//! (a batch has many parents, so links, not a parent, connect the traces). The
//! attribute keys are the messaging semantic conventions'.
//!
//! ```text
//! cargo run --example messaging
//! ```

use std::collections::{HashMap, VecDeque};
use traced::traced;

/// A message as a broker carries it: a body and string headers.
struct Message {
    id: u64,
    headers: HashMap<String, String>,
    body: String,
}

#[traced(kind = producer, name = "send orders", attrs(
    "messaging.system" = "in-memory",
    "messaging.destination.name" = "orders",
    "messaging.operation.type" = "send",
    "messaging.message.id" = id,
))]
fn publish(queue: &mut VecDeque<Message>, id: u64, body: &str) {
    let mut headers = HashMap::new();
    traced::propagation::inject(&mut headers);
    queue.push_back(Message {
        id,
        headers,
        body: body.to_owned(),
    });
}

#[traced(kind = server, name = "POST /orders")]
fn checkout(queue: &mut VecDeque<Message>, id: u64) {
    publish(queue, id, "2 apples");
}

#[traced(kind = consumer, name = "process orders", root, attrs(
    "messaging.system" = "in-memory",
    "messaging.destination.name" = "orders",
    "messaging.operation.type" = "process",
    "messaging.batch.message_count" = batch.len(),
))]
fn consume(batch: Vec<Message>) -> usize {
    let mut bytes = 0;
    for message in &batch {
        traced::link!(
            traced::propagation::extract(&message.headers),
            "messaging.message.id" = message.id
        );
        bytes += message.body.len();
    }
    bytes
}

fn main() {
    let _telemetry = traced::init!();
    let mut queue = VecDeque::new();
    for id in 1..=3 {
        checkout(&mut queue, id);
    }
    let bytes = consume(queue.drain(..).collect());
    println!("processed {bytes} bytes");
}
