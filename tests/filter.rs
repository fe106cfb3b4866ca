//! A span the filter drops takes its local subtree with it: the spans started
//! below it in this process, on other threads and across `.await`, are not
//! exported, and span metrics follow the same choice.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanId;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use traced::process::{SpanFilter, SpanMetrics};
use traced::traced;

#[traced]
fn lookup() {
    deep();
}

#[traced]
fn deep() {}

#[traced]
async fn fetch() {
    tokio::task::yield_now().await;
    lookup();
}

#[traced]
fn on_thread() {
    lookup();
}

#[traced]
async fn background() {
    // Starts its child after the request span ended.
    tokio::time::sleep(Duration::from_millis(50)).await;
    lookup();
}

#[traced(kind = server, name = "GET /stock/{sku}")]
async fn stock() {
    lookup();
    fetch().await;
    let cx = opentelemetry::Context::current();
    std::thread::spawn(move || {
        let _cx = cx.attach();
        on_thread();
    })
    .join()
    .unwrap();
    // Left running: it outlives this span.
    tokio::spawn(background().with_current_context());
}

#[traced(kind = server, attrs(http.route = "/metrics"))]
fn scrape() {
    lookup();
}

#[traced(kind = server, name = "GET /cart")]
async fn cart() {
    lookup();
}

/// Runs one request of each kind on a multi-thread runtime and waits for the
/// task `stock` leaves running.
fn run(filter: SpanFilter) -> (Spans, common::metrics::Metrics) {
    let ((), spans, metrics) = capture_with(
        |b| b.filter(filter).span_metrics(SpanMetrics::new()),
        || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    stock().await;
                    scrape();
                    cart().await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                });
        },
    );
    (spans, metrics)
}

fn filter() -> SpanFilter {
    SpanFilter::new()
        .drop_name("GET /stock/*")
        .drop_attribute("http.route", "/metrics")
}

/// Calls counted by span metrics, by span name.
fn calls(metrics: &common::metrics::Metrics) -> BTreeMap<String, f64> {
    let mut calls = BTreeMap::new();
    for point in metrics.named("traces.span.metrics.calls") {
        *calls.entry(point.attrs["span.name"].clone()).or_default() += point.value;
    }
    calls
}

#[test]
fn a_dropped_span_drops_its_local_subtree() {
    let (spans, metrics) = run(filter());
    let mut names = spans.names();
    names.sort_unstable();
    assert_eq!(
        names,
        ["GET /cart", "deep", "lookup"],
        "only the kept request"
    );

    // No span is exported with a parent that is not.
    let exported: HashSet<SpanId> = spans.0.iter().map(|s| s.span_context.span_id()).collect();
    for span in &spans.0 {
        assert!(
            span.parent_span_id == SpanId::INVALID || exported.contains(&span.parent_span_id),
            "{} has a parent nobody sees",
            span.name
        );
    }

    // Span metrics still count every span, the dropped subtrees too.
    let calls = calls(&metrics);
    assert_eq!(calls["GET /stock/{sku}"], 1.0, "{calls:?}");
    assert_eq!(calls["scrape"], 1.0, "{calls:?}");
    // stock: directly, through fetch, on_thread and background; scrape; cart.
    assert_eq!(calls["lookup"], 6.0, "{calls:?}");
    assert_eq!(calls["background"], 1.0, "{calls:?}");
}

#[test]
fn span_metrics_leave_out_the_dropped_subtree_when_asked() {
    let (spans, metrics) = run(filter().also_from_span_metrics());
    assert_eq!(spans.0.len(), 3);
    let calls = calls(&metrics);
    let expected: BTreeMap<String, f64> = [("GET /cart", 1.0), ("deep", 1.0), ("lookup", 1.0)]
        .into_iter()
        .map(|(name, n)| (name.to_owned(), n))
        .collect();
    assert_eq!(calls, expected);
}

#[test]
fn a_filter_dropping_nothing_changes_nothing() {
    let (spans, _) = run(SpanFilter::new().drop_name("GET /nothing"));
    // stock with four lookups (two spans each), fetch, on_thread and
    // background; scrape with one; cart with one.
    assert_eq!(spans.0.len(), 1 + 4 * 2 + 3 + (1 + 2) + (1 + 2));
}
