//! Panic messages reach the span whatever panic hook the application installs,
//! before or after `init`, and the panic goes on unchanged: the instrumented body
//! sees the payload itself. (A test binary of its own: the hook is process-wide.)
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use traced::traced;

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

/// What error reporters, test harnesses and `human-panic` do: replace the hook.
fn replace_the_hook() {
    std::panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
}

#[traced]
fn plain_boom(msg: &str) -> u8 {
    panic!("{}", msg)
}

#[traced(ret)]
fn boom_with_options(n: u8) -> u8 {
    if n > 0 {
        panic!("bad n: {n}");
    }
    n
}

#[traced]
async fn async_boom() -> u8 {
    tokio::task::yield_now().await;
    panic!("async boom after a replaced hook")
}

#[traced]
fn inner_boom() -> u8 {
    panic!("nested boom")
}

#[traced]
fn outer() -> u8 {
    inner_boom() + 1
}

fn assert_panic_recorded(spans: &Spans, name: &str, message: &str) {
    let span = spans.one(name);
    assert_error(span, message);
    let ev = event(span, "exception");
    assert_eq!(
        event_attr(ev, "exception.message"),
        Some(Value::from(message.to_owned()))
    );
}

#[test]
fn a_hook_replaced_after_init_does_not_lose_the_message() {
    let (out, spans) = capture(|| {
        replace_the_hook();
        let calls = HOOK_CALLS.load(Ordering::SeqCst);
        let sync = std::panic::catch_unwind(|| plain_boom("sync boom"));
        let with_options = std::panic::catch_unwind(|| boom_with_options(3));
        let nested = std::panic::catch_unwind(outer);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let in_async = rt.block_on(async { tokio::spawn(async_boom()).await });
        let _ = std::panic::take_hook();
        (
            sync,
            with_options,
            nested,
            in_async,
            HOOK_CALLS.load(Ordering::SeqCst) - calls,
        )
    });
    let (sync, with_options, nested, in_async, hook_calls) = out;
    // The panics go on unchanged, and the application's hook ran once for each.
    let text = |p: Box<dyn std::any::Any + Send>| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
    };
    assert_eq!(text(sync.unwrap_err()).as_deref(), Some("sync boom"));
    assert_eq!(text(with_options.unwrap_err()).as_deref(), Some("bad n: 3"));
    assert_eq!(text(nested.unwrap_err()).as_deref(), Some("nested boom"));
    assert!(in_async.unwrap_err().is_panic());
    assert_eq!(hook_calls, 4, "the application's hook sees each panic once");
    assert_panic_recorded(&spans, "plain_boom", "sync boom");
    assert_panic_recorded(&spans, "boom_with_options", "bad n: 3");
    assert_panic_recorded(&spans, "inner_boom", "nested boom");
    assert_panic_recorded(&spans, "outer", "nested boom");
    assert_panic_recorded(&spans, "async_boom", "async boom after a replaced hook");
}
