//! `traced`'s own span path: `#[traced]` spans are recorded without an SDK span
//! and become the same `SpanData` as the SDK's path makes (`TRACED_SPAN_PATH=sdk`);
//! code written against the OpenTelemetry API sees and changes them; behind
//! batch exporters they wait in per-thread buffers and none is lost on flush,
//! on guard drop or when their thread exits; a processor that must see spans
//! start keeps the SDK's spans.
#![cfg(feature = "enabled")]

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use traced::opentelemetry_sdk::trace::{
    InMemorySpanExporter, SpanData, SpanExporter, SpanProcessor,
};
use traced::traced;

static LOCK: Mutex<()> = Mutex::new(());

#[derive(Debug)]
struct Failure;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it failed")
    }
}

#[traced(kind = server, attrs(user = user, tries = 3), ret, err)]
fn handle(user: &str, fail: bool) -> Result<u32, Failure> {
    // The OpenTelemetry API on the current span.
    let cx = Context::current();
    let span = cx.span();
    assert!(span.is_recording());
    span.set_attribute(KeyValue::new("api.attribute", 7));
    span.add_event("api.event", vec![KeyValue::new("k", "v")]);
    traced::event!("macro.event", n = 1);
    traced::attr!(late = true);
    inner(2);
    if fail {
        Err(Failure)
    } else {
        Ok(41)
    }
}

#[traced(links(linked()))]
fn inner(n: u8) -> u8 {
    n.wrapping_mul(2)
}

fn linked() -> SpanContext {
    SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
        SpanId::from(0xb7ad6b7169203331_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

/// Runs `f` with `traced` on an in-memory exporter (behind a batch processor
/// when `batch`), with the SDK's spans when `sdk`.
fn run<R>(batch: bool, sdk: bool, f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    run_alone(batch, sdk, f)
}

/// [`run`] for a caller that holds [`LOCK`].
fn run_alone<R>(batch: bool, sdk: bool, f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let exporter = InMemorySpanExporter::default();
    let mut b = traced::Builder::new()
        .ignore_env()
        .metrics_exporters([])
        .logs_exporters([]);
    b = if batch {
        b.batch_exporter(exporter.clone())
    } else {
        b.simple_exporter(exporter.clone())
    };
    if sdk {
        b = b.setting("TRACED_SPAN_PATH", "sdk");
    }
    let guard = b.init();
    let out = f();
    guard.flush().expect("flush");
    let spans = exporter.get_finished_spans().unwrap();
    drop(guard);
    (out, spans)
}

/// What a span shows, without its ids and times (which differ between runs).
fn shape(spans: &[SpanData]) -> Vec<String> {
    let mut shapes: Vec<String> = spans
        .iter()
        .map(|s| {
            let parent = spans
                .iter()
                .find(|p| p.span_context.span_id() == s.parent_span_id)
                .map(|p| p.name.to_string());
            let events: Vec<String> = s
                .events
                .iter()
                .map(|e| {
                    format!(
                        "{}{:?}/{}",
                        e.name, e.attributes, e.dropped_attributes_count
                    )
                })
                .collect();
            let links: Vec<String> = s
                .links
                .iter()
                .map(|l| format!("{:?}{:?}", l.span_context, l.attributes))
                .collect();
            format!(
                "{} kind={:?} parent={parent:?} remote={} sampled={} attrs={:?} dropped={} \
                 events={events:?}/{} links={links:?}/{} status={:?} scope={:?}",
                s.name,
                s.span_kind,
                s.parent_span_is_remote,
                s.span_context.is_sampled(),
                s.attributes,
                s.dropped_attributes_count,
                s.events.dropped_count,
                s.links.dropped_count,
                s.status,
                s.instrumentation_scope,
            )
        })
        .collect();
    shapes.sort();
    shapes
}

#[test]
fn the_span_data_is_what_the_sdk_path_makes() {
    let work = || {
        let _ = handle("ada", false);
        let _ = handle("bob", true);
    };
    let (_, sdk) = run(false, true, work);
    let (_, fast) = run(false, false, work);
    let (_, buffered) = run(true, false, work);
    assert_eq!(sdk.len(), 4);
    assert_eq!(shape(&fast), shape(&sdk));
    assert_eq!(shape(&buffered), shape(&sdk));
    // And it is what the annotations say.
    let failed = fast
        .iter()
        .find(|s| s.name == "handle" && matches!(s.status, Status::Error { .. }))
        .expect("the failed call");
    assert_eq!(failed.span_kind, SpanKind::Server);
    let keys: Vec<&str> = failed.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "code.function.name",
            "code.file.path",
            "code.line.number",
            "user",
            "tries",
            "api.attribute",
            "late",
        ]
    );
    let events: Vec<&str> = failed.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(events, ["api.event", "macro.event", "exception"]);
}

/// The SDK's span limits (`OTEL_SPAN_{ATTRIBUTE,EVENT,LINK}_COUNT_LIMIT`, read
/// by both paths as the SDK's provider reads them) drop the same attributes,
/// events and links.
#[test]
fn the_span_limits_drop_what_the_sdk_drops() {
    let limits = [
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "0"),
    ];
    // The SDK reads them from the process environment: no other test runs
    // meanwhile.
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    for (k, v) in limits {
        std::env::set_var(k, v);
    }
    let work = || {
        let _ = handle("ada", true);
    };
    let (_, sdk) = run_alone(false, true, work);
    let (_, fast) = run_alone(false, false, work);
    let (_, buffered) = run_alone(true, false, work);
    for (k, _) in limits {
        std::env::remove_var(k);
    }
    assert_eq!(shape(&fast), shape(&sdk));
    assert_eq!(shape(&buffered), shape(&sdk));
    let failed = fast.iter().find(|s| s.name == "handle").unwrap();
    assert_eq!(failed.attributes.len(), 5);
    assert_eq!(failed.dropped_attributes_count, 2);
    assert_eq!(failed.events.len(), 2);
    assert_eq!(failed.events.dropped_count, 1);
    let inner = fast.iter().find(|s| s.name == "inner").unwrap();
    assert_eq!((inner.links.len(), inner.links.dropped_count), (0, 1));
}

#[test]
fn the_current_context_carries_the_span_to_the_api_and_to_headers() {
    #[traced]
    fn outer() -> (SpanContext, String, SpanContext) {
        let sc = Context::current().span().span_context().clone();
        let mut headers = std::collections::HashMap::new();
        traced::propagation::inject(&mut headers);
        // A span of the OpenTelemetry API under it, through the global provider.
        let tracer = opentelemetry::global::tracer_provider().tracer("api");
        let child = tracer.in_span("api.child", |cx| cx.span().span_context().clone());
        (sc, headers.remove("traceparent").unwrap_or_default(), child)
    }
    let ((sc, traceparent, child), spans) = run(true, false, outer);
    assert!(sc.is_valid() && sc.is_sampled());
    assert_eq!(
        traceparent,
        format!("00-{}-{}-03", sc.trace_id(), sc.span_id()),
        "the random and sampled flags"
    );
    assert_eq!(child.trace_id(), sc.trace_id());
    let api = spans.iter().find(|s| s.name == "api.child").unwrap();
    assert_eq!(api.parent_span_id, sc.span_id());
    let outer = spans.iter().find(|s| s.name == "outer").unwrap();
    assert_eq!(outer.span_context, sc);
}

#[test]
fn async_spans_across_worker_threads_and_spans_of_exited_threads_are_all_delivered() {
    #[traced]
    async fn step(i: u32) -> u32 {
        tokio::task::yield_now().await;
        inner(1);
        i
    }
    #[traced]
    async fn job() -> u32 {
        let mut handles = Vec::new();
        for i in 0..50 {
            handles.push(tokio::spawn(step(i).with_current_context()));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    }
    let (sum, spans) = run(true, false, || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sum = rt.block_on(job());
        // Threads that end (their buffers outlive them until collected).
        let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(|| inner(3))).collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(rt);
        sum
    });
    assert_eq!(sum, (0..50).sum::<u32>());
    let count = |name: &str| spans.iter().filter(|s| s.name == name).count();
    assert_eq!(count("job"), 1);
    assert_eq!(count("step"), 50);
    assert_eq!(count("inner"), 54);
    let job = spans.iter().find(|s| s.name == "job").unwrap();
    for s in spans.iter().filter(|s| s.name == "step") {
        assert_eq!(s.parent_span_id, job.span_context.span_id());
        let inner = spans
            .iter()
            .filter(|c| c.parent_span_id == s.span_context.span_id())
            .count();
        assert_eq!(inner, 1, "each step has its inner span");
    }
}

/// Keeps what it exports, also after shutdown.
#[derive(Debug, Default, Clone)]
struct Keep(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    async fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> traced::opentelemetry_sdk::error::OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

#[test]
fn dropping_the_guard_delivers_the_buffered_spans() {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let exporter = Keep::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .metrics_exporters([])
        .logs_exporters([])
        .setting("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .batch_exporter(exporter.clone())
        .init();
    for i in 0..1000 {
        inner(i as u8);
    }
    drop(guard);
    assert_eq!(exporter.0.lock().unwrap().len(), 1000);
}

/// Counts the spans it sees start and end.
#[derive(Debug, Default, Clone)]
struct Counting(Arc<(AtomicUsize, AtomicUsize)>);

impl SpanProcessor for Counting {
    fn on_start(&self, _span: &mut traced::opentelemetry_sdk::trace::Span, _cx: &Context) {
        self.0 .0.fetch_add(1, Ordering::Relaxed);
    }
    fn on_end(&self, _span: SpanData) {
        self.0 .1.fetch_add(1, Ordering::Relaxed);
    }
    fn force_flush(&self) -> traced::opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(
        &self,
        _timeout: std::time::Duration,
    ) -> traced::opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

#[test]
fn a_processor_added_in_code_sees_every_span_start() {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let counting = Counting::default();
    let exporter = InMemorySpanExporter::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .metrics_exporters([])
        .logs_exporters([])
        .span_processor(counting.clone())
        .batch_exporter(exporter.clone())
        .init();
    let _ = handle("ada", false);
    guard.flush().unwrap();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 2);
    drop(guard);
    assert_eq!(counting.0 .0.load(Ordering::Relaxed), 2, "on_start");
    assert_eq!(counting.0 .1.load(Ordering::Relaxed), 2, "on_end");
}

#[test]
fn unsampled_spans_carry_their_context_and_record_nothing() {
    #[traced]
    fn probe() -> (bool, bool, String) {
        let cx = Context::current();
        let mut headers = std::collections::HashMap::new();
        traced::propagation::inject_context(&cx, &mut headers);
        let span = cx.span();
        (
            span.span_context().is_valid(),
            span.is_recording(),
            headers.remove("traceparent").unwrap_or_default(),
        )
    }
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let exporter = InMemorySpanExporter::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .metrics_exporters([])
        .logs_exporters([])
        .sampler(traced::Sampler::always_off())
        .batch_exporter(exporter.clone())
        .init();
    let (valid, recording, traceparent) = probe();
    guard.flush().unwrap();
    drop(guard);
    assert!(valid && !recording);
    assert!(traceparent.ends_with("-02"), "{traceparent}");
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}
