//! `#[traced]` with the `enabled` feature off: every annotation must compile to
//! the plain function.
//!
//! Features unify in one build, so this is a second build of the benches package:
//! `cargo bench -p traced-benches --no-default-features --bench disabled`. Built
//! with `enabled` on (the default), it measures nothing and says so.
//!
//! The rows are named `enabled_off/*`; `benches/run.sh` puts them in the same table
//! as the rows of `spans` (same machine, same run of the script).

#[cfg(not(feature = "enabled"))]
mod subjects {
    use opentelemetry::KeyValue;
    use std::time::Instant;
    use traced::traced;
    use traced_benches::body;

    #[traced]
    #[inline(never)]
    pub fn traced_fn(x: u64) -> u64 {
        body(x)
    }

    #[traced(args(id), attrs(route = "/cart", items = items))]
    #[inline(never)]
    pub fn traced_attrs(id: u64, items: i64) -> u64 {
        body(id ^ items as u64)
    }

    #[traced]
    #[inline(never)]
    pub fn traced_event(x: u64) -> u64 {
        traced::event!("cache.miss", key = x, attempt = 2);
        body(x)
    }

    #[traced(metrics)]
    #[inline(never)]
    pub fn traced_metrics(x: u64) -> u64 {
        body(x)
    }

    #[derive(traced::Metrics)]
    #[metrics(prefix = "bench")]
    pub struct CallMetrics {
        /// Calls.
        pub calls: traced::metrics::Counter<u64>,
        /// Call durations.
        #[metric(unit = "s")]
        pub duration: traced::metrics::Histogram<f64>,
    }

    /// Derived instruments are not compiled out: they record into the global
    /// (no-op) meter provider.
    #[inline(never)]
    pub fn derived_metrics(x: u64) -> u64 {
        let start = Instant::now();
        let out = body(x);
        let m = CallMetrics::global();
        let labels = [
            KeyValue::new("function", "derived_metrics"),
            KeyValue::new("module", module_path!()),
            KeyValue::new("result", "ok"),
            KeyValue::new("caller.function", ""),
            KeyValue::new("caller.module", ""),
        ];
        m.calls.add(1, &labels);
        m.duration
            .record(start.elapsed().as_secs_f64(), &labels[..2]);
        out
    }
}

#[cfg(not(feature = "enabled"))]
fn main() {
    use criterion::Criterion;
    use std::hint::black_box;
    use std::time::Duration;
    use subjects::*;
    use traced_benches::{plain, plain_attrs};

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(1000))
        .measurement_time(Duration::from_millis(2000))
        .sample_size(50)
        .configure_from_args();
    traced_benches::spin(500);
    // init() is a no-op in this build; call it as a program would.
    let _telemetry = traced::init();
    let mut g = c.benchmark_group("enabled_off");
    g.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    g.bench_function("traced", |b| b.iter(|| traced_fn(black_box(7))));
    g.bench_function("plain_attrs", |b| {
        b.iter(|| plain_attrs(black_box(7), black_box(3)))
    });
    g.bench_function("traced_attrs", |b| {
        b.iter(|| traced_attrs(black_box(7), black_box(3)))
    });
    g.bench_function("traced_event", |b| b.iter(|| traced_event(black_box(7))));
    g.bench_function("traced_metrics", |b| {
        b.iter(|| traced_metrics(black_box(7)))
    });
    g.bench_function("derived_metrics", |b| {
        b.iter(|| derived_metrics(black_box(7)))
    });
    g.finish();
    c.final_summary();
}

#[cfg(feature = "enabled")]
fn main() {
    eprintln!(
        "disabled: built with the `enabled` feature, nothing to measure; run \
         `cargo bench -p traced-benches --no-default-features --bench disabled`"
    );
}
