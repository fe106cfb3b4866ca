//! Which tracer generated code records to.
//!
//! One relaxed load of [`mode`] decides first: nothing (before `init`, after its
//! guard dropped, with `OTEL_SDK_DISABLED`), the SDK tracer `init` installed
//! (read through one lock-free load), or the global tracer provider, which the
//! application opted into with [`crate::use_global_tracer_provider`].

use arc_swap::ArcSwapOption;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{Link, SpanContext, SpanKind, TraceContextExt as _, TraceFlags};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, Sampler, SamplingDecision, SdkTracer, ShouldSample as _,
};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

pub(crate) mod spans;

static SDK: ArcSwapOption<Installed> = ArcSwapOption::const_empty();

/// Where spans go: [`Mode`] as a byte, so that a span started while nothing is
/// installed costs one relaxed load and a branch.
static MODE: AtomicU8 = AtomicU8::new(Mode::Off as u8);

/// What the mode is made of, changed only under this lock (rarely: `init`,
/// the guard's drop, the opt-in), so that two changes never mix.
static TRANSITIONS: Mutex<Transitions> = Mutex::new(Transitions {
    installed: false,
    global: false,
});

struct Transitions {
    /// `init` installed a tracer.
    installed: bool,
    /// The application opted into its own global tracer provider.
    global: bool,
}

/// Where generated code sends spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Mode {
    /// Nowhere: a span is an empty value, no context is made.
    Off = 0,
    /// To the tracer `init` installed.
    Sdk = 1,
    /// To the global tracer provider, whatever the application installed there.
    Global = 2,
}

/// Where spans go now: one relaxed load. A span started while another thread
/// runs `init` may still see the mode before it, as it may with any lock.
#[inline(always)]
pub(crate) fn mode() -> Mode {
    match MODE.load(Ordering::Relaxed) {
        0 => Mode::Off,
        1 => Mode::Sdk,
        _ => Mode::Global,
    }
}

fn transition(change: impl FnOnce(&mut Transitions)) {
    let mut t = TRANSITIONS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    change(&mut t);
    let mode = if t.installed {
        Mode::Sdk
    } else if t.global {
        Mode::Global
    } else {
        Mode::Off
    };
    MODE.store(mode as u8, Ordering::Relaxed);
}

/// Sends spans to the global tracer provider whenever `init` installed none.
pub(crate) fn use_global() {
    transition(|t| t.global = true);
}

/// What `init` installed for generated code.
pub(crate) struct Installed {
    /// The SDK tracer of the installed provider.
    pub(crate) sdk: SdkTracer,
    /// When no exporter, processor, span metrics or span logs would ever see
    /// a span: its sampler, so that spans carry the context it decides without
    /// being recorded.
    pub(crate) silent: Option<Silent>,
    /// `traced`'s own span path, when no processor must see spans start.
    pub(crate) fast: Option<crate::tracer::spans::FastPath>,
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
        // A new trace's id is random (W3C Level 2): its flags say so; under a
        // parent the flag comes with the parent's context.
        let flags = if parent_sc.is_valid() {
            flags
        } else {
            TraceFlags::new(flags.to_u8() | crate::propagation::RANDOM)
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
        base.with_remote_span_context(self.span_context(parent, name, kind, links))
    }
}

/// The instrumentation scope of every span `traced` starts.
pub(crate) static SCOPE: LazyLock<InstrumentationScope> = LazyLock::new(|| {
    InstrumentationScope::builder("traced")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(opentelemetry_semantic_conventions::SCHEMA_URL)
        .build()
});

/// Counts the changes of [`SDK`]; a thread's [`CACHED`] tracer is the
/// installed one while its generation is this one.
static GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The tracer this thread last found installed, with the [`GENERATION`]
    /// it was found in. A tracer whose guard dropped stays here (shut down,
    /// unused) until the thread next starts or ends a span, or exits.
    static CACHED: RefCell<(u64, Option<Arc<Installed>>)> = const { RefCell::new((0, None)) };
}

/// Runs `f` with the tracer installed now: one load and a thread-local read
/// while the installation is the one this thread saw last, so that a span's
/// start and end neither load [`SDK`] nor touch a reference count that other
/// threads share.
#[inline]
pub(crate) fn with_installed<R>(f: impl FnOnce(Option<&Installed>) -> R) -> R {
    let generation = GENERATION.load(Ordering::Acquire);
    let mut f = Some(f);
    let hit = CACHED.try_with(|cached| {
        // A shared borrow: `f` may start and end spans of its own.
        let cached = cached.try_borrow().ok()?;
        if cached.0 != generation {
            return None;
        }
        let f = f.take()?;
        Some(f(cached.1.as_deref()))
    });
    match (hit, f) {
        (Ok(Some(r)), _) => r,
        (_, Some(f)) => with_installed_now(generation, f),
        (_, None) => unreachable!("`f` is taken only when it ran"),
    }
}

/// [`with_installed`] when this thread has not seen the installation of
/// `generation` yet: loads it, and keeps it when nothing on this thread is
/// reading the cache.
#[cold]
#[inline(never)]
fn with_installed_now<R>(generation: u64, f: impl FnOnce(Option<&Installed>) -> R) -> R {
    let installed = SDK.load_full();
    let _ = CACHED.try_with(|cached| {
        if let Ok(mut cached) = cached.try_borrow_mut() {
            *cached = (generation, installed.clone());
        }
    });
    f(installed.as_deref())
}

/// A tracer of the global provider.
#[inline]
pub(crate) fn global() -> BoxedTracer {
    global::tracer_with_scope(SCOPE.clone())
}

pub(crate) fn set(installed: Option<Installed>) {
    let some = installed.is_some();
    transition(|t| {
        SDK.store(installed.map(Arc::new));
        // After the store: a thread that sees the new generation loads the
        // new tracer.
        GENERATION.fetch_add(1, Ordering::AcqRel);
        t.installed = some;
    });
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
    if mode() == Mode::Off {
        return parent.clone();
    }
    with_installed(|installed| match installed {
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
    })
}
