//! Which tracer generated code records to.
//!
//! After [`crate::init`] the SDK tracer it installed, read through one lock-free
//! load; otherwise whatever global tracer provider the application installed
//! (a no-op one until then).

use arc_swap::ArcSwapOption;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::SdkTracer;
use std::sync::{Arc, LazyLock};

static SDK: ArcSwapOption<SdkTracer> = ArcSwapOption::const_empty();

/// The instrumentation scope of every span `traced` starts.
pub(crate) static SCOPE: LazyLock<InstrumentationScope> = LazyLock::new(|| {
    InstrumentationScope::builder("traced")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
        .build()
});

/// The tracer installed by `init`, if any.
#[inline]
pub(crate) fn sdk() -> arc_swap::Guard<Option<Arc<SdkTracer>>> {
    SDK.load()
}

/// A tracer of the global provider.
#[inline]
pub(crate) fn global() -> BoxedTracer {
    global::tracer_with_scope(SCOPE.clone())
}

pub(crate) fn set(tracer: Option<SdkTracer>) {
    SDK.store(tracer.map(Arc::new));
}

/// Starts a span from a builder (a dynamic name, attributes known up front), on
/// the tracer `init` installed or else the global provider, and returns `parent`
/// with the span in it. For integrations whose span names are not static.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn start_span(
    builder: opentelemetry::trace::SpanBuilder,
    parent: &opentelemetry::Context,
) -> opentelemetry::Context {
    use opentelemetry::trace::{TraceContextExt, Tracer};
    let sdk = sdk();
    match sdk.as_deref() {
        Some(tracer) => {
            let new_trace = !parent.span().span_context().is_valid();
            let cx = parent.with_span(tracer.build_with_context(builder, parent));
            if new_trace {
                crate::propagation::random_trace(cx)
            } else {
                cx
            }
        }
        None => {
            crate::panic::install_hook();
            parent.with_span(global().build_with_context(builder, parent))
        }
    }
}
