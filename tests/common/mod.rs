//! Captures the spans a closure produces, through the SDK's in-memory exporter.
#![allow(dead_code)]

pub mod io;
pub mod metrics;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Key, Value};
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

/// The tracer provider is global: tests in one binary take turns.
static LOCK: Mutex<()> = Mutex::new(());

pub struct Spans(pub Vec<SpanData>);

/// Runs `f` with `traced` installed on an in-memory exporter and returns its spans.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Spans) {
    let (out, spans, _) = capture_all(f);
    (out, spans)
}

/// Runs `f` with `traced` installed on in-memory exporters; returns its spans and
/// the metrics as of the end of `f`.
pub fn capture_all<R>(f: impl FnOnce() -> R) -> (R, Spans, metrics::Metrics) {
    capture_with(|b| b, f)
}

/// [`capture_all`] with more configuration of the builder.
pub fn capture_with<R>(
    configure: impl FnOnce(traced::Builder) -> traced::Builder,
    f: impl FnOnce() -> R,
) -> (R, Spans, metrics::Metrics) {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let exporter = InMemorySpanExporter::default();
    let metric_exporter = traced::opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let guard = configure(
        traced::Builder::new()
            .ignore_env()
            .simple_exporter(exporter.clone())
            .metric_exporter(metric_exporter.clone()),
    )
    .init();
    let out = f();
    guard.flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    let metrics = metrics::last_export(&metric_exporter);
    drop(guard);
    (out, Spans(spans), metrics)
}

/// [`capture`] for a future, on a current-thread Tokio runtime.
pub fn capture_async<F: Future>(f: F) -> (F::Output, Spans) {
    capture(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
}

/// [`capture`] for a future, on a multi-thread Tokio runtime.
pub fn capture_multi_thread<F: Future>(f: F) -> (F::Output, Spans) {
    capture(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
}

impl Spans {
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|s| s.name.as_ref()).collect()
    }

    /// The only span with this name.
    pub fn one(&self, name: &str) -> &SpanData {
        let found: Vec<_> = self.0.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one span named {name:?}, spans: {:?}",
            self.names()
        );
        found[0]
    }

    pub fn all(&self, name: &str) -> Vec<&SpanData> {
        self.0.iter().filter(|s| s.name == name).collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Asserts `child`'s parent is `parent` in the same trace.
    pub fn assert_child_of(&self, child: &str, parent: &str) {
        let (c, p) = (self.one(child), self.one(parent));
        assert_eq!(
            c.parent_span_id,
            p.span_context.span_id(),
            "{child} should be a child of {parent}"
        );
        assert_eq!(c.span_context.trace_id(), p.span_context.trace_id());
    }

    pub fn assert_root(&self, name: &str) {
        assert_eq!(
            self.one(name).parent_span_id,
            SpanId::INVALID,
            "{name} should be a root"
        );
    }
}

pub fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::new(key.to_owned()))
        .map(|kv| kv.value.clone())
}

pub fn attr_str(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(v) => v.as_str().into_owned(),
        None => panic!(
            "no attribute {key:?} on {:?}; it has {:?}",
            span.name, span.attributes
        ),
    }
}

pub fn event<'a>(span: &'a SpanData, name: &str) -> &'a opentelemetry::trace::Event {
    span.events
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no event {name:?} on {:?}: {:?}", span.name, span.events))
}

pub fn event_attr(event: &opentelemetry::trace::Event, key: &str) -> Option<Value> {
    event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

pub fn assert_error(span: &SpanData, message: &str) {
    assert_eq!(
        span.status,
        Status::error(message.to_owned()),
        "status of {:?}",
        span.name
    );
}

pub fn assert_unset(span: &SpanData) {
    assert_eq!(span.status, Status::Unset, "status of {:?}", span.name);
}

pub fn assert_kind(span: &SpanData, kind: SpanKind) {
    assert_eq!(span.span_kind, kind, "kind of {:?}", span.name);
}

/// Runs `f` while no test has telemetry installed.
pub fn without_telemetry<R>(f: impl FnOnce() -> R) -> R {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    f()
}
