//! Which tracer generated code records to.
//!
//! After [`crate::init`] the SDK tracer it installed, read through one lock-free
//! load; otherwise whatever global tracer provider the application installed
//! (a no-op one until then).

use arc_swap::ArcSwapOption;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{Link, SpanContext, SpanKind, TraceContextExt as _, TraceFlags};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, Sampler, SamplingDecision, SdkTracer, ShouldSample as _,
};
use std::sync::{Arc, LazyLock};

static SDK: ArcSwapOption<Installed> = ArcSwapOption::const_empty();

/// What `init` installed for generated code.
pub(crate) struct Installed {
    /// The SDK tracer of the installed provider.
    pub(crate) sdk: SdkTracer,
    /// When no exporter, processor, span metrics or span logs would ever see
    /// a span: its sampler, so that spans carry the context it decides without
    /// being recorded.
    pub(crate) silent: Option<Silent>,
}

/// Spans nobody listens to: the sampler still decides, so that the trace
/// context sent on (`traceparent`, its sampled flag) is what it would be with
/// an exporter, but nothing is recorded, kept or ended.
pub(crate) struct Silent {
    sampler: Sampler,
    ids: RandomIdGenerator,
}

impl Silent {
    pub(crate) fn new(sampler: Sampler) -> Self {
        Silent {
            sampler,
            ids: RandomIdGenerator::default(),
        }
    }

    /// The span context of a span started under `parent`: the parent's trace
    /// (or a new one), a new span id, the sampler's decision as the flag.
    pub(crate) fn span_context(
        &self,
        parent: &Context,
        name: &str,
        kind: &SpanKind,
        links: &[Link],
    ) -> SpanContext {
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        let trace_id = if parent_sc.is_valid() {
            parent_sc.trace_id()
        } else {
            self.ids.new_trace_id()
        };
        let result = self
            .sampler
            .should_sample(Some(parent), trace_id, name, kind, &[], links);
        let flags = match result.decision {
            SamplingDecision::RecordAndSample => TraceFlags::SAMPLED,
            SamplingDecision::RecordOnly | SamplingDecision::Drop => TraceFlags::default(),
        };
        SpanContext::new(
            trace_id,
            self.ids.new_span_id(),
            flags,
            false,
            result.trace_state,
        )
    }

    /// `base` with a started silent span as its current span.
    pub(crate) fn start(
        &self,
        base: &Context,
        parent: &Context,
        name: &str,
        kind: &SpanKind,
        links: &[Link],
    ) -> Context {
        let new_trace = !parent.span().span_context().is_valid();
        let cx = base.with_remote_span_context(self.span_context(parent, name, kind, links));
        if new_trace {
            crate::propagation::random_trace(cx)
        } else {
            cx
        }
    }
}

/// The instrumentation scope of every span `traced` starts.
pub(crate) static SCOPE: LazyLock<InstrumentationScope> = LazyLock::new(|| {
    InstrumentationScope::builder("traced")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
        .build()
});

/// The tracer installed by `init`, if any.
#[inline]
pub(crate) fn sdk() -> arc_swap::Guard<Option<Arc<Installed>>> {
    SDK.load()
}

/// A tracer of the global provider.
#[inline]
pub(crate) fn global() -> BoxedTracer {
    global::tracer_with_scope(SCOPE.clone())
}

pub(crate) fn set(installed: Option<Installed>) {
    SDK.store(installed.map(Arc::new));
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
        Some(Installed {
            silent: Some(silent),
            ..
        }) => {
            let kind = builder.span_kind.clone().unwrap_or(SpanKind::Internal);
            let links = builder.links.as_deref().unwrap_or_default();
            silent.start(parent, parent, &builder.name, &kind, links)
        }
        Some(Installed { sdk: tracer, .. }) => {
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
