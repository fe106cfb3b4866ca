//! Dropping the guard returns promptly whatever the collector does: when its port
//! refuses connections, when it accepts them and never answers, and when the
//! guard lives inside a Tokio runtime, current-thread or multi-thread.
//!
//! These are hang checks, not benchmarks: the only bound is a loose one.
#![cfg(all(feature = "enabled", feature = "otlp"))]
// The lock serialises whole tests and each async test has its own runtime, so
// holding it across `.await` cannot deadlock.
#![allow(clippy::await_holding_lock)]

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use traced::traced;

/// A hang bound, not a benchmark: a drop that waits out the whole default
/// shutdown timeout (5 s) fails. A prompt one takes about a second (the exporter
/// retries a refused connection a few times) or the 500 ms shutdown timeout.
const HANG_BOUND: Duration = Duration::from_secs(5);

const PROTOCOLS: [&str; 2] = ["http/protobuf", "grpc"];

// ---------------------------------------------------------------------------
// Traced code to export
// ---------------------------------------------------------------------------

#[traced(kind = server, attrs(order.id = id))]
fn place_order(id: u32) -> u32 {
    traced::event!("order.received", id = id);
    reserve(id) + charge(id)
}

#[traced]
fn reserve(id: u32) -> u32 {
    id % 7
}

#[traced(kind = client)]
fn charge(id: u32) -> u32 {
    id % 3
}

#[traced(kind = server)]
async fn handle_request(id: u32) -> u32 {
    tokio::task::yield_now().await;
    let charged = charge_remotely(id).await;
    charged + place_order(id)
}

#[traced(kind = client)]
async fn charge_remotely(id: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    id * 2
}

/// What `place_order(id)` returns.
fn ordered(id: u32) -> u32 {
    id % 7 + id % 3
}

/// What `handle_request(id)` returns.
fn handled(id: u32) -> u32 {
    id * 2 + ordered(id)
}

fn make_some_spans() {
    for id in 0..20 {
        place_order(id);
    }
}

// ---------------------------------------------------------------------------
// An unreachable collector
// ---------------------------------------------------------------------------

#[test]
fn guard_drops_promptly_when_the_http_endpoint_refuses_connections() {
    drop_is_prompt_when_the_port_is_closed("http/protobuf");
}

#[test]
fn guard_drops_promptly_when_the_grpc_endpoint_refuses_connections() {
    drop_is_prompt_when_the_port_is_closed("grpc");
}

fn drop_is_prompt_when_the_port_is_closed(protocol: &str) {
    let _turn = serial();
    set_otel_env(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &closed_endpoint()),
    ]);
    let telemetry = traced::init();
    make_some_spans();
    assert_drop_is_prompt(telemetry, protocol);
}

#[test]
fn guard_drops_within_its_shutdown_timeout_when_the_http_endpoint_never_answers() {
    drop_is_prompt_when_the_endpoint_never_answers("http/protobuf");
}

#[test]
fn guard_drops_within_its_shutdown_timeout_when_the_grpc_endpoint_never_answers() {
    drop_is_prompt_when_the_endpoint_never_answers("grpc");
}

/// The export would wait 30 s for an answer; the guard waits only its shutdown timeout.
fn drop_is_prompt_when_the_endpoint_never_answers(protocol: &str) {
    let _turn = serial();
    let black_hole = BlackHole::open();
    set_otel_env(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &black_hole.endpoint()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "30000"),
    ]);
    let telemetry = traced::Builder::new()
        .shutdown_timeout(Duration::from_millis(500))
        .init();
    make_some_spans();
    assert_drop_is_prompt(telemetry, protocol);
    drop(black_hole);
}

#[test]
fn otlp_chosen_in_code_drops_promptly_too() {
    let _turn = serial();
    set_otel_env(&[
        // The code's choice replaces this.
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &closed_endpoint()),
    ]);
    let telemetry = traced::Builder::new()
        .traces_exporters([traced::TracesExporter::Otlp])
        .init();
    make_some_spans();
    assert_drop_is_prompt(telemetry, "http/protobuf (default)");
}

// ---------------------------------------------------------------------------
// Inside Tokio runtimes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn init_and_drop_inside_a_current_thread_runtime() {
    let _turn = serial();
    for protocol in PROTOCOLS {
        set_otel_env(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &closed_endpoint()),
        ]);
        let telemetry = traced::init();
        assert_eq!(handle_request(5).await, handled(5));
        let spawned = tokio::spawn(handle_request(6));
        assert_eq!(spawned.await.expect("a traced task panicked"), handled(6));
        assert_drop_is_prompt(telemetry, protocol);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_and_drop_inside_a_multi_thread_runtime_with_spans_from_workers() {
    let _turn = serial();
    for protocol in PROTOCOLS {
        set_otel_env(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &closed_endpoint()),
        ]);
        let telemetry = traced::init();
        let tasks: Vec<_> = (0..16u32)
            .map(|id| tokio::spawn(async move { (id, handle_request(id).await) }))
            .collect();
        for task in tasks {
            let (id, out) = task
                .await
                .expect("a traced task on a worker thread panicked");
            assert_eq!(out, handled(id));
        }
        let blocking = tokio::task::spawn_blocking(|| place_order(9));
        assert_eq!(
            blocking.await.expect("a traced blocking task panicked"),
            ordered(9)
        );
        assert_drop_is_prompt(telemetry, protocol);
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn assert_drop_is_prompt(telemetry: traced::Guard, protocol: &str) {
    let started = Instant::now();
    drop(telemetry);
    let took = started.elapsed();
    assert!(
        took < HANG_BOUND,
        "dropping the guard ({protocol}) took {took:?}, more than {HANG_BOUND:?}"
    );
}

/// The tracer provider and the environment are global: tests take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Replaces every `OTEL_*` variable of the process by `vars`, so that nothing
/// from the caller's environment (or from another test) leaks in.
fn set_otel_env(vars: &[(&str, &str)]) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            std::env::remove_var(name);
        }
    }
    // The endpoints are local: never reach them through a proxy from the environment.
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    std::env::set_var("no_proxy", "127.0.0.1,localhost");
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
}

/// An endpoint on a port of 127.0.0.1 that nothing listens on (it was free a
/// moment ago), so connections to it are refused.
fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A collector that accepts connections and never answers.
struct BlackHole {
    port: u16,
    closing: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl BlackHole {
    fn open() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let closing = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&closing);
        let acceptor = thread::spawn(move || {
            let mut held = Vec::new();
            for connection in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                // Keep it open, unread and unanswered.
                held.extend(connection.ok());
            }
        });
        BlackHole {
            port,
            closing,
            acceptor: Some(acceptor),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for BlackHole {
    /// Closes every connection, which ends the exports still waiting on them.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Release);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the acceptor
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// An exporter that takes its time, so that the batch processor's queue fills.
#[derive(Debug)]
struct Slow;

impl traced::opentelemetry_sdk::trace::SpanExporter for Slow {
    fn export(
        &self,
        _batch: Vec<traced::opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = traced::opentelemetry_sdk::error::OTelSdkResult> + Send
    {
        std::thread::sleep(Duration::from_millis(200));
        std::future::ready(Ok(()))
    }
}

#[traced::traced]
fn burst() {}

#[test]
fn a_full_queue_drops_counts_and_never_blocks() {
    let _turn = serial();
    set_otel_env(&[]);
    let metrics = traced::opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let guard = traced::Builder::new()
        .setting("OTEL_BSP_MAX_QUEUE_SIZE", "4")
        .setting("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2")
        .traces_exporters([])
        .logs_exporters([])
        .batch_exporter(Slow)
        .metric_exporter(metrics.clone())
        .shutdown_timeout(Duration::from_secs(5))
        .init();
    let started = Instant::now();
    for _ in 0..200 {
        burst();
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "200 spans took {elapsed:?}: the application blocked on a full queue"
    );
    guard.flush().ok();
    let dropped: u64 = processed(&metrics, Some("queue_full"));
    drop(guard);
    assert!(dropped > 0, "a queue of 4 behind a slow exporter drops");
}

/// The SDK's `otel.sdk.processor.span.processed` count with this `error.type`.
fn processed(
    exporter: &traced::opentelemetry_sdk::metrics::InMemoryMetricExporter,
    error: Option<&str>,
) -> u64 {
    use traced::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let all = exporter.get_finished_metrics().unwrap();
    let Some(last) = all.last() else { return 0 };
    let mut total = 0;
    for scope in last.scope_metrics() {
        for m in scope.metrics() {
            if m.name() != "otel.sdk.processor.span.processed" {
                continue;
            }
            if let AggregatedMetrics::U64(MetricData::Sum(sum)) = m.data() {
                for p in sum.data_points() {
                    let e = p
                        .attributes()
                        .find(|kv| kv.key.as_str() == "error.type")
                        .map(|kv| kv.value.as_str().into_owned());
                    if e.as_deref() == error {
                        total += p.value();
                    }
                }
            }
        }
    }
    total
}
