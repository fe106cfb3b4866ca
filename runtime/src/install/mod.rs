//! From a [`Builder`] to installed providers: one file per signal
//! (`traces.rs`, `metrics.rs`, `logs.rs`), the resource in `resource.rs`, the
//! `Builder`'s typed methods over the settings in `code.rs`, and
//! here the order they are built in, the globals, and what the `Guard` keeps.

mod code;
pub(crate) mod logs;
pub(crate) mod metrics;
mod resource;
pub(crate) mod traces;

use crate::builder::Builder;
use crate::export::PrometheusEndpoint;
use crate::settings::Settings;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkError as Error;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which `init` is the installed one, so that an old guard never uninstalls a newer setup.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// What an `init` installed, kept by its [`Guard`](crate::Guard).
pub(crate) struct Installed {
    pub(crate) tracer_provider: SdkTracerProvider,
    pub(crate) meter_provider: SdkMeterProvider,
    pub(crate) logger_provider: SdkLoggerProvider,
    prometheus: Option<PrometheusEndpoint>,
    /// Kept for as long as the provider: `build_info` is read by its callback.
    _build_info: opentelemetry::metrics::ObservableGauge<u64>,
    generation: u64,
    timeout: Duration,
}

/// Installs what `builder` describes: the settings it carries over the
/// environment (unless it ignores it), then the providers, then the globals.
pub(crate) fn install(mut builder: Builder) -> Option<Installed> {
    let mut settings = Settings::from_code_and_env(
        &builder.settings,
        builder.read_env,
        builder.file_settings.as_ref(),
    );
    // The built-in secret-key rules, after the program's own.
    if builder.secret_keys {
        builder.redaction = Some(match builder.redaction.take() {
            Some(rules) => rules.with_secret_keys(),
            None => crate::process::Redaction::secret_keys(),
        });
    }
    settings.apply_code(&mut builder);
    for warning in &settings.warnings {
        eprintln!("traced: {warning}");
    }
    if settings.sdk_disabled {
        return None;
    }
    crate::panic::install_hook();
    opentelemetry::global::set_text_map_propagator(propagators(&settings.propagators));

    let resource = resource::build(&builder, &settings);
    crate::metrics::exemplars::set_filter(settings.metrics.exemplar_filter);
    let (meter_provider, prometheus) = metrics::provider(&mut builder, &settings, resource.clone());
    // Installed before the span and log processors are built: the SDK's batch
    // processors take their self-diagnostics meter (`otel.sdk.processor.*.processed`,
    // spans and records exported or dropped because the queue was full) from
    // the global provider when they are created.
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    let build_info = {
        let attribute = |key: &'static str| {
            resource
                .get(&opentelemetry::Key::from_static_str(key))
                .map(|v| v.as_str().into_owned())
        };
        crate::metrics::BuildInfo::resolve(
            |var| settings.build_info.get(var),
            &builder.crate_build,
            &attribute("service.name").unwrap_or_default(),
            attribute("service.version").as_deref(),
        )
        .install(&meter_provider)
    };
    let trace_exporters = traces::exporters(&builder, &settings);
    // With the console waterfall, console log lines of sampled spans are drawn
    // under their spans instead of on their own.
    let trace_logs = trace_exporters
        .contains(&crate::choices::TracesExporter::Console)
        .then(crate::export::console_logs::TraceLogs::default);
    let logger_provider = logs::provider(
        &mut builder,
        &settings,
        resource.clone(),
        trace_logs.clone(),
    );
    let (tracer_provider, silent, fast) = traces::provider(
        &mut builder,
        &settings,
        resource,
        trace_exporters,
        &meter_provider,
        &logger_provider,
        trace_logs,
    );
    let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
    crate::tracer::set(Some(crate::tracer::Installed {
        sdk: tracer_provider.tracer_with_scope(crate::tracer::SCOPE.clone()),
        silent: silent.map(crate::tracer::Silent::new),
        fast,
    }));
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    crate::metrics::provider_changed();
    crate::logs::install_bridges(&logger_provider, &settings.logs.filter);
    Some(Installed {
        tracer_provider,
        meter_provider,
        logger_provider,
        prometheus,
        _build_info: build_info,
        generation,
        timeout: builder.shutdown_timeout,
    })
}

/// The propagators `OTEL_PROPAGATORS` names, in its order.
fn propagators(
    choices: &[crate::settings::PropagatorChoice],
) -> opentelemetry::propagation::TextMapCompositePropagator {
    use crate::settings::PropagatorChoice;
    use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
    let mut list: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for choice in choices {
        match choice {
            PropagatorChoice::TraceContext => {
                list.push(Box::new(crate::propagation::StrictTraceContext::default()))
            }
            PropagatorChoice::Baggage => list.push(Box::new(
                opentelemetry_sdk::propagation::BaggagePropagator::new(),
            )),
        }
    }
    TextMapCompositePropagator::new(list)
}

impl Installed {
    pub(crate) fn prometheus_addr(&self) -> Option<std::net::SocketAddr> {
        self.prometheus.as_ref().map(PrometheusEndpoint::addr)
    }

    pub(crate) fn flush(&self) -> Result<(), Error> {
        let logs = self.logger_provider.force_flush();
        let spans = self.tracer_provider.force_flush();
        let metrics = self.meter_provider.force_flush();
        // What the exporters handed on is delivered too (or said not to be).
        let delivered =
            crate::export::drain_deliveries(self.timeout).map_err(Error::InternalFailure);
        logs.and(spans).and(metrics).and(delivered)
    }

    /// Uninstalls the globals (unless a newer `init` replaced them) and shuts
    /// the providers down within the guard's bound.
    pub(crate) fn close(self) -> Result<(), Error> {
        let Installed {
            tracer_provider,
            meter_provider,
            logger_provider,
            prometheus,
            _build_info,
            generation,
            timeout,
        } = self;
        let current = || GENERATION.load(Ordering::Acquire) == generation;
        if current() {
            crate::logs::uninstall_bridges();
            crate::redact::set_current(None);
            crate::process::filter::set_current(None);
            crate::tracer::set(None);
            opentelemetry::global::set_tracer_provider(
                opentelemetry::trace::noop::NoopTracerProvider::new(),
            );
            opentelemetry::global::set_meter_provider(
                opentelemetry::metrics::noop::NoopMeterProvider::new(),
            );
        }
        // The shutdowns share the bound (the meter provider's own final
        // export is bounded by the export timeout).
        let deadline = std::time::Instant::now() + timeout;
        let left = || {
            deadline
                .saturating_duration_since(std::time::Instant::now())
                .max(Duration::from_millis(1))
        };
        let logs = logger_provider.shutdown_with_timeout(timeout);
        let spans = tracer_provider.shutdown_with_timeout(left());
        // The SDK's meter provider ignores the timeout (its periodic reader waits a
        // fixed 5 s for the final export): bound it here, on a thread of its own
        // that is left to finish in the background if it overruns.
        let metrics = bounded(left(), move || meter_provider.shutdown());
        // The retry queues get one more try within what is left of the bound.
        let delivered = crate::export::drain_deliveries(left()).map_err(Error::InternalFailure);
        // What the OTLP exporters that met trouble exported, retried and dropped.
        let tallies = crate::export::delivery_shutdown_lines();
        // Only after the final export, which reads the exemplars: instruments built
        // from now on start from nothing.
        if current() {
            crate::metrics::provider_changed();
        }
        // The endpoint stops after the last collection, freeing its port.
        #[allow(clippy::drop_non_drop)]
        drop(prometheus);
        let mut failed: Vec<String> = [
            ("logs", logs),
            ("traces", spans),
            ("metrics", metrics),
            ("OTLP delivery", delivered),
        ]
        .into_iter()
        .filter_map(|(signal, r)| r.err().map(|e| format!("{signal}: {}", describe(&e))))
        .collect();
        // One line: in the error when there is one, else said here.
        if failed.is_empty() {
            if !tallies.is_empty() {
                eprintln!("traced: shutdown: {}", tallies.join("; "));
            }
            Ok(())
        } else {
            failed.extend(tallies);
            Err(Error::InternalFailure(failed.join("; ")))
        }
    }
}

/// A shutdown error as a person reads it: the SDK's "Failed to shutdown" means
/// that the last export of what was left did not succeed.
fn describe(e: &Error) -> String {
    match e {
        Error::Timeout(d) => format!("not done within {d:?}; what was left is dropped"),
        Error::AlreadyShutdown => "already shut down".to_owned(),
        Error::InternalFailure(m) if m.contains("Failed to shutdown") => {
            "the last export did not succeed; what was left is dropped".to_owned()
        }
        Error::InternalFailure(m) => m.clone(),
    }
}

/// Runs `work` on a thread of its own and waits for it at most `timeout`.
fn bounded(
    timeout: Duration,
    work: impl FnOnce() -> Result<(), Error> + Send + 'static,
) -> Result<(), Error> {
    let (done, result) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("traced-shutdown".to_owned())
        .spawn(move || {
            let _ = done.send(work());
        });
    match spawned {
        Ok(_) => result
            .recv_timeout(timeout)
            .unwrap_or(Err(Error::Timeout(timeout))),
        Err(e) => Err(Error::InternalFailure(format!(
            "cannot start a thread: {e}"
        ))),
    }
}
