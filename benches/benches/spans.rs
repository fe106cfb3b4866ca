//! The cost per call of `#[traced]` beside the plain function, the same span
//! written by hand with the OpenTelemetry SDK, `tracing` + `tracing-opentelemetry`,
//! `fastrace` and `autometrics`, in one run.
//!
//! Only one global tracer provider can be installed at a time, so the groups run
//! in order, each installing its pipeline before it measures and shutting it down
//! after: first what needs nothing installed (the floor, before `init()`), then
//! `OTEL_SDK_DISABLED`, unsampled, sampled, trees, attributes and events, metrics.
//!
//! `cargo bench -p traced-benches --bench spans` (add `-- --quick` for a smoke run;
//! `benches/run.sh` runs every target and prints the table of BENCHMARKS.md).

use criterion::{BenchmarkId, Criterion};
use opentelemetry_sdk::trace::Sampler;
use std::hint::black_box;
use std::time::Duration;
use traced_benches::*;

const TREE_SIZES: [u64; 3] = [1, 10, 100];

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(1000))
        .measurement_time(Duration::from_millis(2000))
        .sample_size(50)
        .configure_from_args();
    traced_benches::spin(500);

    floor(&mut c);
    before_init(&mut c);
    sdk_disabled(&mut c);
    unsampled(&mut c);
    sampled(&mut c);
    trees(&mut c);
    attributes_and_events(&mut c);
    metrics(&mut c);

    fastrace::flush();
    c.final_summary();
}

/// The plain functions, before anything is installed.
fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    g.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    g.bench_function("plain_attrs", |b| {
        b.iter(|| plain_attrs(black_box(7), black_box(3)))
    });
    for n in TREE_SIZES {
        g.bench_with_input(BenchmarkId::new("plain_tree", n), &n, |b, &n| {
            b.iter(|| plain_tree(black_box(n)))
        });
    }
    g.finish();
}

/// Nothing installed: no `init()`, no global provider, no subscriber, no reporter.
fn before_init(c: &mut Criterion) {
    // What hand-written code holds before a provider is installed: a tracer of the
    // global (no-op) provider.
    let global = opentelemetry::global::tracer("hand-written");
    let mut g = c.benchmark_group("before_init");
    g.bench_function("traced", |b| b.iter(|| traced_fn(black_box(7))));
    g.bench_function("sdk_manual", |b| {
        b.iter(|| sdk_manual(&global, black_box(7)))
    });
    g.bench_function("sdk_in_span", |b| {
        b.iter(|| sdk_in_span(&global, black_box(7)))
    });
    g.bench_function("tracing", |b| b.iter(|| tracing_fn(black_box(7))));
    g.bench_function("fastrace", |b| b.iter(|| fastrace_fn(black_box(7))));
    g.finish();
}

/// `OTEL_SDK_DISABLED=true`: `init()` installs nothing.
fn sdk_disabled(c: &mut Criterion) {
    std::env::set_var("OTEL_SDK_DISABLED", "true");
    let guard = traced::Builder::new().init();
    std::env::remove_var("OTEL_SDK_DISABLED");
    assert!(guard.tracer_provider().is_none(), "the SDK is disabled");
    let mut g = c.benchmark_group("sdk_disabled");
    g.bench_function("traced", |b| b.iter(|| traced_fn(black_box(7))));
    // The hand-written equivalent: the global provider is still the no-op one.
    let global = opentelemetry::global::tracer("hand-written");
    g.bench_function("sdk_manual", |b| {
        b.iter(|| sdk_manual(&global, black_box(7)))
    });
    g.finish();
    drop(guard);
}

/// `Sampler::AlwaysOff`: spans are created (their context propagates) but not recorded.
fn unsampled(c: &mut Criterion) {
    let guard = traced_pipeline(Sampler::AlwaysOff);
    let tracer = sdk_tracer(&guard);
    let mut g = c.benchmark_group("unsampled");
    g.bench_function("traced", |b| b.iter(|| traced_fn(black_box(7))));
    g.bench_function("sdk_manual", |b| {
        b.iter(|| sdk_manual(&tracer, black_box(7)))
    });
    g.bench_function("sdk_in_span", |b| {
        b.iter(|| sdk_in_span(&tracer, black_box(7)))
    });
    tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
        g.bench_function("tracing", |b| b.iter(|| tracing_fn(black_box(7))));
    });
    // fastrace has no sampler: a `#[trace]` function with no root above it records nothing.
    g.bench_function("fastrace", |b| b.iter(|| fastrace_fn(black_box(7))));
    g.finish();
    drop(tracer);
    guard.shutdown().expect("shutdown");
}

/// `Sampler::AlwaysOn`, into a no-op exporter behind the batch processor.
fn sampled(c: &mut Criterion) {
    fastrace_reporter();
    let guard = traced_pipeline(Sampler::AlwaysOn);
    let tracer = sdk_tracer(&guard);
    let mut g = c.benchmark_group("sampled");
    g.bench_function("traced", |b| b.iter(|| traced_fn(black_box(7))));
    g.bench_function("sdk_manual", |b| {
        b.iter(|| sdk_manual(&tracer, black_box(7)))
    });
    g.bench_function("sdk_in_span", |b| {
        b.iter(|| sdk_in_span(&tracer, black_box(7)))
    });
    tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
        g.bench_function("tracing", |b| b.iter(|| tracing_fn(black_box(7))));
    });
    g.bench_function("fastrace", |b| b.iter(|| fastrace_root(black_box(7))));
    g.finish();
    drop(tracer);
    guard.shutdown().expect("shutdown");
}

/// A sampled root with 1, 10 and 100 children.
fn trees(c: &mut Criterion) {
    let guard = traced_pipeline(Sampler::AlwaysOn);
    let tracer = sdk_tracer(&guard);
    let mut g = c.benchmark_group("tree");
    for n in TREE_SIZES {
        g.bench_with_input(BenchmarkId::new("traced", n), &n, |b, &n| {
            b.iter(|| traced_tree(black_box(n)))
        });
        g.bench_with_input(BenchmarkId::new("sdk_manual", n), &n, |b, &n| {
            b.iter(|| sdk_tree(&tracer, black_box(n)))
        });
        tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
            g.bench_with_input(BenchmarkId::new("tracing", n), &n, |b, &n| {
                b.iter(|| tracing_tree(black_box(n)))
            });
        });
        g.bench_with_input(BenchmarkId::new("fastrace", n), &n, |b, &n| {
            b.iter(|| fastrace_tree(black_box(n)))
        });
    }
    g.finish();
    drop(tracer);
    guard.shutdown().expect("shutdown");
}

/// Three attributes (`args(..)`, `attrs(..)`), and one event with two attributes.
fn attributes_and_events(c: &mut Criterion) {
    {
        let guard = traced_pipeline(Sampler::AlwaysOff);
        let mut g = c.benchmark_group("attrs");
        g.bench_function("traced_unsampled", |b| {
            b.iter(|| traced_attrs(black_box(7), black_box(3)))
        });
        g.finish();
        guard.shutdown().expect("shutdown");
    }
    let guard = traced_pipeline(Sampler::AlwaysOn);
    let tracer = sdk_tracer(&guard);
    let mut g = c.benchmark_group("attrs");
    g.bench_function("traced", |b| {
        b.iter(|| traced_attrs(black_box(7), black_box(3)))
    });
    g.bench_function("sdk_manual", |b| {
        b.iter(|| sdk_attrs(&tracer, black_box(7), black_box(3)))
    });
    tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
        g.bench_function("tracing", |b| {
            b.iter(|| tracing_attrs(black_box(7), black_box(3)))
        });
    });
    g.bench_function("fastrace", |b| {
        b.iter(|| fastrace_attrs(black_box(7), black_box(3)))
    });
    g.finish();

    let mut g = c.benchmark_group("event");
    g.bench_function("traced", |b| b.iter(|| traced_event(black_box(7))));
    g.bench_function("sdk_manual", |b| {
        b.iter(|| sdk_event(&tracer, black_box(7)))
    });
    tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
        g.bench_function("tracing", |b| b.iter(|| tracing_event(black_box(7))));
    });
    g.bench_function("fastrace", |b| b.iter(|| fastrace_event(black_box(7))));
    g.finish();
    drop(tracer);
    guard.shutdown().expect("shutdown");
}

/// The two call metrics of autometrics (`function.calls`, `function.calls.duration`).
fn metrics(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics");
    {
        // Spans unsampled: what most calls of a sampled-down service pay.
        let guard = traced_metrics_pipeline(Sampler::AlwaysOff);
        let raw = RawInstruments::new();
        g.bench_function("traced", |b| b.iter(|| traced_metrics(black_box(7))));
        g.bench_function("derived", |b| b.iter(|| derived_metrics(black_box(7))));
        g.bench_function("sdk", |b| b.iter(|| sdk_metrics(&raw, black_box(7))));
        drop(raw);
        guard.shutdown().expect("shutdown");
    }
    {
        // With a sampled span: the span, and an exemplar per measurement.
        let guard = traced_metrics_pipeline(Sampler::AlwaysOn);
        g.bench_function("traced_sampled", |b| {
            b.iter(|| traced_metrics(black_box(7)))
        });
        guard.shutdown().expect("shutdown");
    }
    // autometrics records into its own prometheus-client registry.
    g.bench_function("autometrics", |b| b.iter(|| autometrics_fn(black_box(7))));
    g.finish();
}
