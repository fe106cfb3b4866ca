//! The span processor `init` puts in front of the console exporter.

use super::*;

/// The span processor `init` puts in front of the console exporter: each trace
/// prints as soon as it is complete, without a batch delay.
///
/// Every sampled span is handed to the [`ConsoleExporter`] when it ends, on
/// the thread that ends it (the exporter only renders and writes). The
/// processor also sees spans start, so it knows which spans are still
/// running: a local root whose descendants have all ended prints at once; one
/// with descendants still running (a task it spawned, a request it did not
/// wait for) prints when they end, or [`LATE_CHILDREN_WAIT`] after the root
/// ended, on a timer thread of its own if nothing else ends meanwhile. Spans
/// ending later print on their own, marked `(parent … printed earlier)`. A
/// span whose remote parent is a client span running in this process waits
/// for it and is drawn under it; one whose parent is in another process
/// prints as soon as it is complete, without the exporter's one-second wait.
/// [`force_flush`](SpanProcessor::force_flush) and
/// [`shutdown`](SpanProcessor::shutdown) print everything still held back.
pub(crate) struct ConsoleSpanProcessor {
    pub(super) shared: Arc<Shared>,
    pub(super) timer: Mutex<Timer>,
}

/// What the processor and its timer thread share.
pub(super) struct Shared {
    pub(super) exporter: ConsoleExporter,
    /// Wakes the timer thread when a root starts waiting or the processor stops.
    pub(super) wake: Condvar,
}

pub(super) enum Timer {
    NotStarted,
    Running(std::thread::JoinHandle<()>),
    /// Stopped, or it could not be started (waits then end when the next
    /// span ends, or at flush or shutdown).
    Gone,
}

impl ConsoleSpanProcessor {
    pub(crate) fn new(exporter: ConsoleExporter) -> Self {
        exporter.lock().live = Some(Live::default());
        ConsoleSpanProcessor {
            shared: Arc::new(Shared {
                exporter,
                wake: Condvar::new(),
            }),
            timer: Mutex::new(Timer::NotStarted),
        }
    }

    /// Starts the timer thread the first time a root waits: not before, so
    /// that a program whose traces never wait has no thread for it.
    pub(super) fn ensure_timer(&self) {
        let mut timer = self.timer.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(*timer, Timer::NotStarted) {
            return;
        }
        let shared = Arc::clone(&self.shared);
        *timer = match std::thread::Builder::new()
            .name("traced-console".to_owned())
            .spawn(move || shared.run_timer())
        {
            Ok(handle) => Timer::Running(handle),
            Err(_) => Timer::Gone,
        };
    }

    /// Stops the timer thread; waits for it unless `join` is false.
    pub(super) fn stop_timer(&self, join: bool) {
        {
            let mut state = self.shared.exporter.lock();
            if let Some(live) = state.live.as_mut() {
                live.stopped = true;
            }
        }
        self.shared.wake.notify_all();
        let mut timer = self.timer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Timer::Running(handle) = std::mem::replace(&mut *timer, Timer::Gone) {
            if join {
                let _ = handle.join();
            }
        }
    }
}

impl Shared {
    /// The timer thread: prints each waiting root when its wait is over.
    pub(super) fn run_timer(&self) {
        let mut state = self.exporter.lock();
        loop {
            if state.is_shutdown || state.live.as_ref().is_none_or(|live| live.stopped) {
                return;
            }
            let now = Instant::now();
            let mut out = String::new();
            self.exporter
                .release_deferred(&mut state, &mut out, Some(now));
            // A failed write is the application's stderr gone: nothing to tell.
            let _ = state.write(&out);
            state = match ConsoleExporter::next_deadline(&state) {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(now);
                    self.wake
                        .wait_timeout(state, wait)
                        .map_or_else(|poisoned| poisoned.into_inner().0, |(state, _)| state)
                }
                None => self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

impl fmt::Debug for ConsoleSpanProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSpanProcessor")
            .field("exporter", &self.shared.exporter)
            .finish_non_exhaustive()
    }
}

impl SpanProcessor for ConsoleSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        let sc = span.span_context();
        if !sc.is_sampled() {
            return;
        }
        let parent = cx.span().span_context().clone();
        let parent = if parent.is_valid() && parent.trace_id() == sc.trace_id() {
            parent.span_id()
        } else {
            SpanId::INVALID
        };
        self.shared
            .exporter
            .start_live(sc.trace_id(), sc.span_id(), parent);
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let waiting = {
            let mut state = self.shared.exporter.lock();
            let now = Instant::now();
            // A failed write is the application's stderr gone: nothing to tell.
            let _ = self.shared.exporter.end_live(&mut state, span, now);
            state
                .live
                .as_ref()
                .is_some_and(|live| !live.deferred.is_empty())
        };
        if waiting {
            self.ensure_timer();
            self.shared.wake.notify_all();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.exporter.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.stop_timer(true);
        self.shared.exporter.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called while the provider is built, before the timer can exist.
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.exporter.set_resource(resource);
        }
    }
}

/// A span whose start the processor saw was filtered out when it ended: it is
/// no longer waited for.
impl crate::process::exporting::Inner for ConsoleSpanProcessor {
    fn dropped(&self, span: &SpanData) {
        let mut state = self.shared.exporter.lock();
        let Some(live) = state.live.as_mut() else {
            return;
        };
        live.end(span.span_context.trace_id(), span.span_context.span_id());
        let mut out = String::new();
        self.shared
            .exporter
            .release_deferred(&mut state, &mut out, Some(Instant::now()));
        // A failed write is the application's stderr gone: nothing to tell.
        let _ = state.write(&out);
    }
}

/// Lets the timer thread end if the processor is dropped without a shutdown.
impl Drop for ConsoleSpanProcessor {
    fn drop(&mut self) {
        self.stop_timer(false);
    }
}
