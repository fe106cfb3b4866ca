//! Without `traced::init()`, `#[traced]` records nothing (one relaxed load per
//! call) until the application opts into the global tracer provider it installed
//! itself with `traced::use_global_tracer_provider()`; then `traced` composes
//! with that setup, and a guard of `init` takes precedence while it lives.
#![cfg(feature = "enabled")]

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use traced::traced;

#[traced(kind = client, attrs(n = n))]
fn work(n: u8) -> u8 {
    n + 1
}

#[traced]
fn span_is_valid() -> bool {
    opentelemetry::Context::current()
        .span()
        .span_context()
        .is_valid()
}

fn names(exporter: &InMemorySpanExporter) -> Vec<String> {
    exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect()
}

// One test: the opt-in holds for the whole process.
#[test]
fn spans_go_to_the_application_provider_once_opted_in() {
    // Before any provider: a no-op.
    assert_eq!(work(1), 2);
    assert!(!span_is_valid());

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());

    // A provider alone is not looked up: no span, no context.
    assert_eq!(work(2), 3);
    assert!(!span_is_valid());
    provider.force_flush().unwrap();
    assert!(names(&exporter).is_empty(), "{:?}", names(&exporter));

    traced::use_global_tracer_provider();
    assert_eq!(work(3), 4);
    assert!(span_is_valid());

    // Hand-written spans of the application and #[traced] spans nest together.
    let tracer = provider.tracer("app");
    opentelemetry::trace::Tracer::in_span(&tracer, "handwritten", |_cx| work(4));

    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let seen: Vec<_> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(seen, ["work", "span_is_valid", "work", "handwritten"]);
    assert_eq!(spans[2].parent_span_id, spans[3].span_context.span_id());
    assert_eq!(spans[0].instrumentation_scope.name(), "traced");
    assert_eq!(
        spans[0]
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "n")
            .map(|kv| kv.value.clone()),
        Some(opentelemetry::Value::I64(3))
    );
    exporter.reset();

    // init's guard takes precedence while it lives, and the opt-in holds after it.
    let init_exporter = InMemorySpanExporter::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .simple_exporter(init_exporter.clone())
        .init();
    work(5);
    let during_init: Vec<_> = init_exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(during_init, ["work"]);
    drop(guard);

    // The guard put the no-op provider back as the global one: the application
    // installs its own again, and spans go there without a second opt-in.
    opentelemetry::global::set_tracer_provider(provider.clone());
    work(6);
    provider.force_flush().unwrap();
    assert_eq!(names(&exporter), ["work"]);
}
