//! Logs: what a program already writes with `log` (feature `log`) or `tracing`
//! (feature `tracing`) becomes OpenTelemetry log records, carrying the trace id and
//! span id of the span they were written in.
//!
//! `init` installs a logger provider (exporters from `OTEL_LOGS_EXPORTER`: the
//! console by default, OTLP when an endpoint is set) and, with the features on,
//! the bridges. Volume is controlled by level with a `RUST_LOG`-style filter
//! (`info` when `RUST_LOG` is unset), e.g. `RUST_LOG=warn,my_crate::cart=debug`.
//!
//! The bridges are installed once per process and follow re-`init`s. If the
//! application already installed a `log` logger or a global `tracing` subscriber,
//! `init` says so on stderr; add `tracing_layer()` (feature `tracing`) to your
//! subscriber instead.

#[cfg(all(feature = "enabled", any(feature = "log", feature = "tracing")))]
use arc_swap::ArcSwapOption;
#[cfg(feature = "enabled")]
use opentelemetry_sdk::logs::SdkLoggerProvider;
#[cfg(all(feature = "enabled", any(feature = "log", feature = "tracing")))]
use std::sync::Arc;

/// The `RUST_LOG`-style filter used when none is configured.
pub const DEFAULT_FILTER: &str = "info";

/// A parsed level filter: `info`, `warn,my_crate=debug`, ...
#[cfg(all(feature = "enabled", any(feature = "log", feature = "tracing")))]
pub(crate) struct LevelFilter(env_filter::Filter);

#[cfg(all(feature = "enabled", any(feature = "log", feature = "tracing")))]
impl LevelFilter {
    /// Parses `spec`; an invalid spec is reported and the default used.
    pub(crate) fn parse(spec: &str) -> Self {
        let mut builder = env_filter::Builder::new();
        if builder.try_parse(spec).is_err() {
            eprintln!(
                "traced: log filter {spec:?} is not valid (expected RUST_LOG syntax such as \"info,my_crate=debug\"); using \"{DEFAULT_FILTER}\""
            );
            let mut fallback = env_filter::Builder::new();
            let _ = fallback.try_parse(DEFAULT_FILTER);
            return LevelFilter(fallback.build());
        }
        LevelFilter(builder.build())
    }

    fn enabled(&self, level: log::Level, target: &str) -> bool {
        self.0
            .enabled(&log::Metadata::builder().level(level).target(target).build())
    }
}

#[cfg(all(feature = "enabled", feature = "log"))]
mod log_bridge {
    use super::*;
    use opentelemetry_appender_log::OpenTelemetryLogBridge;
    use opentelemetry_sdk::logs::SdkLogger;
    use std::sync::Once;

    type Bridge = OpenTelemetryLogBridge<SdkLoggerProvider, SdkLogger>;

    static CURRENT: ArcSwapOption<(LevelFilter, Bridge)> = ArcSwapOption::const_empty();
    static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    struct Forward;

    impl log::Log for Forward {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            CURRENT.load().as_ref().is_some_and(|b| {
                b.0.enabled(metadata.level(), metadata.target()) && b.1.enabled(metadata)
            })
        }

        fn log(&self, record: &log::Record<'_>) {
            if let Some(b) = CURRENT.load().as_ref() {
                if b.0.enabled(record.level(), record.target()) {
                    log::Log::log(&b.1, record);
                }
            }
        }

        fn flush(&self) {}
    }

    static FORWARD: Forward = Forward;

    pub(crate) fn install(provider: &SdkLoggerProvider, filter: LevelFilter) {
        let max = filter.0.filter();
        CURRENT.store(Some(Arc::new((
            filter,
            OpenTelemetryLogBridge::new(provider),
        ))));
        static ONCE: Once = Once::new();
        ONCE.call_once(|| match log::set_logger(&FORWARD) {
            Ok(()) => INSTALLED.store(true, std::sync::atomic::Ordering::Relaxed),
            Err(_) => eprintln!(
                "traced: another `log` logger is installed; `log` records are not bridged to OpenTelemetry"
            ),
        });
        if INSTALLED.load(std::sync::atomic::Ordering::Relaxed) {
            log::set_max_level(max);
        }
    }

    pub(crate) fn uninstall() {
        CURRENT.store(None);
    }
}

#[cfg(all(feature = "enabled", feature = "tracing"))]
mod tracing_bridge {
    use super::*;
    use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
    use opentelemetry_sdk::logs::SdkLogger;
    use std::sync::Once;
    use tracing_subscriber::registry::LookupSpan;

    type Bridge = OpenTelemetryTracingBridge<SdkLoggerProvider, SdkLogger>;

    static CURRENT: ArcSwapOption<(LevelFilter, Bridge)> = ArcSwapOption::const_empty();

    fn level(l: &tracing::Level) -> log::Level {
        match *l {
            tracing::Level::ERROR => log::Level::Error,
            tracing::Level::WARN => log::Level::Warn,
            tracing::Level::INFO => log::Level::Info,
            tracing::Level::DEBUG => log::Level::Debug,
            tracing::Level::TRACE => log::Level::Trace,
        }
    }

    /// Sends `event` on when a logger provider is installed and the filter lets it through.
    pub(crate) fn on_event<S>(
        event: &tracing::Event<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        if let Some(b) = CURRENT.load().as_ref() {
            let meta = event.metadata();
            if b.0.enabled(level(meta.level()), meta.target()) {
                tracing_subscriber::Layer::<S>::on_event(&b.1, event, ctx);
            }
        }
    }

    pub(crate) fn install(provider: &SdkLoggerProvider, filter: LevelFilter) {
        CURRENT.store(Some(Arc::new((
            filter,
            OpenTelemetryTracingBridge::new(provider),
        ))));
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            use tracing_subscriber::layer::SubscriberExt;
            let subscriber = tracing_subscriber::registry().with(super::tracing_layer());
            if tracing::subscriber::set_global_default(subscriber).is_err() {
                eprintln!(
                    "traced: a global `tracing` subscriber is already installed; add `traced::logs::tracing_layer()` to it to bridge `tracing` events"
                );
            }
        });
    }

    pub(crate) fn uninstall() {
        CURRENT.store(None);
    }
}

/// A `tracing_subscriber` layer that sends `tracing` events to the logger
/// provider of the current `traced::init` (and nowhere before it; nowhere at all
/// with the `enabled` feature off).
#[cfg(feature = "tracing")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer {
    _private: (),
}

#[cfg(feature = "tracing")]
impl<S> tracing_subscriber::Layer<S> for TracingLayer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    #[cfg_attr(not(feature = "enabled"), allow(unused_variables))]
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        #[cfg(feature = "enabled")]
        tracing_bridge::on_event(event, ctx);
    }
}

/// The layer to add to your own `tracing` subscriber when the application
/// installs one itself (then `init` cannot install its own).
///
/// ```no_run
/// # use traced_runtime as traced;
/// use tracing_subscriber::prelude::*;
/// tracing_subscriber::registry()
///     .with(traced::logs::tracing_layer())
///     .init();
/// ```
#[cfg(feature = "tracing")]
pub fn tracing_layer() -> TracingLayer {
    TracingLayer::default()
}

#[cfg(feature = "enabled")]
/// Points the bridges at `provider`, filtering by `filter` (RUST_LOG syntax).
#[allow(unused_variables)]
pub(crate) fn install_bridges(provider: &SdkLoggerProvider, filter: &str) {
    #[cfg(feature = "log")]
    log_bridge::install(provider, LevelFilter::parse(filter));
    #[cfg(feature = "tracing")]
    tracing_bridge::install(provider, LevelFilter::parse(filter));
}

/// Detaches the bridges (records are dropped until the next `init`).
#[cfg(feature = "enabled")]
pub(crate) fn uninstall_bridges() {
    #[cfg(feature = "log")]
    log_bridge::uninstall();
    #[cfg(feature = "tracing")]
    tracing_bridge::uninstall();
}
