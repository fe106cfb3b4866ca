//! `#[traced(metrics(track_concurrency))]`: the autometrics specification's
//! `function.calls.concurrent` (`function_calls_concurrent` in Prometheus),
//! read from traced's own Prometheus endpoint on 127.0.0.1 while calls are in
//! flight and after they are over: +1 on entry, -1 on exit however the call
//! ends (return, `?`, panic, an `async fn` or a returned future completing or
//! dropped), labelled `function`, `module` and `service_name`, and only for
//! the functions that ask for it.
#![cfg(all(feature = "enabled", feature = "prometheus"))]

mod common;

use futures::channel::oneshot;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use traced::{traced, Objective, ObjectivePercentile};

/// One test at a time installs telemetry in this process.
static LOCK: Mutex<()> = Mutex::new(());

thread_local! {
    /// Where the functions under test read the page from while they run.
    static ENDPOINT: std::cell::Cell<Option<SocketAddr>> = const { std::cell::Cell::new(None) };
}

/// `function_calls_concurrent` of `function` on the page now (None: no series).
fn in_flight(function: &str) -> Option<f64> {
    let addr = ENDPOINT
        .with(|e| e.get())
        .expect("the endpoint of this test");
    let page = common::io::scrape_body(addr, "text/plain");
    let values: Vec<f64> = series(&page, "function_calls_concurrent")
        .into_iter()
        .filter(|(labels, _)| labels.get("function").map(String::as_str) == Some(function))
        .map(|(_, value)| value)
        .collect();
    assert!(values.len() <= 1, "one series per function: {page}");
    values.first().copied()
}

/// The samples of the family `name`: (labels, value).
fn series(page: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    page.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(|l| {
            let (labels, value) = l[name.len() + 1..].rsplit_once("} ").expect("a sample");
            let labels = labels
                .split(',')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("k=\"v\"");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            (labels, value.parse().expect("a number"))
        })
        .collect()
}

fn telemetry() -> traced::Guard {
    let guard = traced::Builder::new()
        .ignore_env()
        .service_name("queue-worker")
        .traces_exporters([])
        .prometheus_endpoint("127.0.0.1", 0)
        .init();
    ENDPOINT.with(|e| e.set(guard.prometheus_addr()));
    guard
}

/// Runs `test` with telemetry installed, one test at a time.
fn with_telemetry(test: impl FnOnce()) {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let guard = telemetry();
    test();
    drop(guard);
}

// ---------------------------------------------------------------------------
// The functions under test
// ---------------------------------------------------------------------------

/// Reads the gauge from inside each call, `depth` calls deep.
#[traced(metrics(track_concurrency))]
fn nested(depth: u32, seen: &mut Vec<f64>) {
    seen.push(in_flight("nested").unwrap_or_default());
    if depth > 1 {
        nested(depth - 1, seen);
    }
}

#[traced(metrics(track_concurrency))]
fn parse_job(text: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = text.parse()?;
    if n == 0 {
        return Ok(0);
    }
    Ok(n * 2)
}

#[traced(metrics(track_concurrency))]
fn explode(seen: &mut Option<f64>) {
    *seen = in_flight("explode");
    panic!("the job failed");
}

#[traced(metrics(track_concurrency))]
async fn wait_for(signal: oneshot::Receiver<u32>) -> u32 {
    signal.await.unwrap_or_default()
}

#[traced(metrics(track_concurrency))]
fn returns_future(signal: oneshot::Receiver<u32>) -> impl Future<Output = u32> {
    async move { signal.await.unwrap_or_default() }
}

const JOBS: Objective = Objective::new("jobs").success_rate(ObjectivePercentile::P99);

#[traced(metrics(objective = JOBS, track_concurrency))]
fn with_objective() {}

#[traced(metrics)]
fn not_tracked() {}

/// Polls `future` once, without a runtime.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    future.poll(&mut Context::from_waker(&waker))
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// Inside a call the gauge counts it, and each nested call once more; once the
/// calls are over it is back to 0.
#[test]
fn calls_in_flight_are_counted_and_leave_when_they_return() {
    with_telemetry(|| {
        let mut seen = Vec::new();
        nested(3, &mut seen);
        assert_eq!(seen, [1.0, 2.0, 3.0]);
        assert_eq!(in_flight("nested"), Some(0.0));
    });
}

/// `?` and an early `return` leave the gauge as a plain return does.
#[test]
fn early_returns_and_question_marks_leave_the_gauge() {
    with_telemetry(|| {
        assert!(parse_job("not a number").is_err());
        assert_eq!(parse_job("0"), Ok(0));
        assert_eq!(parse_job("21"), Ok(42));
        assert_eq!(in_flight("parse_job"), Some(0.0));
    });
}

/// A panic unwinding through the call counts it out.
#[test]
fn a_panic_leaves_the_gauge() {
    with_telemetry(|| {
        let mut seen = None;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| explode(&mut seen)));
        assert!(caught.is_err());
        assert_eq!(seen, Some(1.0));
        assert_eq!(in_flight("explode"), Some(0.0));
    });
}

/// An `async fn` is in flight while it is polled and not done: it leaves
/// when it completes, and when it is dropped before completing.
#[test]
fn an_async_call_is_in_flight_until_it_completes_or_is_dropped() {
    with_telemetry(|| {
        let (send, signal) = oneshot::channel();
        let mut done = pin!(wait_for(signal));
        assert!(poll_once(done.as_mut()).is_pending());
        let (_keep, other) = oneshot::channel();
        let mut dropped = Box::pin(wait_for(other));
        assert!(poll_once(dropped.as_mut()).is_pending());
        assert_eq!(in_flight("wait_for"), Some(2.0));

        send.send(7).unwrap();
        assert_eq!(poll_once(done.as_mut()), Poll::Ready(7));
        assert_eq!(in_flight("wait_for"), Some(1.0));
        drop(dropped);
        assert_eq!(in_flight("wait_for"), Some(0.0));
    });
}

/// A function returning a future is in flight from the call until the
/// future completes or is dropped.
#[test]
fn a_returned_future_is_in_flight_until_it_completes_or_is_dropped() {
    with_telemetry(|| {
        let (send, signal) = oneshot::channel();
        let mut done = pin!(returns_future(signal));
        let (_keep, other) = oneshot::channel();
        let dropped = returns_future(other);
        assert_eq!(in_flight("returns_future"), Some(2.0));

        send.send(3).unwrap();
        assert_eq!(poll_once(done.as_mut()), Poll::Ready(3));
        assert_eq!(in_flight("returns_future"), Some(1.0));
        drop(dropped);
        assert_eq!(in_flight("returns_future"), Some(0.0));
    });
}

/// The series has the specification's labels, `function`, `module` and
/// `service_name`, and no other (not the objective's, which the call metrics
/// keep; the exporter's `otel_scope_name` and `otel_scope_version` are on
/// every series); a function that does not ask for it has no series.
#[test]
fn the_gauge_has_the_specification_labels_and_only_where_asked() {
    with_telemetry(|| {
        with_objective();
        not_tracked();
        let addr = ENDPOINT.with(|e| e.get()).unwrap();
        let page = common::io::scrape_body(addr, "text/plain");
        assert!(
            page.contains("# TYPE function_calls_concurrent gauge"),
            "{page}"
        );
        let gauges = series(&page, "function_calls_concurrent");
        // The exporter's `otel_scope_*` labels aside, which every series has.
        let labels: Vec<BTreeMap<String, String>> = gauges
            .iter()
            .map(|(l, _)| {
                l.iter()
                    .filter(|(k, _)| !k.starts_with("otel_scope_"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .collect();
        let expected = BTreeMap::from(
            [
                ("function", "with_objective"),
                ("module", "concurrent_calls"),
                ("service_name", "queue-worker"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert_eq!(labels, [expected], "{page}");
        assert_eq!(gauges[0].1, 0.0);

        let calls = series(&page, "function_calls_total");
        for function in ["with_objective", "not_tracked"] {
            assert!(
                calls
                    .iter()
                    .any(|(l, v)| l["function"] == function && *v == 1.0),
                "{function} is counted: {page}"
            );
        }
        let objective = calls
            .iter()
            .find(|(l, _)| l["function"] == "with_objective")
            .map(|(l, _)| l.get("objective_name").cloned());
        assert_eq!(objective, Some(Some("jobs".to_owned())));
    });
}
