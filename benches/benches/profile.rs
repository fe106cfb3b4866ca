//! Runs one case of `benches/spans.rs` many times inside `measured`, for a
//! profiler: `benches/profile.sh sampled/traced` runs it under
//! `valgrind --tool=callgrind` with collection on only inside `measured` and
//! prints the instructions per call (stable on a noisy machine, unlike time).
//!
//! `profile CASE [CALLS]`, CASE as in the table: `before_init/traced`,
//! `unsampled/sdk_manual`, `sampled/tracing`, `metrics/autometrics`, ...
//! Without a CASE (as `cargo bench` runs it) it does nothing.

#[cfg(feature = "enabled")]
mod cases {
    use opentelemetry_sdk::trace::Sampler;
    use std::hint::black_box;
    use traced_benches::*;

    /// Calls made before the measured ones, also inside `measured`.
    pub const WARM_UP: u64 = 1000;

    /// The measured loop: callgrind collects only inside it.
    #[inline(never)]
    pub fn measured(calls: u64, f: &mut dyn FnMut() -> u64) -> u64 {
        let mut acc = 0;
        for _ in 0..calls {
            acc ^= f();
        }
        acc
    }

    pub fn run(case: &str, calls: u64) -> Result<(), String> {
        let (group, subject) = case
            .split_once('/')
            .ok_or_else(|| format!("`{case}`: expected GROUP/SUBJECT"))?;
        let sampler = match group {
            "before_init" | "floor" => None,
            "unsampled" | "metrics" => Some(Sampler::AlwaysOff),
            "sampled" | "attrs" | "event" | "tree" | "metrics_sampled" | "silent" => {
                Some(Sampler::AlwaysOn)
            }
            other => return Err(format!("unknown group `{other}`")),
        };
        if group == "sampled" || group == "tree" || group == "attrs" || group == "event" {
            fastrace_reporter();
        }
        let guard = sampler.map(|s| {
            if group.starts_with("metrics") {
                traced_metrics_pipeline(s)
            } else if group == "silent" {
                silent_pipeline(s)
            } else {
                traced_pipeline(s)
            }
        });
        let _subscriber = match (&guard, subject) {
            (Some(g), "tracing") => Some(tracing::subscriber::set_default(tracing_subscriber(
                sdk_tracer(g),
            ))),
            _ => None,
        };
        let raw = group.starts_with("metrics").then(RawInstruments::new);
        let x = || black_box(7u64);
        let f: Box<dyn FnMut() -> u64> = match (group, subject) {
            ("floor", "plain") => Box::new(move || plain(x())),
            ("tree", "plain") => Box::new(move || plain_tree(black_box(10))),
            ("tree", "traced") => Box::new(move || traced_tree(black_box(10))),
            ("tree", "tracing") => Box::new(move || tracing_tree(black_box(10))),
            ("tree", "fastrace") => Box::new(move || fastrace_tree(black_box(10))),
            ("attrs", "traced") => Box::new(move || traced_attrs(x(), 3)),
            ("attrs", "tracing") => Box::new(move || tracing_attrs(x(), 3)),
            ("attrs", "fastrace") => Box::new(move || fastrace_attrs(x(), 3)),
            ("event", "traced") => Box::new(move || traced_event(x())),
            ("event", "tracing") => Box::new(move || tracing_event(x())),
            ("event", "fastrace") => Box::new(move || fastrace_event(x())),
            ("metrics" | "metrics_sampled", "traced") => Box::new(move || traced_metrics(x())),
            ("metrics", "traced_objective") => Box::new(move || traced_metrics_objective(x())),
            ("metrics", "traced_concurrent") => Box::new(move || traced_metrics_concurrent(x())),
            ("metrics", "derived") => Box::new(move || derived_metrics(x())),
            ("metrics", "autometrics") => Box::new(move || autometrics_fn(x())),
            ("metrics", "sdk") => {
                let raw = raw.expect("metrics group");
                Box::new(move || sdk_metrics(&raw, x()))
            }
            (_, "traced") => Box::new(move || traced_fn(x())),
            (_, "tracing") => Box::new(move || tracing_fn(x())),
            ("sampled", "fastrace") => Box::new(move || fastrace_root(x())),
            (_, "fastrace") => Box::new(move || fastrace_fn(x())),
            (_, "sdk_manual" | "sdk_in_span") => {
                let manual = subject == "sdk_manual";
                macro_rules! sdk_case {
                    ($t:expr) => {{
                        let t = $t;
                        match (group, manual) {
                            ("tree", _) => Box::new(move || sdk_tree(&t, black_box(10))),
                            ("attrs", _) => Box::new(move || sdk_attrs(&t, x(), 3)),
                            ("event", _) => Box::new(move || sdk_event(&t, x())),
                            (_, true) => Box::new(move || sdk_manual(&t, x())),
                            (_, false) => Box::new(move || sdk_in_span(&t, x())),
                        }
                    }};
                }
                match &guard {
                    Some(g) => sdk_case!(sdk_tracer(g)),
                    None => sdk_case!(opentelemetry::global::tracer("hand-written")),
                }
            }
            _ => return Err(format!("unknown case `{case}`")),
        };
        finish(calls, f, guard);
        Ok(())
    }

    fn finish(calls: u64, mut f: Box<dyn FnMut() -> u64>, guard: Option<traced::Guard>) {
        // Warm up (lazy statics, thread-locals, first allocations), uncounted:
        // callgrind collects in `measured` only, so the profile script subtracts
        // the warm-up calls (`WARM_UP`).
        measured(WARM_UP, &mut f);
        black_box(measured(calls, &mut f));
        drop(f);
        if let Some(g) = guard {
            let _ = g.shutdown();
        }
        fastrace::flush();
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(case) = args.first() else {
        return;
    };
    let calls = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    #[cfg(feature = "enabled")]
    if let Err(e) = cases::run(case, calls) {
        eprintln!("profile: {e}");
        std::process::exit(2);
    }
    #[cfg(not(feature = "enabled"))]
    {
        let _ = (case, calls);
        eprintln!("profile: built without the `enabled` feature");
    }
}
