//! Without `traced::init()`, `#[traced]` records to whatever global tracer provider
//! the application installed itself, so `traced` composes with existing setups.
#![cfg(feature = "enabled")]

use opentelemetry::trace::TracerProvider as _;
use traced::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use traced::traced;

#[traced(kind = client, attrs(n = n))]
fn work(n: u8) -> u8 {
    n + 1
}

#[test]
fn spans_go_to_the_application_provider() {
    // Before any provider: a no-op.
    assert_eq!(work(1), 2);

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    assert_eq!(work(2), 3);

    // Hand-written spans of the application and #[traced] spans nest together.
    let tracer = provider.tracer("app");
    opentelemetry::trace::Tracer::in_span(&tracer, "handwritten", |_cx| work(3));

    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let names: Vec<_> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["work", "work", "handwritten"]);
    assert_eq!(spans[1].parent_span_id, spans[2].span_context.span_id());
    assert_eq!(spans[0].instrumentation_scope.name(), "traced");
    assert_eq!(
        spans[0]
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "n")
            .map(|kv| kv.value.clone()),
        Some(opentelemetry::Value::I64(2))
    );
}
