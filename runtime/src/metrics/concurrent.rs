//! `function.calls.concurrent`: the calls of a function in flight, for
//! `#[traced(metrics(track_concurrency))]` (the autometrics specification's
//! optional gauge, with its labels `function`, `module` and `service.name`).
//!
//! An `UpDownCounter` (a gauge in Prometheus, `function_calls_concurrent`):
//! +1 when a call starts, -1 when it is over, however it ends: a return, an
//! early return or `?`, a panic unwinding through it, or, for an `async fn` or
//! a function returning a future, the future completing or being dropped
//! before it completes. Only functions that ask for it have the counter: the
//! others pay nothing, not even a branch.
//!
//! Each function binds its label set once per meter provider (a
//! [`GlobalInstance`]), so a call adds to a bound instrument without hashing
//! its labels; the decrement goes to the instrument the increment went to,
//! also across a re-`init`.

use super::GlobalInstance;
use opentelemetry::metrics::{BoundUpDownCounter, UpDownCounter};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The `function.calls.concurrent` instrument on the meter provider in force.
fn instrument() -> &'static UpDownCounter<i64> {
    static INSTANCE: GlobalInstance<UpDownCounter<i64>> = GlobalInstance::new();
    INSTANCE.get(|| {
        super::meter("traced", env!("CARGO_PKG_VERSION"))
            .i64_up_down_counter("function.calls.concurrent")
            .with_description(
                "Calls in flight of functions instrumented with \
                 #[traced(metrics(track_concurrency))]",
            )
            .build()
    })
}

/// The concurrent calls of one function: a `static` beside its call site.
#[doc(hidden)]
pub struct ConcurrentCalls {
    fn_name: &'static str,
    module: &'static str,
    bound: GlobalInstance<BoundUpDownCounter<i64>>,
}

impl ConcurrentCalls {
    /// The counter of function `fn_name` in `module` (`module_path!()`).
    pub const fn new(fn_name: &'static str, module: &'static str) -> Self {
        ConcurrentCalls {
            fn_name,
            module,
            bound: GlobalInstance::new(),
        }
    }

    /// Counts a call in; the call is counted out when the guard drops.
    #[inline]
    pub fn enter(&'static self) -> InFlight {
        let bound = self.bound.get(|| {
            instrument().bind(&[
                opentelemetry::KeyValue::new("function", self.fn_name),
                opentelemetry::KeyValue::new("module", self.module),
                opentelemetry::KeyValue::new("service.name", super::service_name()),
            ])
        });
        bound.add(1);
        InFlight(bound)
    }
}

/// One call in flight: counted out when dropped.
#[doc(hidden)]
#[must_use]
pub struct InFlight(&'static BoundUpDownCounter<i64>);

impl Drop for InFlight {
    #[inline]
    fn drop(&mut self) {
        self.0.add(-1);
    }
}

/// `future` with its call in flight until it completes or is dropped.
#[doc(hidden)]
#[inline]
pub fn in_flight<F: Future>(future: F, call: InFlight) -> InFlightFuture<F> {
    InFlightFuture {
        inner: future,
        call: Some(call),
    }
}

pin_project_lite::pin_project! {
    /// A future whose call is in flight until it completes or is dropped.
    #[doc(hidden)]
    pub struct InFlightFuture<F> {
        #[pin]
        inner: F,
        call: Option<InFlight>,
    }
}

impl<F: Future> Future for InFlightFuture<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = this.inner.poll(cx);
        if poll.is_ready() {
            // Counted out when done, even if the future is kept.
            this.call.take();
        }
        poll
    }
}
