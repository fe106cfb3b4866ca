//! Allocations per call, for the cases of `benches/spans.rs`: a counting global
//! allocator, and a table printed as Markdown.
//!
//! "caller" counts what the calling thread allocates (the cost on the request
//! path); "all threads" adds what background threads allocate for the same calls
//! (the SDK's batch exporter thread, fastrace's collector), measured after a flush.
//! A reallocation counts as one allocation.
//!
//! `cargo bench -p traced-benches --bench alloc` (`-- --quick` for fewer calls).

#[cfg(feature = "enabled")]
use opentelemetry_sdk::trace::Sampler;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "enabled")]
use traced_benches::*;

struct Counting;

static ALL_ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALL_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static MINE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

#[inline]
fn count(bytes: usize) {
    ALL_ALLOCS.fetch_add(1, Ordering::Relaxed);
    ALL_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    let _ = MINE.try_with(|m| {
        let (n, b) = m.get();
        m.set((n + 1, b + bytes as u64));
    });
}

// SAFETY: every call is forwarded to `System` unchanged; counting has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

struct Row {
    group: &'static str,
    subject: &'static str,
    mine: (f64, f64),
    all: f64,
}

struct Table {
    calls: u64,
    rows: Vec<Row>,
}

impl Table {
    /// Calls `f` `self.calls` times after a warm-up, then `flush`, and records the counts.
    fn measure(
        &mut self,
        group: &'static str,
        subject: &'static str,
        mut f: impl FnMut() -> u64,
        flush: &dyn Fn(),
    ) {
        for _ in 0..1000 {
            black_box(f());
        }
        flush();
        let (mine_n0, mine_b0) = MINE.with(Cell::get);
        let all0 = ALL_ALLOCS.load(Ordering::Relaxed);
        for _ in 0..self.calls {
            black_box(f());
        }
        let (mine_n1, mine_b1) = MINE.with(Cell::get);
        flush();
        let all1 = ALL_ALLOCS.load(Ordering::Relaxed);
        let per = |d: u64| d as f64 / self.calls as f64;
        self.rows.push(Row {
            group,
            subject,
            mine: (per(mine_n1 - mine_n0), per(mine_b1 - mine_b0)),
            all: per(all1 - all0),
        });
    }

    fn print(&self) {
        println!("| group | subject | allocs/call (caller) | bytes/call (caller) | allocs/call (all threads) |");
        println!("|---|---|---:|---:|---:|");
        for r in &self.rows {
            println!(
                "| {} | {} | {:.2} | {:.0} | {:.2} |",
                r.group, r.subject, r.mine.0, r.mine.1, r.all
            );
        }
    }
}

fn nothing() {}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let mut t = Table {
        calls: if quick { 20_000 } else { 200_000 },
        rows: Vec::new(),
    };
    let n = &nothing as &dyn Fn();

    t.measure("floor", "plain", || traced_benches::plain(black_box(7)), n);

    #[cfg(feature = "enabled")]
    {
        let tree = |t: &mut Table, group, subject, f: fn(u64) -> u64, flush: &dyn Fn()| {
            t.measure(group, subject, || f(black_box(10)), flush);
        };

        let global = opentelemetry::global::tracer("hand-written");
        t.measure("before_init", "traced", || traced_fn(black_box(7)), n);
        t.measure(
            "before_init",
            "sdk_manual",
            || sdk_manual(&global, black_box(7)),
            n,
        );
        t.measure(
            "before_init",
            "sdk_in_span",
            || sdk_in_span(&global, black_box(7)),
            n,
        );
        t.measure("before_init", "tracing", || tracing_fn(black_box(7)), n);
        t.measure("before_init", "fastrace", || fastrace_fn(black_box(7)), n);

        {
            std::env::set_var("OTEL_SDK_DISABLED", "true");
            let guard = traced::Builder::new().init();
            std::env::remove_var("OTEL_SDK_DISABLED");
            t.measure("sdk_disabled", "traced", || traced_fn(black_box(7)), n);
            t.measure(
                "sdk_disabled",
                "sdk_manual",
                || sdk_manual(&global, black_box(7)),
                n,
            );
            drop(guard);
        }

        for (group, sampler) in [
            ("unsampled", Sampler::AlwaysOff),
            ("sampled", Sampler::AlwaysOn),
        ] {
            if group == "sampled" {
                fastrace_reporter();
            }
            let guard = traced_pipeline(sampler);
            let tracer = sdk_tracer(&guard);
            let flush = || {
                let _ = guard.flush();
                fastrace::flush();
            };
            t.measure(group, "traced", || traced_fn(black_box(7)), &flush);
            t.measure(
                group,
                "sdk_manual",
                || sdk_manual(&tracer, black_box(7)),
                &flush,
            );
            t.measure(
                group,
                "sdk_in_span",
                || sdk_in_span(&tracer, black_box(7)),
                &flush,
            );
            tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
                t.measure(group, "tracing", || tracing_fn(black_box(7)), &flush);
            });
            if group == "sampled" {
                t.measure(group, "fastrace", || fastrace_root(black_box(7)), &flush);
                tree(
                    &mut t,
                    "tree/10",
                    "plain",
                    traced_benches::plain_tree,
                    &flush,
                );
                tree(&mut t, "tree/10", "traced", traced_tree, &flush);
                let sdk = |n| sdk_tree(&tracer, n);
                t.measure("tree/10", "sdk_manual", || sdk(black_box(10)), &flush);
                tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
                    tree(&mut t, "tree/10", "tracing", tracing_tree, &flush);
                });
                tree(&mut t, "tree/10", "fastrace", fastrace_tree, &flush);

                let a = |f: fn(u64, i64) -> u64| move || f(black_box(7), black_box(3));
                t.measure("attrs", "traced", a(traced_attrs), &flush);
                t.measure(
                    "attrs",
                    "sdk_manual",
                    || sdk_attrs(&tracer, black_box(7), black_box(3)),
                    &flush,
                );
                tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
                    t.measure("attrs", "tracing", a(tracing_attrs), &flush);
                });
                t.measure("attrs", "fastrace", a(fastrace_attrs), &flush);

                t.measure("event", "traced", || traced_event(black_box(7)), &flush);
                t.measure(
                    "event",
                    "sdk_manual",
                    || sdk_event(&tracer, black_box(7)),
                    &flush,
                );
                tracing::subscriber::with_default(tracing_subscriber(tracer.clone()), || {
                    t.measure("event", "tracing", || tracing_event(black_box(7)), &flush);
                });
                t.measure("event", "fastrace", || fastrace_event(black_box(7)), &flush);
            } else {
                t.measure(group, "fastrace", || fastrace_fn(black_box(7)), &flush);
                let a = |f: fn(u64, i64) -> u64| move || f(black_box(7), black_box(3));
                t.measure("attrs", "traced_unsampled", a(traced_attrs), &flush);
            }
            drop(tracer);
            guard.shutdown().expect("shutdown");
        }

        {
            let guard = traced_metrics_pipeline(Sampler::AlwaysOff);
            let flush = || {
                let _ = guard.flush();
            };
            let raw = RawInstruments::new();
            t.measure("metrics", "traced", || traced_metrics(black_box(7)), &flush);
            t.measure(
                "metrics",
                "derived",
                || derived_metrics(black_box(7)),
                &flush,
            );
            t.measure("metrics", "sdk", || sdk_metrics(&raw, black_box(7)), &flush);
            drop(raw);
            guard.shutdown().expect("shutdown");
        }
        {
            let guard = traced_metrics_pipeline(Sampler::AlwaysOn);
            let flush = || {
                let _ = guard.flush();
            };
            t.measure(
                "metrics",
                "traced_sampled",
                || traced_metrics(black_box(7)),
                &flush,
            );
            guard.shutdown().expect("shutdown");
        }
        t.measure("metrics", "autometrics", || autometrics_fn(black_box(7)), n);
    }

    println!(
        "\nAllocations per call ({} calls each, after 1,000 warm-up calls):\n",
        t.calls
    );
    t.print();
}
