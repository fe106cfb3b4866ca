//! Throughput of sampled spans made at full speed by one thread and by two:
//! `#[traced]` on its own span path, `#[traced]` on the SDK's spans
//! (`TRACED_SPAN_PATH=sdk`) and the hand-written SDK span, through the same
//! pipeline (a no-op exporter behind the batch processor).
//!
//! Criterion reports the time per span over the whole process (the elapsed
//! time of a run divided by the spans all threads made), so the throughput
//! ratio of two threads to one is `time(1 thread) / time(2 threads)`; 2.0 is
//! perfect scaling. On a 2-core machine the collector thread and the batch
//! worker share the cores with the two threads, so the ceiling is below 2.
//!
//! `cargo bench -p traced-benches --bench threads`

use criterion::{BenchmarkId, Criterion};
use opentelemetry_sdk::trace::Sampler;
use std::hint::black_box;
use std::time::{Duration, Instant};
use traced_benches::*;

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(1000))
        .measurement_time(Duration::from_millis(3000))
        .sample_size(30)
        .configure_from_args();
    for path in ["traced", "sdk"] {
        std::env::set_var("TRACED_BENCH_SPAN_PATH", path);
        let guard = traced_pipeline(Sampler::AlwaysOn);
        let tracer = sdk_tracer(&guard);
        let mut g = c.benchmark_group(format!("threads_{path}_path"));
        for threads in [1usize, 2] {
            g.bench_with_input(
                BenchmarkId::new("traced", threads),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| run(threads, iters, || traced_fn(black_box(7))))
                },
            );
            if path == "traced" {
                let tracer = tracer.clone();
                g.bench_with_input(
                    BenchmarkId::new("sdk_manual", threads),
                    &threads,
                    move |b, &threads| {
                        let tracer = tracer.clone();
                        b.iter_custom(move |iters| {
                            let tracer = tracer.clone();
                            run(threads, iters, move || sdk_manual(&tracer, black_box(7)))
                        })
                    },
                );
            }
        }
        g.finish();
        drop(tracer);
        guard.shutdown().expect("shutdown");
    }
    std::env::remove_var("TRACED_BENCH_SPAN_PATH");
    c.final_summary();
}

/// `iters` calls of `f` on each of `threads` threads at once; the elapsed time
/// divided by the threads, so that criterion's time per iteration is the time
/// per span of the whole process.
fn run(threads: usize, iters: u64, f: impl Fn() -> u64 + Clone + Send + 'static) -> Duration {
    let start = std::sync::Arc::new(std::sync::Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (f, start) = (f.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let mut acc = 0;
                for _ in 0..iters {
                    acc ^= f();
                }
                black_box(acc)
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    for h in handles {
        h.join().expect("a benchmark thread panicked");
    }
    t.elapsed() / threads as u32
}
