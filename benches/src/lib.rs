//! What the benchmarks of `traced` measure: the same small function written
//! plain, with `#[traced]`, by hand with the OpenTelemetry SDK, with `tracing` +
//! `tracing-opentelemetry`, with `fastrace` and with `autometrics`, and the
//! pipelines each one records into.
//!
//! Shared by the criterion suite (`benches/spans.rs`) and the allocation table
//! (`benches/alloc.rs`), so both measure exactly the same code. Every subject is
//! `#[inline(never)]`: a call is a call, in every row.

use std::hint::black_box;

/// The body every subject runs: a few instructions, so the rows show the cost of
/// the instrumentation around it.
#[inline(always)]
pub fn body(x: u64) -> u64 {
    black_box(x)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
}

/// Keeps a core busy for `ms` milliseconds before measuring, so that the first
/// benchmark does not run on a cold, down-clocked core (criterion's quick mode has
/// no warm-up).
pub fn spin(ms: u64) {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    let mut x = 0u64;
    while std::time::Instant::now() < until {
        x = body(x);
    }
    black_box(x);
}

/// The floor: the function without instrumentation.
#[inline(never)]
pub fn plain(x: u64) -> u64 {
    body(x)
}

/// A root calling `n` plain children.
#[inline(never)]
pub fn plain_tree(n: u64) -> u64 {
    (0..n).fold(0, |acc, i| acc ^ plain(i))
}

/// The plain function with the arguments of the attribute cases.
#[inline(never)]
pub fn plain_attrs(id: u64, items: i64) -> u64 {
    body(id ^ items as u64)
}

#[cfg(feature = "enabled")]
pub use enabled::*;

#[cfg(feature = "enabled")]
mod enabled {
    use super::body;
    use opentelemetry::trace::{
        mark_span_as_active, Span as _, SpanBuilder, TraceContextExt as _, Tracer,
    };
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::metrics::data::ResourceMetrics;
    use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
    use opentelemetry_sdk::metrics::Temporality;
    use opentelemetry_sdk::trace::{Sampler, SdkTracer, SpanData, SpanExporter};
    use std::borrow::Cow;
    use std::time::{Duration, Instant};
    use traced::traced;

    // -----------------------------------------------------------------------
    // Exporters that drop everything
    // -----------------------------------------------------------------------

    /// A span exporter that drops each batch: the pipeline minus the I/O.
    #[derive(Debug, Default)]
    pub struct NoopExporter;

    impl SpanExporter for NoopExporter {
        fn export(
            &self,
            batch: Vec<SpanData>,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            drop(batch);
            std::future::ready(Ok(()))
        }
    }

    /// A metric exporter that drops what the periodic reader collects.
    #[derive(Debug, Default)]
    pub struct NoopMetricExporter;

    impl PushMetricExporter for NoopMetricExporter {
        fn export(
            &self,
            _: &ResourceMetrics,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            std::future::ready(Ok(()))
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
        fn temporality(&self) -> Temporality {
            Temporality::Cumulative
        }
    }

    // -----------------------------------------------------------------------
    // Pipelines
    // -----------------------------------------------------------------------

    /// The default secret-key masking, unless `TRACED_BENCH_SECRET_KEYS=off`
    /// (to measure what the default costs: `benches/profile.sh` with and without).
    /// `TRACED_BENCH_SPAN_PATH=sdk` measures `#[traced]` on the SDK's spans.
    fn span_path() -> String {
        std::env::var("TRACED_BENCH_SPAN_PATH").unwrap_or_else(|_| "traced".into())
    }

    fn secret_keys() -> bool {
        std::env::var_os("TRACED_BENCH_SECRET_KEYS").is_none_or(|v| v != "off")
    }

    /// `traced::init` with `sampler`, spans into [`NoopExporter`] behind the SDK's
    /// batch processor, no metric or log exporter. Its tracer provider is the one
    /// the hand-written SDK code and `tracing-opentelemetry` use in the same group.
    pub fn traced_pipeline(sampler: Sampler) -> traced::Guard {
        traced::Builder::new()
            .ignore_env()
            .setting("TRACED_SPAN_PATH", span_path())
            .redact_secret_keys(secret_keys())
            .sampler(sampler)
            .batch_exporter(NoopExporter)
            .metrics_exporters([])
            .logs_exporters([])
            .init()
    }

    /// `traced::init` with `sampler` and nothing that reads spans (no exporter,
    /// processor, span metrics or span logs, as with `OTEL_TRACES_EXPORTER=none`):
    /// spans carry the sampler's context and are not recorded.
    pub fn silent_pipeline(sampler: Sampler) -> traced::Guard {
        traced::Builder::new()
            .ignore_env()
            .sampler(sampler)
            .traces_exporters([])
            .metrics_exporters([])
            .logs_exporters([])
            .init()
    }

    /// Like [`traced_pipeline`], with a real meter provider: a periodic reader
    /// (60 s, so it never fires during a measurement) into [`NoopMetricExporter`].
    pub fn traced_metrics_pipeline(sampler: Sampler) -> traced::Guard {
        traced::Builder::new()
            .ignore_env()
            .setting("TRACED_SPAN_PATH", span_path())
            .redact_secret_keys(secret_keys())
            .sampler(sampler)
            .batch_exporter(NoopExporter)
            .metric_exporter(NoopMetricExporter)
            .metric_export_interval(Duration::from_secs(60))
            .logs_exporters([])
            .init()
    }

    /// A tracer of the provider `traced` installed, as hand-written code gets one.
    pub fn sdk_tracer(guard: &traced::Guard) -> SdkTracer {
        use opentelemetry::trace::TracerProvider as _;
        guard
            .tracer_provider()
            .expect("traced installed a tracer provider")
            .tracer("hand-written")
    }

    /// A `tracing` subscriber that sends spans to `tracer` with
    /// `tracing-opentelemetry` (thread attributes off, so that spans carry the same
    /// `code.*` attributes as `traced`'s).
    pub fn tracing_subscriber(tracer: SdkTracer) -> impl tracing::Subscriber + Send + Sync {
        use tracing_subscriber::layer::SubscriberExt as _;
        tracing_subscriber::registry().with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_threads(false),
        )
    }

    /// fastrace's global reporter into [`NoopExporter`] (installed once: it is global).
    pub fn fastrace_reporter() {
        let reporter = fastrace_opentelemetry::OpenTelemetryReporter::new(
            NoopExporter,
            Cow::Owned(opentelemetry_sdk::Resource::builder_empty().build()),
            opentelemetry::InstrumentationScope::builder("fastrace").build(),
        );
        fastrace::set_reporter(reporter, fastrace::collector::Config::default());
    }

    // -----------------------------------------------------------------------
    // #[traced]
    // -----------------------------------------------------------------------

    /// `#[traced]` on [`plain`](super::plain).
    #[traced]
    #[inline(never)]
    pub fn traced_fn(x: u64) -> u64 {
        body(x)
    }

    /// A `#[traced]` root calling `n` `#[traced]` children.
    #[traced(name = "tree")]
    #[inline(never)]
    pub fn traced_tree(n: u64) -> u64 {
        (0..n).fold(0, |acc, i| acc ^ traced_fn(i))
    }

    /// Three attributes: one argument, a constant and an expression.
    #[traced(args(id), attrs(route = "/cart", items = items))]
    #[inline(never)]
    pub fn traced_attrs(id: u64, items: i64) -> u64 {
        body(id ^ items as u64)
    }

    /// One event with two attributes.
    #[traced]
    #[inline(never)]
    pub fn traced_event(x: u64) -> u64 {
        traced::event!("cache.miss", key = x, attempt = 2);
        body(x)
    }

    /// Call metrics (`function.calls`, `function.calls.duration`) and the span.
    #[traced(metrics)]
    #[inline(never)]
    pub fn traced_metrics(x: u64) -> u64 {
        body(x)
    }

    /// A success-rate and latency objective.
    pub const API: traced::Objective = traced::Objective::new("api")
        .success_rate(traced::ObjectivePercentile::P99_9)
        .latency(
            traced::ObjectiveLatency::Ms250,
            traced::ObjectivePercentile::P99,
        );

    /// Call metrics with the labels of an objective.
    #[traced(metrics(objective = API))]
    #[inline(never)]
    pub fn traced_metrics_objective(x: u64) -> u64 {
        body(x)
    }

    /// Call metrics and the `function.calls.concurrent` gauge.
    #[traced(metrics(track_concurrency))]
    #[inline(never)]
    pub fn traced_metrics_concurrent(x: u64) -> u64 {
        body(x)
    }

    // -----------------------------------------------------------------------
    // The same spans, written by hand with the OpenTelemetry SDK API
    // -----------------------------------------------------------------------

    /// The three attributes `traced` puts on every span.
    #[inline(always)]
    fn code_attributes(function: &'static str, line: u32) -> [KeyValue; 3] {
        [
            KeyValue::new("code.function.name", function),
            KeyValue::new("code.file.path", file!()),
            KeyValue::new("code.line.number", i64::from(line)),
        ]
    }

    /// The best the SDK allows: `build_with_context` on the current context without
    /// cloning it, attributes only when the span records, `mark_span_as_active`
    /// (one context, attached without a clone) unless the span is a no-op one (no
    /// provider: neither recording nor valid, nothing to propagate); the span ends
    /// when the guard drops.
    #[inline(never)]
    pub fn sdk_manual<T>(tracer: &T, x: u64) -> u64
    where
        T: Tracer,
        T::Span: Send + Sync + 'static,
    {
        let mut span = Context::map_current(|cx| {
            tracer.build_with_context(SpanBuilder::from_name("sdk_manual"), cx)
        });
        let recording = span.is_recording();
        if recording {
            span.set_attributes(code_attributes("traced_benches::sdk_manual", line!()));
        }
        let _active =
            (recording || span.span_context().is_valid()).then(|| mark_span_as_active(span));
        body(x)
    }

    /// The SDK's convenience: `in_span` with the attributes in the builder.
    #[inline(never)]
    pub fn sdk_in_span<T>(tracer: &T, x: u64) -> u64
    where
        T: Tracer,
        T::Span: Send + Sync + 'static,
    {
        let builder = SpanBuilder::from_name("sdk_in_span")
            .with_attributes(code_attributes("traced_benches::sdk_in_span", line!()));
        tracer.in_span_with_builder(builder, |_cx| body(x))
    }

    /// A root calling `n` children, all written as [`sdk_manual`].
    #[inline(never)]
    pub fn sdk_tree<T>(tracer: &T, n: u64) -> u64
    where
        T: Tracer,
        T::Span: Send + Sync + 'static,
    {
        let mut span = Context::map_current(|cx| {
            tracer.build_with_context(SpanBuilder::from_name("tree"), cx)
        });
        if span.is_recording() {
            span.set_attributes(code_attributes("traced_benches::sdk_tree", line!()));
        }
        let _active = mark_span_as_active(span);
        (0..n).fold(0, |acc, i| acc ^ sdk_manual(tracer, i))
    }

    /// [`traced_attrs`] by hand.
    #[inline(never)]
    pub fn sdk_attrs<T>(tracer: &T, id: u64, items: i64) -> u64
    where
        T: Tracer,
        T::Span: Send + Sync + 'static,
    {
        let mut span = Context::map_current(|cx| {
            tracer.build_with_context(SpanBuilder::from_name("sdk_attrs"), cx)
        });
        if span.is_recording() {
            let [a, b, c] = code_attributes("traced_benches::sdk_attrs", line!());
            span.set_attributes([
                a,
                b,
                c,
                KeyValue::new("id", id as i64),
                KeyValue::new("route", "/cart"),
                KeyValue::new("items", items),
            ]);
        }
        let _active = mark_span_as_active(span);
        body(id ^ items as u64)
    }

    /// [`traced_event`] by hand.
    #[inline(never)]
    pub fn sdk_event<T>(tracer: &T, x: u64) -> u64
    where
        T: Tracer,
        T::Span: Send + Sync + 'static,
    {
        let mut span = Context::map_current(|cx| {
            tracer.build_with_context(SpanBuilder::from_name("sdk_event"), cx)
        });
        if span.is_recording() {
            span.set_attributes(code_attributes("traced_benches::sdk_event", line!()));
        }
        let _active = mark_span_as_active(span);
        Context::map_current(|cx| {
            let span = cx.span();
            if span.is_recording() {
                span.add_event(
                    "cache.miss",
                    vec![KeyValue::new("key", x as i64), KeyValue::new("attempt", 2)],
                );
            }
        });
        body(x)
    }

    // -----------------------------------------------------------------------
    // tracing + tracing-opentelemetry
    // -----------------------------------------------------------------------

    /// `#[instrument]` recording no argument (as `#[traced]` records none).
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn tracing_fn(x: u64) -> u64 {
        body(x)
    }

    /// A `#[instrument]` root calling `n` `#[instrument]` children.
    #[tracing::instrument(skip_all, name = "tree")]
    #[inline(never)]
    pub fn tracing_tree(n: u64) -> u64 {
        (0..n).fold(0, |acc, i| acc ^ tracing_fn(i))
    }

    /// [`traced_attrs`] with `tracing`.
    #[tracing::instrument(skip_all, fields(id = id, route = "/cart", items = items))]
    #[inline(never)]
    pub fn tracing_attrs(id: u64, items: i64) -> u64 {
        body(id ^ items as u64)
    }

    /// [`traced_event`] with `tracing` (an event becomes a span event).
    #[tracing::instrument(skip_all)]
    #[inline(never)]
    pub fn tracing_event(x: u64) -> u64 {
        tracing::info!(key = x, attempt = 2, "cache.miss");
        body(x)
    }

    // -----------------------------------------------------------------------
    // fastrace
    // -----------------------------------------------------------------------

    /// `#[trace]`: a local span when a parent is set on this thread, else nothing.
    #[fastrace::trace]
    #[inline(never)]
    pub fn fastrace_fn(x: u64) -> u64 {
        body(x)
    }

    /// One sampled span: a root (fastrace's `#[trace]` makes only children).
    #[inline(never)]
    pub fn fastrace_root(x: u64) -> u64 {
        let root = fastrace::Span::root("fastrace_root", fastrace::prelude::SpanContext::random());
        let _parent = root.set_local_parent();
        body(x)
    }

    /// A root calling `n` `#[trace]` children.
    #[inline(never)]
    pub fn fastrace_tree(n: u64) -> u64 {
        let root = fastrace::Span::root("tree", fastrace::prelude::SpanContext::random());
        let _parent = root.set_local_parent();
        (0..n).fold(0, |acc, i| acc ^ fastrace_fn(i))
    }

    /// [`traced_attrs`] with fastrace: a root with the three properties.
    #[inline(never)]
    pub fn fastrace_attrs(id: u64, items: i64) -> u64 {
        let root = fastrace::Span::root("fastrace_attrs", fastrace::prelude::SpanContext::random())
            .with_properties(|| {
                [
                    ("id", id.to_string()),
                    ("route", "/cart".to_owned()),
                    ("items", items.to_string()),
                ]
            });
        let _parent = root.set_local_parent();
        body(id ^ items as u64)
    }

    /// [`traced_event`] with fastrace: a root and an event on it.
    #[inline(never)]
    pub fn fastrace_event(x: u64) -> u64 {
        let root = fastrace::Span::root("fastrace_event", fastrace::prelude::SpanContext::random());
        let _parent = root.set_local_parent();
        fastrace::local::LocalSpan::add_event(
            fastrace::Event::new("cache.miss")
                .with_properties(|| [("key", x.to_string()), ("attempt", "2".to_owned())]),
        );
        body(x)
    }

    // -----------------------------------------------------------------------
    // Metrics
    // -----------------------------------------------------------------------

    /// The two call metrics, declared with `#[derive(Metrics)]`.
    #[derive(traced::Metrics)]
    #[metrics(prefix = "bench")]
    pub struct CallMetrics {
        /// Calls.
        pub calls: traced::metrics::Counter<u64>,
        /// Call durations.
        #[metric(unit = "s", buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0])]
        pub duration: traced::metrics::Histogram<f64>,
    }

    /// The labels `#[traced(metrics)]` records (as autometrics does).
    #[inline(always)]
    fn call_labels(function: &'static str) -> [KeyValue; 5] {
        [
            KeyValue::new("function", function),
            KeyValue::new("module", module_path!()),
            KeyValue::new("result", "ok"),
            KeyValue::new("caller.function", ""),
            KeyValue::new("caller.module", ""),
        ]
    }

    /// The call metrics recorded by hand on the derived instruments.
    #[inline(never)]
    pub fn derived_metrics(x: u64) -> u64 {
        let start = Instant::now();
        let out = body(x);
        let m = CallMetrics::global();
        let labels = call_labels("derived_metrics");
        m.calls.add(1, &labels);
        m.duration
            .record(start.elapsed().as_secs_f64(), &labels[..2]);
        out
    }

    /// The raw SDK instruments (what `#[derive(Metrics)]` wraps).
    pub struct RawInstruments {
        /// `function.calls`.
        pub calls: opentelemetry::metrics::Counter<u64>,
        /// `function.calls.duration`.
        pub duration: opentelemetry::metrics::Histogram<f64>,
    }

    impl RawInstruments {
        /// The instruments on the global meter provider.
        pub fn new() -> Self {
            let meter = opentelemetry::global::meter("hand-written");
            RawInstruments {
                calls: meter.u64_counter("raw.function.calls").build(),
                duration: meter
                    .f64_histogram("raw.function.calls.duration")
                    .with_unit("s")
                    .with_boundaries(vec![
                        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                        10.0,
                    ])
                    .build(),
            }
        }
    }

    impl Default for RawInstruments {
        fn default() -> Self {
            Self::new()
        }
    }

    /// The call metrics recorded by hand on the raw SDK instruments.
    #[inline(never)]
    pub fn sdk_metrics(m: &RawInstruments, x: u64) -> u64 {
        let start = Instant::now();
        let out = body(x);
        let labels = call_labels("sdk_metrics");
        m.calls.add(1, &labels);
        m.duration
            .record(start.elapsed().as_secs_f64(), &labels[..2]);
        out
    }

    /// autometrics: the same two metrics, into prometheus-client.
    #[autometrics::autometrics]
    #[inline(never)]
    pub fn autometrics_fn(x: u64) -> u64 {
        body(x)
    }
}
