//! With the `enabled` feature off (`cargo test --no-default-features`), every
//! annotation compiles to the plain function: same results, same future sizes,
//! nothing evaluated for telemetry, and `init()` does nothing.
#![cfg(not(feature = "enabled"))]
// What is only recorded stays used with instrumentation compiled out: no
// warning that exists only because the attribute's expressions are gone.
#![deny(dead_code, unused_variables)]

use std::sync::atomic::{AtomicUsize, Ordering};
use traced::traced;

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted() -> u64 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1
}

#[traced(kind = server, err, ret, attrs(n = counted()))]
fn traced_sync(n: u64) -> Result<u64, String> {
    traced::event!("e", v = counted());
    traced::attr!(a = counted());
    traced::status!(error, "{}", counted());
    traced::error!(counted());
    Ok(n + 1)
}

#[traced(err)]
async fn traced_async(n: u64) -> Result<u64, String> {
    let x = [0u8; 64];
    std::future::ready(()).await;
    Ok(n + u64::from(x[0]))
}

async fn plain_async(n: u64) -> Result<u64, String> {
    let x = [0u8; 64];
    std::future::ready(()).await;
    Ok(n + u64::from(x[0]))
}

#[test]
fn functions_behave_and_evaluate_nothing_for_telemetry() {
    let _telemetry = traced::init();
    assert_eq!(traced_sync(1), Ok(2));
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
}

#[test]
fn async_fn_is_the_original_future() {
    assert_eq!(
        std::mem::size_of_val(&traced_async(1)),
        std::mem::size_of_val(&plain_async(1)),
        "a wrapper would make the traced future larger"
    );
    let out = futures::executor::block_on(traced_async(4));
    assert_eq!(out, Ok(4));
}

#[test]
fn builder_and_guard_are_no_ops() {
    let guard = traced::Builder::new()
        .service_name("x")
        .shutdown_timeout(std::time::Duration::from_millis(1))
        .init();
    guard.flush().unwrap();
    guard.shutdown().unwrap();
}

/// A field read only by `attrs(..)`, an argument named only in `args(..)`.
struct Charge {
    card: String,
}

#[traced(args(note), attrs(card = charge.card.as_str()))]
fn charge(charge: &Charge, note: &str) -> u8 {
    1
}

#[test]
fn what_is_only_recorded_is_not_unused() {
    let c = Charge {
        card: "4242".into(),
    };
    assert_eq!(charge(&c, "n"), 1);
}
