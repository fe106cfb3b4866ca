//! A human-readable "waterfall" exporter that prints finished traces to the console.
//!
//! [`ConsoleExporter`] holds spans back until the local root of their trace has
//! ended, then prints the whole trace as a tree (with the spans of servers in
//! this process nested under the client spans that called them): one line per
//! span with its
//! duration and a bar on a time axis shared by the trace, followed by the span's
//! source location, attributes, events and links. Made
//! [`with_logs`](ConsoleExporter::with_logs), it also draws the log records
//! written in each span (`▸`), among the span's events in time order.
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 · shop-api · 12.4ms
//! GET /orders/{id} server      12.4ms  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━  ✓
//! │ http.request.method="GET" url.path="/orders/42" http.route="/orders/{id}"
//! │ http.response.status_code=200 client.address="203.0.113.7"
//! ├─ load_order                9.65ms  ━━━━━━━━━━━━━━━━━━━━━━━━━━
//! │  │ at src/orders.rs:42
//! │  │ order.id=42 cache.hit=false
//! │  │ ▸ +10.0µs INFO shop::orders: loading order order.id=42
//! │  ├─ SELECT orders client   4.56ms   ━━━━━━━━━━━━                     ✗ ERROR: connection reset by peer
//! │  │    db.system.name="postgresql"
//! │  │    db.query.text="SELECT id, customer_id, status, total_cents, created_at, updated_at FROM orders…"
//! │  │    server.address="db.internal" server.port=5432
//! │  │    • exception +4.55ms exception.type="std::io::Error" exception.message="connection reset by peer"
//! │  └─ SELECT orders client   4.55ms               ━━━━━━━━━━━━
//! │       db.system.name="postgresql" retry.attempt=2
//! ├─ render_response           2.40ms                           ━━━━━━━
//! │    template="order.html" content.encodings=["gzip","br"]
//! │    ↪ link 0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331 link.reason="batched render"
//! └─ audit.publish producer     850ns                                 ━
//! ```

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::logs::AnyValue;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::console_logs::{HeldRecord, TraceLogs};
use super::text::{
    fmt_value, key_segment, one_line, quote, stderr_color, width, write_text, Level, Line, Segment,
    Style, MAX_VALUE_CHARS,
};

/// Most traces held back at once while waiting for their local root.
const MAX_PENDING_TRACES: usize = 1024;
/// Most spans held back at once while waiting for their local root.
const MAX_PENDING_SPANS: usize = 10_000;
/// How many printed spans are remembered, to recognise children that end late.
const MAX_PRINTED_SPANS: usize = 4096;
/// How long a span whose parent is remote waits for that parent to arrive
/// before an export prints it as the root of a block of its own.
const REMOTE_PARENT_WAIT: Duration = Duration::from_secs(1);
/// How long the trace of a local root that ended waits for the spans still
/// running under it, with [`ConsoleSpanProcessor`].
const LATE_CHILDREN_WAIT: Duration = Duration::from_millis(500);
/// Most running spans a [`ConsoleSpanProcessor`] keeps track of; spans started
/// beyond it are not waited for.
const MAX_OPEN_SPANS: usize = 10_000;
/// Longest chain of parents followed to find whether a running span is below
/// a root (only a malformed chain is longer).
const MAX_ANCESTRY: usize = 1024;

/// Columns of the time axis every bar is drawn on.
const BAR_WIDTH: usize = 32;
/// Columns of the right-aligned duration column.
const DURATION_WIDTH: usize = 7;
/// Longest span name shown before it is cut with `…`.
const MAX_NAME_CHARS: usize = 48;
/// Detail lines (attributes, events, links) wrap beyond this many columns.
const WRAP_WIDTH: usize = 100;
/// Deeper spans are drawn at this depth so that pathological trees stay printable.
const MAX_INDENT_DEPTH: usize = 24;

/// A [`SpanExporter`] that prints each finished trace to a terminal as a tree
/// with a waterfall of its spans' timings.
///
/// Spans reach an exporter in the order they end, children before their
/// parents, and possibly spread over several batches. The exporter holds them
/// back per trace until the trace's local root ends (a span without a parent,
/// or whose parent lives in another process), then prints the root together
/// with everything below it. A span whose parent was already printed is printed
/// on its own as soon as it ends. [`force_flush`](SpanExporter::force_flush)
/// and [`shutdown`](SpanExporter::shutdown) print whatever is still held back,
/// marking spans whose parent never arrived.
///
/// A span whose parent is *remote* (it came with a request, as for the span of
/// an HTTP server) may still have its parent in this process: when a client
/// calls a server of the same process, the client span reaches this exporter
/// too, usually in the same batch, and ends after the server span. So a
/// remote-parent span is held back as well. If its parent arrives, in the same
/// batch or a later one, the span is drawn under it and the trace prints as one
/// tree. Otherwise (the parent truly lives in another process) the span is
/// printed as the root of a block of its own, marked `(remote parent …)`, by
/// the first export at least a second after it arrived, or by
/// [`force_flush`](SpanExporter::force_flush) or
/// [`shutdown`](SpanExporter::shutdown): such a trace prints at a later export
/// rather than as soon as it ends. A batch span processor exports only when
/// spans are waiting, so in a process gone quiet it prints with the next spans
/// that end, or at shutdown. (`traced::init` puts the exporter behind a
/// processor of its own instead: it hands over each span as it ends and
/// knows which spans still run, so a trace prints as soon as it is complete,
/// and a span whose parent is in another process prints without the wait.)
///
/// At most 1024 traces and 10 000 spans are held back; beyond that the oldest
/// trace is printed as it is, so memory stays bounded. Holding never blocks:
/// every export prints what is due and returns.
///
/// Output is deterministic for the same spans: apart from durations and
/// offsets computed from span timestamps, no clock time is printed.
///
/// # Examples
///
/// ```
/// # use traced_runtime as traced;
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use traced::export::console::ConsoleExporter;
///
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(ConsoleExporter::new())
///     .build();
/// provider.tracer("example").in_span("checkout", |_cx| {
///     // Work measured by the span; the trace is printed to stderr when it ends.
/// });
/// provider.shutdown()?;
/// # Ok::<(), opentelemetry_sdk::error::OTelSdkError>(())
/// ```
pub struct ConsoleExporter {
    state: Mutex<State>,
    color: bool,
    service_name: Option<String>,
    logs: Option<TraceLogs>,
}

impl ConsoleExporter {
    /// Creates an exporter that writes to standard error.
    ///
    /// Output is coloured when standard error is a terminal and the `NO_COLOR`
    /// environment variable is unset or empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// use traced::export::console::ConsoleExporter;
    ///
    /// let provider = SdkTracerProvider::builder()
    ///     .with_simple_exporter(ConsoleExporter::new())
    ///     .build();
    /// # drop(provider);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_writer(std::io::stderr(), stderr_color())
    }

    /// Creates an exporter that writes to `writer`, with ANSI colours if `color`
    /// is true and no escape sequences at all otherwise.
    ///
    /// Each export writes its finished traces with a single `write_all`
    /// followed by `flush`; a failed write is reported as an error of the
    /// export, flush or shutdown that caused it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use std::io::IsTerminal;
    /// use traced::export::console::ConsoleExporter;
    ///
    /// let stdout = std::io::stdout();
    /// let color = stdout.is_terminal();
    /// let exporter = ConsoleExporter::with_writer(stdout, color);
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn with_writer<W: Write + Send + 'static>(writer: W, color: bool) -> Self {
        Self {
            state: Mutex::new(State {
                writer: Box::new(writer),
                pending: Pending::default(),
                printed: Printed::default(),
                is_shutdown: false,
                live: None,
            }),
            color,
            service_name: None,
            logs: None,
        }
    }

    /// Renders the records of `logs` under the spans they were written in.
    ///
    /// Give the same `logs` to
    /// [`ConsoleLogExporter::with_trace_view`](super::console_logs::ConsoleLogExporter::with_trace_view).
    /// Each record written in a printed span is drawn under it, among the
    /// span's events in time order, as in
    /// `▸ +1.20ms INFO shop::cart: checking out 3 items items=3`. The log
    /// exporter has printed every record as a line already, when it was
    /// written; this shows it again in its place in the trace.
    ///
    /// # Examples
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use traced::export::console::ConsoleExporter;
    /// use traced::export::console_logs::{ConsoleLogExporter, TraceLogs};
    ///
    /// let logs = TraceLogs::default();
    /// let spans = ConsoleExporter::new().with_logs(logs.clone());
    /// let records = ConsoleLogExporter::new().with_trace_view(logs);
    /// # drop((spans, records));
    /// ```
    #[must_use]
    pub fn with_logs(mut self, logs: TraceLogs) -> Self {
        logs.attach_view();
        if let Some(previous) = self.logs.replace(logs) {
            previous.detach_view();
        }
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held unless the writer itself does;
        // the buffered spans are still consistent then, so carry on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Renders `spans`, all of one trace, into `out` with the log records
    /// written in them, and remembers them as printed.
    fn render(&self, out: &mut String, printed: &mut Printed, spans: &[SpanData]) {
        let records = match (&self.logs, spans.first()) {
            (Some(logs), Some(first)) => logs.take_spans(
                first.span_context.trace_id(),
                spans.iter().map(|span| span.span_context.span_id()),
            ),
            _ => HashMap::new(),
        };
        let renderer = Renderer {
            color: self.color,
            service_name: self.service_name.as_deref(),
            records: &records,
        };
        renderer.trace(out, spans, |span| ParentNote::for_top(span, printed));
        for span in spans {
            printed.insert(span);
        }
    }

    /// Exports `batch` as [`SpanExporter::export`] does, `now` being the time
    /// it arrived (the clock is a parameter so that tests need not sleep).
    fn export_at(&self, state: &mut State, batch: Vec<SpanData>, now: Instant) -> OTelSdkResult {
        if state.is_shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }

        // Hold everything back first, so that a root sees all its descendants
        // from the same batch whatever their order in it, and a span whose
        // parent is remote finds that parent if it is in the batch.
        let mut out = String::new();
        let mut tops = Vec::new();
        for span in batch {
            if ParentNote::for_top(&span, &state.printed).is_some_and(ParentNote::waits) {
                state.pending.push(span, now);
                while let Some(evicted) = state.pending.pop_over_limit() {
                    self.render(&mut out, &mut state.printed, &evicted);
                }
            } else {
                tops.push(span);
            }
        }
        let tops: Vec<Vec<SpanData>> = tops
            .into_iter()
            .map(|top| {
                let mut spans = state.pending.take_subtree(&top);
                spans.push(top);
                spans
            })
            .collect();
        // Remote-parent spans whose parent has not come by now were held
        // longer than the new tops: print them first.
        for spans in state.pending.pop_remote_heads(Some(now)) {
            self.render(&mut out, &mut state.printed, &spans);
        }
        for spans in tops {
            self.render(&mut out, &mut state.printed, &spans);
        }
        state.write(&out)
    }

    /// Prints every trace still held back, oldest first. Spans whose parent
    /// is remote and not held back head blocks of their own, as if their
    /// wait were over.
    fn flush_pending(&self, state: &mut State) -> OTelSdkResult {
        let mut out = String::new();
        self.release_deferred(state, &mut out, None);
        for spans in state.pending.pop_remote_heads(None) {
            self.render(&mut out, &mut state.printed, &spans);
        }
        while let Some(spans) = state.pending.pop_oldest() {
            self.render(&mut out, &mut state.printed, &spans);
        }
        state.write(&out)
    }

    /// A sampled span started, with [`ConsoleSpanProcessor`].
    fn start_live(&self, trace_id: TraceId, span_id: SpanId, parent: SpanId) {
        let mut state = self.lock();
        if let Some(live) = state.live.as_mut() {
            live.start(trace_id, span_id, parent);
        }
    }

    /// A sampled span ended, with [`ConsoleSpanProcessor`]: prints what is
    /// complete now. A span whose parent runs or is held back in this
    /// process waits for it; any other (a root, or a span whose parent is
    /// remote or will not come) is a local root: its trace prints now, or
    /// once the spans still running below it have ended, at most
    /// [`LATE_CHILDREN_WAIT`] later.
    fn end_live(&self, state: &mut State, span: SpanData, now: Instant) -> OTelSdkResult {
        if state.is_shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let Some(live) = state.live.as_mut() else {
            return self.export_at(state, vec![span], now);
        };
        let trace_id = span.span_context.trace_id();
        live.end(trace_id, span.span_context.span_id());
        let parent = span.parent_span_id;
        let note = ParentNote::for_top(&span, &state.printed);
        let parent_coming = note.is_some_and(ParentNote::waits)
            && (live.is_open(trace_id, parent)
                || live.defers(trace_id, parent)
                || state.pending.holds(trace_id, parent));
        let mut out = String::new();
        if parent_coming {
            state.pending.push(span, now);
            while let Some(evicted) = state.pending.pop_over_limit() {
                self.render(&mut out, &mut state.printed, &evicted);
            }
        } else if matches!(note, Some(ParentNote::PrintedEarlier(_)))
            || live.open_below(&state.pending, &span).is_empty()
        {
            let mut spans = state.pending.take_subtree(&span);
            spans.push(span);
            self.render(&mut out, &mut state.printed, &spans);
        } else {
            live.deferred.push((span, now + LATE_CHILDREN_WAIT));
        }
        self.release_deferred(state, &mut out, Some(now));
        state.write(&out)
    }

    /// Prints the deferred roots whose descendants have all ended or whose
    /// wait is over at `now` (all of them if `now` is `None`), with what is
    /// held back below them. Spans still running below a root printed this
    /// way are no longer waited for: they print on their own when they end.
    fn release_deferred(&self, state: &mut State, out: &mut String, now: Option<Instant>) {
        let Some(live) = state.live.as_mut() else {
            return;
        };
        let mut i = 0;
        while i < live.deferred.len() {
            let (root, deadline) = &live.deferred[i];
            let open = live.open_below(&state.pending, root);
            let over = now.is_none_or(|now| *deadline <= now);
            if !open.is_empty() && !over {
                i += 1;
                continue;
            }
            let (root, _) = live.deferred.remove(i);
            let trace_id = root.span_context.trace_id();
            for span_id in open {
                live.end(trace_id, span_id);
            }
            let mut spans = state.pending.take_subtree(&root);
            spans.push(root);
            self.render(out, &mut state.printed, &spans);
        }
    }

    /// When the next deferred root is to be printed at the latest.
    fn next_deadline(state: &State) -> Option<Instant> {
        state
            .live
            .as_ref()?
            .deferred
            .iter()
            .map(|(_, deadline)| *deadline)
            .min()
    }
}

/// A dropped exporter draws no more log records (they were printed as lines
/// when they were written).
impl Drop for ConsoleExporter {
    fn drop(&mut self) {
        let is_shutdown = self.state.get_mut().map_or_else(
            |poisoned| poisoned.into_inner().is_shutdown,
            |s| s.is_shutdown,
        );
        if let (Some(logs), false) = (&self.logs, is_shutdown) {
            logs.detach_view();
        }
    }
}

/// Same as [`ConsoleExporter::new`].
///
/// # Examples
///
/// ```
/// # use traced_runtime as traced;
/// use traced::export::console::ConsoleExporter;
///
/// let exporter = ConsoleExporter::default();
/// # drop(exporter);
/// ```
impl Default for ConsoleExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleExporter")
            .field("color", &self.color)
            .field("service_name", &self.service_name)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

/// Prints traces once their local root has ended; see [`ConsoleExporter`].
///
/// # Examples
///
/// A span is held back until the root of its trace ends:
///
/// ```
/// # use traced_runtime as traced;
/// use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer, TracerProvider as _};
/// use opentelemetry::Context;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use traced::export::console::ConsoleExporter;
///
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(ConsoleExporter::with_writer(std::io::stdout(), false))
///     .build();
/// let tracer = provider.tracer("example");
///
/// let parent = tracer.start("parent");
/// let cx = Context::current_with_span(parent);
/// tracer.start_with_context("child", &cx).end(); // held back
/// tracer.start_with_context("unfinished", &cx); // never ends
/// cx.span().end(); // prints `parent` with `child` below it
/// provider.shutdown()?; // would print anything still held back
/// # Ok::<(), opentelemetry_sdk::error::OTelSdkError>(())
/// ```
impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut state = self.lock();
        // Read under the lock, so that arrival times only grow.
        let now = Instant::now();
        self.export_at(&mut state, batch, now)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        if state.is_shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.is_shutdown = true;
        if let Some(logs) = &self.logs {
            // From now on the log exporter keeps no records for this one.
            logs.detach_view();
        }
        self.flush_pending(&mut state)
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = self.lock();
        self.flush_pending(&mut state)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = super::text::service_name(resource);
    }
}

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
    shared: Arc<Shared>,
    timer: Mutex<Timer>,
}

/// What the processor and its timer thread share.
struct Shared {
    exporter: ConsoleExporter,
    /// Wakes the timer thread when a root starts waiting or the processor stops.
    wake: Condvar,
}

enum Timer {
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
    fn ensure_timer(&self) {
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
    fn stop_timer(&self, join: bool) {
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
    fn run_timer(&self) {
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

struct State {
    writer: Box<dyn Write + Send>,
    pending: Pending,
    printed: Printed,
    is_shutdown: bool,
    /// What a [`ConsoleSpanProcessor`] knows of the spans still running;
    /// `None` for an exporter behind another processor.
    live: Option<Live>,
}

/// The spans still running, and the local roots waiting for them, of a
/// [`ConsoleSpanProcessor`].
#[derive(Default)]
struct Live {
    /// Sampled spans started and not ended: by trace, each span's parent.
    open: HashMap<TraceId, HashMap<SpanId, SpanId>>,
    open_count: usize,
    /// Local roots that ended while spans below them still run, with the
    /// time their wait is over, in the order they ended.
    deferred: Vec<(SpanData, Instant)>,
    /// The processor shut down or was dropped: the timer thread stops.
    stopped: bool,
}

impl Live {
    fn start(&mut self, trace_id: TraceId, span_id: SpanId, parent: SpanId) {
        if self.open_count >= MAX_OPEN_SPANS {
            return;
        }
        if self
            .open
            .entry(trace_id)
            .or_default()
            .insert(span_id, parent)
            .is_none()
        {
            self.open_count += 1;
        }
    }

    fn end(&mut self, trace_id: TraceId, span_id: SpanId) {
        if let Entry::Occupied(mut trace) = self.open.entry(trace_id) {
            if trace.get_mut().remove(&span_id).is_some() {
                self.open_count -= 1;
            }
            if trace.get().is_empty() {
                trace.remove();
            }
        }
    }

    fn is_open(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.open
            .get(&trace_id)
            .is_some_and(|spans| spans.contains_key(&span_id))
    }

    fn defers(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.deferred.iter().any(|(root, _)| {
            root.span_context.trace_id() == trace_id && root.span_context.span_id() == span_id
        })
    }

    /// The running spans below `root`, through running and held-back spans.
    fn open_below(&self, pending: &Pending, root: &SpanData) -> Vec<SpanId> {
        let trace_id = root.span_context.trace_id();
        let root_id = root.span_context.span_id();
        let Some(open) = self.open.get(&trace_id) else {
            return Vec::new();
        };
        let held = pending.parents(trace_id);
        open.iter()
            .filter(|&(_, &parent)| {
                let mut current = parent;
                for _ in 0..MAX_ANCESTRY {
                    if current == root_id {
                        return true;
                    }
                    match open.get(&current).or_else(|| held.get(&current)) {
                        Some(&next) => current = next,
                        None => return false,
                    }
                }
                false
            })
            .map(|(&id, _)| id)
            .collect()
    }
}

impl State {
    fn write(&mut self, text: &str) -> OTelSdkResult {
        write_text(&mut self.writer, text).map_err(|err| {
            OTelSdkError::InternalFailure(format!("console exporter failed to write: {err}"))
        })
    }
}

/// Spans held back until their local root ends, grouped by trace.
#[derive(Default)]
struct Pending {
    traces: HashMap<TraceId, PendingTrace>,
    /// Arrival order of the traces in `traces`, to evict the oldest first.
    arrival: BTreeMap<u64, TraceId>,
    /// The held spans whose parent is remote, by arrival, while they wait for
    /// that parent; exactly the keys in [`Held::remote`] of `traces`.
    remote: BTreeMap<RemoteKey, TraceId>,
    next_seq: u64,
    span_count: usize,
}

/// When a span whose parent is remote arrived, and a number unique among
/// the held spans.
type RemoteKey = (Instant, u64);

struct PendingTrace {
    seq: u64,
    spans: Vec<Held>,
}

/// A span held back.
struct Held {
    span: SpanData,
    /// Its key in [`Pending::remote`] while it waits for its remote parent.
    remote: Option<RemoteKey>,
}

impl Pending {
    /// Holds `span` back, which arrived at `now`.
    fn push(&mut self, span: SpanData, now: Instant) {
        let trace_id = span.span_context.trace_id();
        let seq = self.next_seq;
        self.next_seq += 1;
        let trace = match self.traces.entry(trace_id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                self.arrival.insert(seq, trace_id);
                entry.insert(PendingTrace {
                    seq,
                    spans: Vec::new(),
                })
            }
        };
        let remote = span.parent_span_is_remote.then(|| {
            let key = (now, seq);
            self.remote.insert(key, trace_id);
            key
        });
        trace.spans.push(Held { span, remote });
        self.span_count += 1;
    }

    /// Whether span `span_id` of trace `trace_id` is held back.
    fn holds(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.traces.get(&trace_id).is_some_and(|trace| {
            trace
                .spans
                .iter()
                .any(|held| held.span.span_context.span_id() == span_id)
        })
    }

    /// The parent of each held-back span of trace `trace_id`.
    fn parents(&self, trace_id: TraceId) -> HashMap<SpanId, SpanId> {
        self.traces
            .get(&trace_id)
            .map_or_else(HashMap::new, |trace| {
                trace
                    .spans
                    .iter()
                    .map(|held| (held.span.span_context.span_id(), held.span.parent_span_id))
                    .collect()
            })
    }

    /// Removes the oldest trace if more is held back than allowed.
    fn pop_over_limit(&mut self) -> Option<Vec<SpanData>> {
        if self.traces.len() > MAX_PENDING_TRACES || self.span_count > MAX_PENDING_SPANS {
            self.pop_oldest()
        } else {
            None
        }
    }

    fn pop_oldest(&mut self) -> Option<Vec<SpanData>> {
        while let Some((_, trace_id)) = self.arrival.pop_first() {
            if let Some(trace) = self.traces.remove(&trace_id) {
                self.span_count -= trace.spans.len();
                let spans = trace
                    .spans
                    .into_iter()
                    .map(|held| {
                        if let Some(key) = held.remote {
                            self.remote.remove(&key);
                        }
                        held.span
                    })
                    .collect();
                return Some(spans);
            }
        }
        None
    }

    /// Removes and returns the held-back descendants of `root`. Other spans of
    /// the same trace stay: a trace may enter this process more than once.
    fn take_subtree(&mut self, root: &SpanData) -> Vec<SpanData> {
        let roots = [(root.span_context.span_id(), None)];
        self.take_trees(root.span_context.trace_id(), &roots)
            .pop()
            .unwrap_or_default()
    }

    /// Removes the spans whose wait for their remote parent is over at `now`
    /// (all that wait, if `now` is `None`). Those whose parent is held back
    /// stay below it; each other one is returned with its held-back
    /// descendants, as a block of its own, oldest first.
    fn pop_remote_heads(&mut self, now: Option<Instant>) -> Vec<Vec<SpanData>> {
        // The waits that are over, by trace, in the order they began.
        let mut over: Vec<(TraceId, HashSet<u64>)> = Vec::new();
        let mut slots: HashMap<TraceId, usize> = HashMap::new();
        while let Some(entry) = self.remote.first_entry() {
            let (arrived, _) = *entry.key();
            if now.is_some_and(|now| now.saturating_duration_since(arrived) < REMOTE_PARENT_WAIT) {
                break;
            }
            let ((_, seq), trace_id) = entry.remove_entry();
            let slot = *slots.entry(trace_id).or_insert_with(|| {
                over.push((trace_id, HashSet::new()));
                over.len() - 1
            });
            over[slot].1.insert(seq);
        }

        let mut blocks = Vec::new();
        for (trace_id, seqs) in over {
            let Some(trace) = self.traces.get_mut(&trace_id) else {
                continue;
            };
            let held_ids: HashSet<SpanId> = trace
                .spans
                .iter()
                .map(|held| held.span.span_context.span_id())
                .collect();
            let mut heads = Vec::new();
            for (i, held) in trace.spans.iter_mut().enumerate() {
                let Some(key) = held.remote.take_if(|(_, seq)| seqs.contains(seq)) else {
                    continue;
                };
                if !held_ids.contains(&held.span.parent_span_id) {
                    heads.push((key, held.span.span_context.span_id(), i));
                }
            }
            heads.sort_unstable_by_key(|&(key, _, _)| key);
            let roots: Vec<_> = heads.iter().map(|&(_, id, i)| (id, Some(i))).collect();
            blocks.extend(
                self.take_trees(trace_id, &roots)
                    .into_iter()
                    .filter(|block| !block.is_empty()),
            );
        }
        blocks
    }

    /// Removes from trace `trace_id` the held-back descendants of each root,
    /// given as its span id and, if the root itself is held back, its index in
    /// the trace's spans; returns one block per root, with the root if held.
    /// A span below several roots (only in malformed input) goes to the
    /// first. Other spans of the trace stay.
    fn take_trees(
        &mut self,
        trace_id: TraceId,
        roots: &[(SpanId, Option<usize>)],
    ) -> Vec<Vec<SpanData>> {
        let mut blocks: Vec<Vec<SpanData>> = roots.iter().map(|_| Vec::new()).collect();
        let Some(trace) = self.traces.get_mut(&trace_id) else {
            return blocks;
        };

        let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
        for (i, held) in trace.spans.iter().enumerate() {
            children
                .entry(held.span.parent_span_id)
                .or_default()
                .push(i);
        }
        let mut block_of: Vec<Option<usize>> = vec![None; trace.spans.len()];
        for (block, &(root_id, held_root)) in roots.iter().enumerate() {
            if let Some(slot) = held_root.and_then(|i| block_of.get_mut(i)) {
                if slot.is_some() {
                    continue;
                }
                *slot = Some(block);
            }
            let mut to_visit = vec![root_id];
            while let Some(id) = to_visit.pop() {
                for &i in children.get(&id).map_or(&[][..], Vec::as_slice) {
                    if block_of[i].is_none() {
                        block_of[i] = Some(block);
                        to_visit.push(trace.spans[i].span.span_context.span_id());
                    }
                }
            }
        }

        let mut kept = Vec::new();
        for (held, block) in std::mem::take(&mut trace.spans).into_iter().zip(block_of) {
            match block {
                Some(block) => {
                    if let Some(key) = held.remote {
                        self.remote.remove(&key);
                    }
                    self.span_count -= 1;
                    blocks[block].push(held.span);
                }
                None => kept.push(held),
            }
        }
        if kept.is_empty() {
            let seq = trace.seq;
            self.traces.remove(&trace_id);
            self.arrival.remove(&seq);
        } else {
            trace.spans = kept;
        }
        blocks
    }
}

/// The most recently printed spans, so that a child ending after its parent
/// was printed is printed straight away instead of waiting for a flush.
#[derive(Default)]
struct Printed {
    ids: HashSet<(TraceId, SpanId)>,
    order: VecDeque<(TraceId, SpanId)>,
}

impl Printed {
    fn contains(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.ids.contains(&(trace_id, span_id))
    }

    fn insert(&mut self, span: &SpanData) {
        let key = (span.span_context.trace_id(), span.span_context.span_id());
        if self.ids.insert(key) {
            self.order.push_back(key);
            if self.order.len() > MAX_PRINTED_SPANS {
                if let Some(oldest) = self.order.pop_front() {
                    self.ids.remove(&oldest);
                }
            }
        }
    }
}

/// Why a span is drawn at the top level of a tree although it has a parent.
#[derive(Clone, Copy)]
enum ParentNote {
    /// The parent lives in another process: it is remote and did not arrive
    /// in time.
    Remote(SpanId),
    /// The parent was printed before this span ended.
    PrintedEarlier(SpanId),
    /// The parent has not ended (yet).
    NotSeen(SpanId),
}

impl ParentNote {
    /// Describes the parent of `span` if it were drawn at the top of a tree.
    fn for_top(span: &SpanData, printed: &Printed) -> Option<Self> {
        let parent = span.parent_span_id;
        if parent == SpanId::INVALID {
            None
        } else if printed.contains(span.span_context.trace_id(), parent) {
            // A remote parent too: a client span of this process.
            Some(Self::PrintedEarlier(parent))
        } else if span.parent_span_is_remote {
            Some(Self::Remote(parent))
        } else {
            Some(Self::NotSeen(parent))
        }
    }

    /// Whether a span with this note waits for its parent: a remote parent
    /// may be a client span of this process that has not ended yet.
    fn waits(self) -> bool {
        matches!(self, Self::NotSeen(_) | Self::Remote(_))
    }
}

impl fmt::Display for ParentNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remote(id) => write!(f, "(remote parent {id})"),
            Self::PrintedEarlier(id) => write!(f, "(parent {id} printed earlier)"),
            Self::NotSeen(id) => write!(f, "(parent {id} not seen)"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Branch {
    Top,
    Middle,
    Last,
}

impl Branch {
    /// Drawn before the span's name.
    fn connector(self) -> &'static str {
        match self {
            Self::Top => "",
            Self::Middle => "├─ ",
            Self::Last => "└─ ",
        }
    }

    /// Drawn before the lines of the span's descendants.
    fn continuation(self) -> &'static str {
        match self {
            Self::Top => "",
            Self::Middle => "│  ",
            Self::Last => "   ",
        }
    }
}

/// A span placed in the tree.
struct Row<'a> {
    span: &'a SpanData,
    name: String,
    guide: String,
    branch: Branch,
    /// Drawn before the lines that describe the span.
    detail_guide: String,
    note: Option<ParentNote>,
}

impl Row<'_> {
    fn label_width(&self) -> usize {
        let kind = kind_label(&self.span.span_kind).map_or(0, |kind| kind.len() + 1);
        self.guide.chars().count()
            + self.branch.connector().chars().count()
            + self.name.chars().count()
            + kind
    }
}

/// Places `spans` in a forest: children under their parents, ordered by start
/// time; spans whose parent is absent at the top, annotated by `note`.
fn layout<'a>(
    spans: &'a [SpanData],
    mut note: impl FnMut(&SpanData) -> Option<ParentNote>,
) -> Vec<Row<'a>> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, span)| (span.span_context.span_id(), i))
        .collect();
    let mut children = vec![Vec::new(); spans.len()];
    for (i, span) in spans.iter().enumerate() {
        if span.parent_span_id == SpanId::INVALID {
            continue;
        }
        if let Some(&parent) = index.get(&span.parent_span_id) {
            if parent != i {
                children[parent].push(i);
            }
        }
    }
    // By start time; the rest only makes the order deterministic.
    let by_start = |&i: &usize| {
        let span = &spans[i];
        (
            span.start_time,
            span.end_time,
            span.span_context.span_id().to_bytes(),
        )
    };
    for siblings in &mut children {
        siblings.sort_by_key(by_start);
    }
    let mut candidates: Vec<usize> = (0..spans.len()).collect();
    candidates.sort_by_key(by_start);
    let is_top = |i: &usize| {
        let parent = spans[*i].parent_span_id;
        parent == SpanId::INVALID || index.get(&parent).is_none_or(|&p| p == *i)
    };
    let (tops, rest): (Vec<usize>, Vec<usize>) = candidates.into_iter().partition(is_top);

    let mut rows = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    // Spans in a parent cycle (malformed input) cannot be reached from a top;
    // trying `rest` after `tops` draws them as tops too.
    for start in tops.into_iter().chain(rest) {
        let mut stack = vec![(start, String::new(), Branch::Top, 0)];
        while let Some((i, guide, branch, depth)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            let span = &spans[i];
            let kids = &children[i];
            let mut child_guide = guide.clone();
            if depth < MAX_INDENT_DEPTH {
                child_guide.push_str(branch.continuation());
            }
            let detail_guide =
                format!("{child_guide}{}", if kids.is_empty() { "  " } else { "│ " });
            for (k, &kid) in kids.iter().enumerate().rev() {
                let kid_branch = if k + 1 == kids.len() {
                    Branch::Last
                } else {
                    Branch::Middle
                };
                stack.push((kid, child_guide.clone(), kid_branch, depth + 1));
            }
            rows.push(Row {
                span,
                name: one_line(&span.name, MAX_NAME_CHARS),
                note: if branch == Branch::Top {
                    note(span)
                } else {
                    None
                },
                guide,
                branch,
                detail_guide,
            });
        }
    }
    rows
}

/// The time axis shared by the spans of one printed trace.
struct Axis {
    start: SystemTime,
    total_ns: u128,
}

impl Axis {
    /// Leading blank cells and bar cells for `span`; at least one bar cell.
    fn cells(&self, span: &SpanData) -> (usize, usize) {
        let offset = elapsed(self.start, span.start_time).as_nanos();
        let length = elapsed(span.start_time, span.end_time).as_nanos();
        let width = BAR_WIDTH as u128;
        let first = (offset * width / self.total_ns).min(width - 1);
        let last = ((offset + length) * width)
            .div_ceil(self.total_ns)
            .clamp(first + 1, width);
        // Both are at most BAR_WIDTH, so the casts are lossless.
        (first as usize, (last - first) as usize)
    }
}

struct Renderer<'a> {
    color: bool,
    service_name: Option<&'a str>,
    /// Log records to draw under each span, oldest first.
    records: &'a HashMap<SpanId, Vec<HeldRecord>>,
}

impl Renderer<'_> {
    fn line(&self) -> Line {
        Line::new(self.color)
    }

    /// Renders the spans of one trace, followed by a blank line.
    fn trace(
        &self,
        out: &mut String,
        spans: &[SpanData],
        note: impl FnMut(&SpanData) -> Option<ParentNote>,
    ) {
        let Some(first) = spans.first() else {
            return;
        };
        let start = spans
            .iter()
            .map(|s| s.start_time)
            .min()
            .unwrap_or(first.start_time);
        let end = spans
            .iter()
            .map(|s| s.end_time.max(s.start_time))
            .max()
            .unwrap_or(first.end_time);
        let window = elapsed(start, end);
        let axis = Axis {
            start,
            total_ns: window.as_nanos().max(1),
        };
        let rows = layout(spans, note);
        let incomplete = rows
            .iter()
            .any(|row| matches!(row.note, Some(ParentNote::NotSeen(_))));

        self.header(out, first.span_context.trace_id(), window, incomplete);
        let label_width = rows.iter().map(Row::label_width).max().unwrap_or(0);
        for row in &rows {
            self.span_line(out, row, label_width, &axis);
            self.details(out, row);
        }
        out.push('\n');
    }

    fn header(&self, out: &mut String, trace_id: TraceId, window: Duration, incomplete: bool) {
        let mut line = self.line();
        line.push(Style::DIM, "trace ");
        line.push(Style::BOLD, &trace_id.to_string());
        if let Some(service) = self.service_name {
            line.push(Style::DIM, " · ");
            line.push(Style::CYAN, service);
        }
        line.push(Style::DIM, " · ");
        line.push(Style::PLAIN, &fmt_duration(window));
        if incomplete {
            line.push(Style::DIM, " · ");
            line.push(Style::YELLOW, "incomplete");
        }
        line.end(out);
    }

    fn span_line(&self, out: &mut String, row: &Row<'_>, label_width: usize, axis: &Axis) {
        let span = row.span;
        let mut line = self.line();
        line.push(Style::DIM, &row.guide);
        line.push(Style::DIM, row.branch.connector());
        line.push(Style::BOLD, &row.name);
        if let Some(kind) = kind_label(&span.span_kind) {
            line.push(Style::PLAIN, " ");
            line.push(Style::DIM, kind);
        }

        let duration = fmt_duration(elapsed(span.start_time, span.end_time));
        let duration_end = label_width + 2 + DURATION_WIDTH;
        line.pad_to(duration_end.saturating_sub(duration.chars().count()));
        line.push(Style::PLAIN, &duration);

        let bar_start = duration_end + 2;
        let (blank, bar) = axis.cells(span);
        let is_error = matches!(span.status, Status::Error { .. });
        line.pad_to(bar_start + blank);
        line.push(
            if is_error { Style::RED } else { Style::CYAN },
            &"━".repeat(bar),
        );

        match &span.status {
            Status::Error { description } => {
                line.pad_to(bar_start + BAR_WIDTH + 2);
                let mut marker = String::from("✗ ERROR");
                if !description.is_empty() {
                    marker.push_str(": ");
                    marker.push_str(&one_line(description, MAX_VALUE_CHARS));
                }
                line.push(Style::BOLD_RED, &marker);
            }
            Status::Ok => {
                line.pad_to(bar_start + BAR_WIDTH + 2);
                line.push(Style::GREEN, "✓");
            }
            Status::Unset => {}
        }
        line.end(out);
    }

    /// Renders the lines under a span: why it is a top, where it was
    /// recorded, its attributes, events and log records, and links.
    fn details(&self, out: &mut String, row: &Row<'_>) {
        let span = row.span;
        let guide = row.detail_guide.as_str();
        if let Some(note) = row.note {
            self.dim_line(out, guide, &note.to_string());
        }

        let mut file = None;
        let mut line_number = None;
        let mut attributes = Vec::new();
        for kv in &span.attributes {
            match kv.key.as_str() {
                "code.file.path" | "code.filepath" => file = Some(&kv.value),
                "code.line.number" | "code.lineno" => line_number = Some(&kv.value),
                key if key.starts_with("code.") => {}
                _ => attributes.push(attribute(kv)),
            }
        }
        if let Some(file) = file {
            let mut location = format!("at {}", one_line(&file.to_string(), MAX_VALUE_CHARS));
            if let Some(number) = line_number {
                let _ = write!(
                    location,
                    ":{}",
                    one_line(&number.to_string(), MAX_VALUE_CHARS)
                );
            }
            self.dim_line(out, guide, &location);
        }
        if span.dropped_attributes_count > 0 {
            attributes.push(dropped(span.dropped_attributes_count, "attributes"));
        }
        self.wrapped(out, guide, &[], &attributes, 0);

        // Events and records each in their own order, merged by time.
        let mut records = self
            .records
            .get(&span.span_context.span_id())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .peekable();
        for event in span.events.iter() {
            while let Some(record) =
                records.next_if(|record| record.time.is_some_and(|time| time < event.timestamp))
            {
                self.record(out, guide, span, record);
            }
            let lead = vec![
                (Style::YELLOW, "• ".to_owned()),
                (Style::PLAIN, one_line(&event.name, MAX_NAME_CHARS)),
                (Style::PLAIN, " ".to_owned()),
                (Style::DIM, fmt_offset(span.start_time, event.timestamp)),
            ];
            let mut items: Vec<_> = event.attributes.iter().map(attribute).collect();
            if event.dropped_attributes_count > 0 {
                items.push(dropped(event.dropped_attributes_count, "attributes"));
            }
            self.wrapped(out, guide, &lead, &items, 2);
        }
        for record in records {
            self.record(out, guide, span, record);
        }
        if span.events.dropped_count > 0 {
            let lead = vec![(Style::YELLOW, "• ".to_owned())];
            let items = vec![dropped(span.events.dropped_count, "events")];
            self.wrapped(out, guide, &lead, &items, 2);
        }

        for link in span.links.iter() {
            let context = &link.span_context;
            let lead = vec![
                (Style::DIM, "↪ link ".to_owned()),
                (
                    Style::PLAIN,
                    format!("{}:{}", context.trace_id(), context.span_id()),
                ),
            ];
            let mut items: Vec<_> = link.attributes.iter().map(attribute).collect();
            if link.dropped_attributes_count > 0 {
                items.push(dropped(link.dropped_attributes_count, "attributes"));
            }
            self.wrapped(out, guide, &lead, &items, 2);
        }
        if span.links.dropped_count > 0 {
            let lead = vec![(Style::DIM, "↪ ".to_owned())];
            let items = vec![dropped(span.links.dropped_count, "links")];
            self.wrapped(out, guide, &lead, &items, 2);
        }
    }

    /// Renders a log record written in `span`.
    fn record(&self, out: &mut String, guide: &str, span: &SpanData, record: &HeldRecord) {
        let level = Level::of(record.severity);
        let mut lead = vec![(Style::DIM, "▸ ".to_owned())];
        if let Some(time) = record.time {
            lead.push((Style::DIM, fmt_offset(span.start_time, time)));
            lead.push((Style::PLAIN, " ".to_owned()));
        }
        lead.push((level.style(), level.name().to_owned()));
        if let Some(target) = &record.target {
            lead.push((Style::PLAIN, " ".to_owned()));
            lead.push((
                Style::DIM,
                format!("{}:", one_line(target, MAX_VALUE_CHARS)),
            ));
        }
        if let Some(body) = &record.body {
            let text = match body {
                AnyValue::String(s) => s.as_str().replace(['\n', '\r'], " "),
                other => fmt_any(other),
            };
            lead.push((Style::PLAIN, " ".to_owned()));
            // The message is not cut: it is the point of the record.
            lead.push((Style::PLAIN, one_line(&text, usize::MAX)));
        }
        let items: Vec<_> = record
            .attributes
            .iter()
            .map(|(key, value)| vec![key_segment(key.as_str()), (Style::PLAIN, fmt_any(value))])
            .collect();
        self.wrapped(out, guide, &lead, &items, 2);
    }

    fn dim_line(&self, out: &mut String, guide: &str, text: &str) {
        let mut line = self.line();
        line.push(Style::DIM, guide);
        line.push(Style::DIM, text);
        line.end(out);
    }

    /// Renders `lead` followed by `items` separated by spaces, starting a new
    /// line (indented by `indent`) when an item would pass [`WRAP_WIDTH`].
    fn wrapped(
        &self,
        out: &mut String,
        guide: &str,
        lead: &[Segment],
        items: &[Vec<Segment>],
        indent: usize,
    ) {
        if lead.is_empty() && items.is_empty() {
            return;
        }
        let mut line = self.line();
        line.push(Style::DIM, guide);
        let start = line.width();
        let mut has_content = !lead.is_empty();
        line.extend(lead);
        for item in items {
            if has_content {
                if line.width() - start + 1 + width(item) > WRAP_WIDTH {
                    line.end(out);
                    line = self.line();
                    line.push(Style::DIM, guide);
                    line.pad_to(start + indent);
                } else {
                    line.push(Style::PLAIN, " ");
                }
            }
            line.extend(item);
            has_content = true;
        }
        line.end(out);
    }
}

fn kind_label(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Client => Some("client"),
        SpanKind::Server => Some("server"),
        SpanKind::Producer => Some("producer"),
        SpanKind::Consumer => Some("consumer"),
        SpanKind::Internal => None,
    }
}

fn attribute(kv: &KeyValue) -> Vec<Segment> {
    vec![
        key_segment(kv.key.as_str()),
        (Style::PLAIN, fmt_value(&kv.value)),
    ]
}

fn dropped(count: u32, what: &str) -> Vec<Segment> {
    vec![(Style::DIM, format!("(+{count} {what} dropped)"))]
}

/// Formats a log attribute value like [`fmt_value`] does span attributes.
fn fmt_any(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => quote(s.as_str()),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => one_line(&format!("{other:?}"), MAX_VALUE_CHARS),
    }
}

/// Time from `from` to `to`, zero if `to` is earlier.
fn elapsed(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// Formats the signed offset of `to` from `from`, as in `+1.20ms`.
fn fmt_offset(from: SystemTime, to: SystemTime) -> String {
    match to.duration_since(from) {
        Ok(after) => format!("+{}", fmt_duration(after)),
        Err(err) => format!("-{}", fmt_duration(err.duration())),
    }
}

/// Formats a duration with three significant digits: `850ns`, `12.3µs`,
/// `4.56ms`, `1.23s`; from a minute on `2m05s`, from an hour on `1h02m`.
fn fmt_duration(duration: Duration) -> String {
    fn three_digits(value: f64, unit: &str) -> String {
        if value < 9.995 {
            format!("{value:.2}{unit}")
        } else if value < 99.95 {
            format!("{value:.1}{unit}")
        } else {
            format!("{value:.0}{unit}")
        }
    }

    let nanos = duration.as_nanos();
    // The thresholds sit where rounding would otherwise print `1000µs`.
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 999_500 {
        three_digits(nanos as f64 / 1e3, "µs")
    } else if nanos < 999_500_000 {
        three_digits(nanos as f64 / 1e6, "ms")
    } else if nanos < 59_950_000_000 {
        three_digits(nanos as f64 / 1e9, "s")
    } else {
        let secs = (nanos + 500_000_000) / 1_000_000_000;
        if secs < 3600 {
            format!("{}m{:02}s", secs / 60, secs % 60)
        } else {
            let mins = (secs + 30) / 60;
            format!("{}h{:02}m", mins / 60, mins % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
    use opentelemetry::trace::{Event, Link, SpanContext, TraceFlags, TraceState};
    use opentelemetry::{Array, InstrumentationScope, Value};
    use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::super::console_logs::ConsoleLogExporter;
    use super::super::text::test_support::{complete, Broken, Buffer};

    use super::*;

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

    fn exporter(color: bool) -> (ConsoleExporter, Buffer) {
        let buffer = Buffer::default();
        let mut exporter = ConsoleExporter::with_writer(buffer.clone(), color);
        exporter.set_resource(
            &Resource::builder_empty()
                .with_service_name("shop-api")
                .build(),
        );
        (exporter, buffer)
    }

    /// Runs an export; the exporter never waits, so one poll completes it.
    fn export(exporter: &ConsoleExporter, batch: Vec<SpanData>) -> OTelSdkResult {
        complete(exporter.export(batch))
    }

    /// Runs an export that arrives at `now`.
    fn export_at(exporter: &ConsoleExporter, batch: Vec<SpanData>, now: Instant) -> OTelSdkResult {
        exporter.export_at(&mut exporter.lock(), batch, now)
    }

    /// `start` plus `millis`.
    fn later(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    /// A fixed instant plus `nanos`.
    fn at(nanos: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_nanos(nanos)
    }

    fn context(trace: u128, span: u64) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    }

    /// An internal span without attributes; times in microseconds.
    fn span(
        trace: u128,
        id: u64,
        parent: u64,
        name: &'static str,
        start: u64,
        end: u64,
    ) -> SpanData {
        SpanData {
            span_context: context(trace, id),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.into(),
            start_time: at(start * 1_000),
            end_time: at(end * 1_000),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    /// An HTTP request whose first database query fails and is retried, in
    /// the order the spans end.
    fn realistic_trace() -> Vec<SpanData> {
        let mut query = span(TRACE, 3, 2, "SELECT orders", 400, 4_960);
        query.span_kind = SpanKind::Client;
        query.attributes = vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new(
                "db.query.text",
                "SELECT id, customer_id, status, total_cents, created_at, updated_at \
                 FROM orders WHERE id = $1 AND deleted_at IS NULL",
            ),
            KeyValue::new("server.address", "db.internal"),
            KeyValue::new("server.port", 5432),
        ];
        query.status = Status::error("connection reset by peer");
        query.events.events.push(Event::new(
            "exception",
            at(4_950_000),
            vec![
                KeyValue::new("exception.type", "std::io::Error"),
                KeyValue::new("exception.message", "connection reset by peer"),
            ],
            0,
        ));

        let mut retry = span(TRACE, 4, 2, "SELECT orders", 5_100, 9_650);
        retry.span_kind = SpanKind::Client;
        retry.attributes = vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("retry.attempt", 2),
        ];

        let mut load = span(TRACE, 2, 1, "load_order", 150, 9_800);
        load.attributes = vec![
            KeyValue::new("code.function.name", "shop::orders::load_order"),
            KeyValue::new("code.file.path", "src/orders.rs"),
            KeyValue::new("code.line.number", 42),
            KeyValue::new("order.id", 42),
            KeyValue::new("cache.hit", false),
        ];

        let mut render = span(TRACE, 5, 1, "render_response", 9_900, 12_300);
        render.attributes = vec![
            KeyValue::new("template", "order.html"),
            KeyValue::new(
                "content.encodings",
                Value::Array(Array::String(vec!["gzip".into(), "br".into()])),
            ),
        ];
        render.links.links.push(Link::new(
            context(
                0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
                0xb7ad_6b71_6920_3331,
            ),
            vec![KeyValue::new("link.reason", "batched render")],
            0,
        ));

        let mut audit = span(TRACE, 6, 1, "audit.publish", 12_310, 12_310);
        audit.span_kind = SpanKind::Producer;
        audit.end_time += Duration::from_nanos(850);

        let mut root = span(TRACE, 1, 0, "GET /orders/{id}", 0, 12_400);
        root.span_kind = SpanKind::Server;
        root.attributes = vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.path", "/orders/42"),
            KeyValue::new("http.route", "/orders/{id}"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("client.address", "203.0.113.7"),
        ];
        root.status = Status::Ok;

        vec![query, retry, load, render, audit, root]
    }

    #[test]
    fn renders_a_realistic_trace() {
        let (exporter, buffer) = exporter(false);
        export(&exporter, realistic_trace()).unwrap();
        let output = buffer.take();
        insta::assert_snapshot!("realistic_trace", output);
    }

    #[test]
    fn spans_split_across_exports_render_as_one_tree() {
        let (exporter, buffer) = exporter(false);
        let mut spans = realistic_trace();
        let rest = spans.split_off(3);

        export(&exporter, spans).unwrap();
        assert_eq!(buffer.take(), "", "nothing is printed before the root ends");
        export(&exporter, rest).unwrap();
        let split = buffer.take();

        assert!(exporter.lock().pending.traces.is_empty());

        let (whole, buffer) = self::exporter(false);
        export(&whole, realistic_trace()).unwrap();
        assert_eq!(split, buffer.take());
    }

    #[test]
    fn no_escape_sequences_without_color() {
        let (exporter, buffer) = exporter(false);
        let mut spans = realistic_trace();
        spans[0].name = "evil \x1b[31m name".into();
        export(&exporter, spans).unwrap();
        let output = buffer.take();
        assert!(output.contains("evil \\u{1b}[31m name"), "{output}");
        assert!(!output.contains('\x1b'));
    }

    #[test]
    fn escape_sequences_with_color() {
        let (exporter, buffer) = exporter(true);
        export(&exporter, realistic_trace()).unwrap();
        let output = buffer.take();
        assert!(output.contains("\x1b[1mload_order\x1b[0m"), "{output}");
        assert!(output.contains("\x1b[1;31m✗ ERROR: connection reset by peer\x1b[0m"));
    }

    #[test]
    fn force_flush_prints_orphans() {
        let (exporter, buffer) = exporter(false);
        let mut spans = realistic_trace();
        spans.pop(); // The root never ends.
        export(&exporter, spans).unwrap();
        assert_eq!(buffer.take(), "");

        exporter.force_flush().unwrap();
        let output = buffer.take();
        assert!(output.contains("(parent 0000000000000001 not seen)"));
        insta::assert_snapshot!("orphans", output);
        assert!(exporter.lock().pending.traces.is_empty());

        exporter.force_flush().unwrap();
        assert_eq!(buffer.take(), "", "a trace is printed once");
    }

    #[test]
    fn pending_spans_are_bounded() {
        let (exporter, buffer) = exporter(false);
        // Many traces, each with one span whose parent never ends.
        let batch = (0..1500u64)
            .map(|i| span(u128::from(i) + 1, 2, 1, "orphan", 0, 10))
            .collect();
        export(&exporter, batch).unwrap();
        assert_eq!(exporter.lock().pending.traces.len(), MAX_PENDING_TRACES);
        let output = buffer.take();
        assert_eq!(output.matches("trace ").count(), 1500 - MAX_PENDING_TRACES);
        assert!(output.contains("trace 00000000000000000000000000000001 "));

        // Few traces with many spans each.
        for trace in 0..30u64 {
            let batch = (0..500u64)
                .map(|i| span(u128::from(trace) + 10_000, i + 2, 1, "orphan", 0, 10))
                .collect();
            export(&exporter, batch).unwrap();
            let state = exporter.lock();
            assert!(state.pending.span_count <= MAX_PENDING_SPANS);
            assert!(state.pending.traces.len() <= MAX_PENDING_TRACES);
            let counted: usize = state.pending.traces.values().map(|t| t.spans.len()).sum();
            assert_eq!(counted, state.pending.span_count);
            assert_eq!(state.pending.arrival.len(), state.pending.traces.len());
        }

        exporter.shutdown().unwrap();
        assert_eq!(exporter.lock().pending.span_count, 0);
    }

    #[test]
    fn a_child_ending_after_its_root_is_printed_at_once() {
        let (exporter, buffer) = exporter(false);
        export(&exporter, vec![span(TRACE, 1, 0, "handler", 0, 100)]).unwrap();
        buffer.take();

        export(&exporter, vec![span(TRACE, 2, 1, "background", 50, 400)]).unwrap();
        let output = buffer.take();
        assert!(output.contains("background"), "{output}");
        assert!(output.contains("(parent 0000000000000001 printed earlier)"));
        assert!(!output.contains("incomplete"));
    }

    #[test]
    fn each_local_root_takes_only_its_own_descendants() {
        // The same trace enters this process twice through remote parents.
        let (exporter, buffer) = exporter(false);
        let mut first = span(TRACE, 1, 0xaa, "first request", 0, 100);
        first.parent_span_is_remote = true;
        let mut second = span(TRACE, 2, 0xbb, "second request", 50, 300);
        second.parent_span_is_remote = true;
        let first_child = span(TRACE, 3, 1, "first child", 10, 90);
        let second_child = span(TRACE, 4, 2, "second child", 60, 200);

        let start = Instant::now();
        export_at(&exporter, vec![first_child, second_child, first], start).unwrap();
        assert_eq!(buffer.take(), "", "the remote parent may still come");
        export_at(&exporter, vec![second], later(start, 500)).unwrap();
        assert_eq!(buffer.take(), "");

        export_at(&exporter, Vec::new(), later(start, 1_000)).unwrap();
        let output = buffer.take();
        assert!(output.contains("first child"));
        assert!(output.contains("(remote parent 00000000000000aa)"));
        assert!(!output.contains("second child"), "{output}");
        assert!(!output.contains("incomplete"), "{output}");

        export_at(&exporter, Vec::new(), later(start, 1_500)).unwrap();
        let output = buffer.take();
        assert!(output.contains("second child"), "{output}");
        assert!(output.contains("(remote parent 00000000000000bb)"));
        assert!(exporter.lock().pending.traces.is_empty());
        assert!(exporter.lock().pending.remote.is_empty());
    }

    /// A client span of this process, a local root, and the span of a server
    /// of the same process that it called, whose parent is therefore remote;
    /// in the order they end.
    fn client_and_server() -> Vec<SpanData> {
        let mut lookup = span(TRACE, 3, 2, "lookup_price", 310, 820);
        lookup.attributes = vec![
            KeyValue::new("code.file.path", "src/prices.rs"),
            KeyValue::new("code.line.number", 17),
            KeyValue::new("sku", "apple"),
        ];

        let mut server = span(TRACE, 2, 1, "GET /price/{sku}", 240, 900);
        server.parent_span_is_remote = true;
        server.span_kind = SpanKind::Server;
        server.attributes = vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.path", "/price/apple"),
            KeyValue::new("http.route", "/price/{sku}"),
            KeyValue::new("http.response.status_code", 200),
        ];

        let mut client = span(TRACE, 1, 0, "GET", 0, 1_150);
        client.span_kind = SpanKind::Client;
        client.attributes = vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", "http://127.0.0.1:8080/price/apple"),
            KeyValue::new("http.response.status_code", 200),
        ];

        vec![lookup, server, client]
    }

    #[test]
    fn a_server_span_nests_under_its_client_span_from_the_same_batch() {
        let (exporter, buffer) = exporter(false);
        export_at(&exporter, client_and_server(), Instant::now()).unwrap();
        let output = buffer.take();
        assert_eq!(output.matches("trace ").count(), 1, "{output}");
        assert!(!output.contains("remote parent"), "{output}");
        insta::assert_snapshot!("client_and_server", output);

        let state = exporter.lock();
        assert!(state.pending.traces.is_empty());
        assert!(state.pending.remote.is_empty());
    }

    #[test]
    fn a_server_span_waits_for_its_client_span_from_a_later_batch() {
        let (whole, buffer) = exporter(false);
        export_at(&whole, client_and_server(), Instant::now()).unwrap();
        let expected = buffer.take();

        // The client span arrives before the wait is over, or with the export
        // that ends it: either way it is in time.
        for delay in [10, 1_000, 5_000] {
            let (exporter, buffer) = exporter(false);
            let mut spans = client_and_server();
            let client = spans.pop().unwrap();
            let start = Instant::now();
            export_at(&exporter, spans, start).unwrap();
            assert_eq!(buffer.take(), "", "the server span waits");
            export_at(&exporter, Vec::new(), later(start, 5)).unwrap();
            assert_eq!(buffer.take(), "", "still waiting");

            export_at(&exporter, vec![client], later(start, delay)).unwrap();
            assert_eq!(buffer.take(), expected, "after {delay}ms");
            let state = exporter.lock();
            assert!(state.pending.traces.is_empty());
            assert!(state.pending.remote.is_empty());
        }
    }

    #[test]
    fn a_server_span_waits_as_long_as_its_client_span_is_held() {
        let (exporter, buffer) = exporter(false);
        let mut spans = client_and_server();
        let mut client = spans.pop().unwrap();
        client.parent_span_id = SpanId::from(9);
        let root = span(TRACE, 9, 0, "checkout", 0, 2_000);

        let start = Instant::now();
        export_at(&exporter, spans, start).unwrap();
        export_at(&exporter, vec![client], later(start, 10)).unwrap();
        export_at(&exporter, Vec::new(), later(start, 2_000)).unwrap();
        assert_eq!(
            buffer.take(),
            "",
            "the client span is held, so is its server"
        );
        assert!(
            exporter.lock().pending.remote.is_empty(),
            "its wait is over"
        );

        export_at(&exporter, vec![root], later(start, 3_000)).unwrap();
        let output = buffer.take();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(output.matches("trace ").count(), 1, "{output}");
        assert!(!lines[0].contains("incomplete"), "{output}");
        assert!(lines[1].starts_with("checkout "), "{output}");
        assert!(lines[2].starts_with("└─ GET client "), "{output}");
        insta::assert_snapshot!("client_and_server_under_a_root", output);
        assert!(!output.contains("remote parent"), "{output}");
        assert!(exporter.lock().pending.traces.is_empty());
    }

    /// [`client_and_server`] without the client: its server was called by
    /// another process.
    fn server_called_from_elsewhere() -> Vec<SpanData> {
        let mut spans = client_and_server();
        spans.pop();
        spans[1].parent_span_id = SpanId::from(0xaa);
        spans
    }

    #[test]
    fn a_remote_parent_that_never_comes_prints_at_the_next_export_after_the_wait() {
        let (exporter, buffer) = exporter(false);
        let start = Instant::now();
        export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
        export_at(&exporter, Vec::new(), later(start, 999)).unwrap();
        assert_eq!(buffer.take(), "");

        let other = span(TRACE + 1, 1, 0, "other", 0, 10);
        export_at(&exporter, vec![other], later(start, 1_000)).unwrap();
        let output = buffer.take();
        let blocks: Vec<&str> = output.split_terminator("\n\n").collect();
        assert_eq!(blocks.len(), 2, "{output}");
        let lines: Vec<&str> = blocks[0].lines().collect();
        assert!(lines[0].starts_with("trace 4bf92f35"), "{output}");
        assert!(!lines[0].contains("incomplete"), "{output}");
        assert!(lines[1].starts_with("GET /price/{sku} server "), "{output}");
        assert_eq!(lines[2], "│ (remote parent 00000000000000aa)");
        assert!(blocks[0].contains("└─ lookup_price "), "{output}");
        assert!(blocks[1].contains("other"), "{output}");

        let state = exporter.lock();
        assert!(state.pending.traces.is_empty());
        assert!(state.pending.remote.is_empty());
        assert_eq!(state.pending.span_count, 0);
    }

    #[test]
    fn a_remote_parent_that_never_comes_prints_at_shutdown_and_flush() {
        // Printed the way it was printed before remote parents were awaited.
        let (exporter, buffer) = exporter(false);
        let start = Instant::now();
        export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
        export_at(&exporter, Vec::new(), later(start, 1_000)).unwrap();
        let after_wait = buffer.take();
        assert!(after_wait.contains("(remote parent 00000000000000aa)"));

        let (exporter, buffer) = self::exporter(false);
        export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
        exporter.force_flush().unwrap();
        assert_eq!(buffer.take(), after_wait);
        exporter.force_flush().unwrap();
        assert_eq!(buffer.take(), "", "printed once");

        let (exporter, buffer) = self::exporter(false);
        export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
        exporter.shutdown().unwrap();
        assert_eq!(buffer.take(), after_wait);
    }

    #[test]
    fn spans_entering_twice_print_as_blocks_of_their_own_at_shutdown() {
        let (exporter, buffer) = exporter(false);
        let mut first = span(TRACE, 1, 0xaa, "first request", 0, 100);
        first.parent_span_is_remote = true;
        let mut second = span(TRACE, 2, 0xbb, "second request", 50, 300);
        second.parent_span_is_remote = true;
        let orphan = span(TRACE, 5, 7, "orphan", 60, 70);
        let start = Instant::now();
        export_at(&exporter, vec![orphan, second, first], start).unwrap();
        exporter.shutdown().unwrap();

        let output = buffer.take();
        let blocks: Vec<&str> = output.split_terminator("\n\n").collect();
        assert_eq!(blocks.len(), 3, "{output}");
        assert!(blocks[0].contains("\nsecond request "), "{output}");
        assert!(blocks[1].contains("\nfirst request "), "{output}");
        assert!(blocks[2].contains(" · incomplete\norphan "), "{output}");
    }

    #[test]
    fn a_server_span_whose_client_span_was_printed_prints_at_once() {
        let (exporter, buffer) = exporter(false);
        let mut spans = client_and_server();
        let client = spans.pop().unwrap();
        let start = Instant::now();
        export_at(&exporter, vec![client], start).unwrap();
        buffer.take();

        export_at(&exporter, spans, start).unwrap();
        let output = buffer.take();
        assert!(output.contains("GET /price/{sku} server"), "{output}");
        assert!(output.contains("(parent 0000000000000001 printed earlier)"));
        assert!(exporter.lock().pending.traces.is_empty());
    }

    #[test]
    fn remote_waits_are_bounded() {
        let (exporter, buffer) = exporter(false);
        let start = Instant::now();
        let batch = (0..1500u64)
            .map(|i| {
                let mut server = span(u128::from(i) + 1, 2, 1, "server", 0, 10);
                server.parent_span_is_remote = true;
                server
            })
            .collect();
        export_at(&exporter, batch, start).unwrap();
        {
            let state = exporter.lock();
            assert_eq!(state.pending.traces.len(), MAX_PENDING_TRACES);
            assert_eq!(state.pending.remote.len(), MAX_PENDING_TRACES);
        }
        let output = buffer.take();
        assert_eq!(output.matches("trace ").count(), 1500 - MAX_PENDING_TRACES);
        assert_eq!(
            output.matches("(remote parent 0000000000000001)").count(),
            1500 - MAX_PENDING_TRACES
        );

        export_at(&exporter, Vec::new(), later(start, 1_000)).unwrap();
        assert_eq!(buffer.take().matches("trace ").count(), MAX_PENDING_TRACES);
        let state = exporter.lock();
        assert!(state.pending.traces.is_empty());
        assert!(state.pending.arrival.is_empty());
        assert!(state.pending.remote.is_empty());
        assert_eq!(state.pending.span_count, 0);
    }

    #[test]
    fn shutdown_flushes_then_refuses_exports() {
        let (exporter, buffer) = exporter(false);
        export(&exporter, vec![span(TRACE, 2, 1, "child", 0, 10)]).unwrap();
        exporter.shutdown().unwrap();
        assert!(buffer.take().contains("child"));
        assert!(matches!(
            export(&exporter, vec![span(TRACE, 1, 0, "root", 0, 10)]),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        assert!(matches!(
            exporter.shutdown(),
            Err(OTelSdkError::AlreadyShutdown)
        ));
    }

    #[test]
    fn write_errors_are_returned() {
        let exporter = ConsoleExporter::with_writer(Broken, false);
        let result = export(&exporter, vec![span(TRACE, 1, 0, "root", 0, 10)]);
        assert!(matches!(result, Err(OTelSdkError::InternalFailure(_))));
    }

    #[test]
    fn works_as_the_exporter_of_a_tracer_provider() {
        use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
        use opentelemetry_sdk::trace::SdkTracerProvider;

        let buffer = Buffer::default();
        let provider = SdkTracerProvider::builder()
            .with_resource(Resource::builder_empty().with_service_name("demo").build())
            .with_simple_exporter(ConsoleExporter::with_writer(buffer.clone(), false))
            .build();
        let tracer = provider.tracer("test");
        tracer.in_span("outer", |cx| {
            tracer.in_span("inner", |_| {});
            cx.span().set_attribute(KeyValue::new("answer", 42));
        });
        provider.shutdown().unwrap();

        let output = buffer.take();
        let lines: Vec<&str> = output.lines().collect();
        assert!(
            lines[0].starts_with("trace ") && lines[0].contains(" · demo · "),
            "{output}"
        );
        assert!(lines[1].starts_with("outer "), "{output}");
        assert_eq!(lines[2], "│ answer=42");
        assert!(lines[3].starts_with("└─ inner "), "{output}");
    }

    /// Log records through a real logger provider into a log exporter with a
    /// trace view shared with a span exporter.
    struct Logging {
        provider: SdkLoggerProvider,
        logger: SdkLogger,
        /// What the log exporter printed at once.
        lines: Buffer,
        logs: TraceLogs,
    }

    impl Logging {
        fn new() -> Self {
            let lines = Buffer::default();
            let logs = TraceLogs::default();
            let provider = SdkLoggerProvider::builder()
                .with_simple_exporter(
                    ConsoleLogExporter::with_writer(lines.clone(), false)
                        .with_trace_view(logs.clone()),
                )
                .build();
            let logger = provider.logger("shop");
            Self {
                provider,
                logger,
                lines,
                logs,
            }
        }

        /// Emits a record written in span `span` of [`TRACE`], at `micros`.
        fn log(
            &self,
            span: u64,
            micros: u64,
            severity: Severity,
            target: &'static str,
            body: &str,
            attributes: &[(&'static str, AnyValue)],
        ) {
            let mut record = self.logger.create_log_record();
            record.set_timestamp(at(micros * 1_000));
            record.set_severity_number(severity);
            record.set_target(target);
            record.set_body(AnyValue::from(body.to_owned()));
            for (key, value) in attributes {
                record.add_attribute(*key, value.clone());
            }
            record.set_trace_context(
                TraceId::from(TRACE),
                SpanId::from(span),
                Some(TraceFlags::SAMPLED),
            );
            self.logger.emit(record);
        }

        /// Records under `load_order` (2) and the failed `SELECT orders` (3)
        /// of [`realistic_trace`], around the query's exception event.
        fn log_realistic(&self) {
            self.log(
                2,
                160,
                Severity::Info,
                "shop::orders",
                "loading order",
                &[("order.id", 42.into())],
            );
            self.log(3, 420, Severity::Debug, "shop::db", "query sent", &[]);
            self.log(
                3,
                4_955,
                Severity::Error,
                "shop::db",
                "query failed:\nconnection reset by peer",
                &[("error.kind", "io".into()), ("retryable", true.into())],
            );
            self.log(
                2,
                5_000,
                Severity::Warn,
                "shop::orders",
                "retrying the query",
                &[("retry.attempt", 2.into())],
            );
            self.log(
                2,
                9_700,
                Severity::Trace,
                "shop::orders",
                "order loaded",
                &[],
            );
        }
    }

    fn logged_exporter(color: bool, logging: &Logging) -> (ConsoleExporter, Buffer) {
        let (exporter, buffer) = exporter(color);
        (exporter.with_logs(logging.logs.clone()), buffer)
    }

    #[test]
    fn renders_logs_under_their_spans() {
        let logging = Logging::new();
        let (exporter, buffer) = logged_exporter(false, &logging);
        logging.log_realistic();
        let lines = logging.lines.take();
        assert_eq!(
            lines.lines().count(),
            5,
            "printed as they are written: {lines}"
        );
        assert!(
            lines.starts_with("INFO  shop::orders: loading order order.id=42 trace="),
            "{lines}"
        );

        export(&exporter, realistic_trace()).unwrap();
        let output = buffer.take();
        assert!(!output.contains('\x1b'));
        insta::assert_snapshot!("logs_under_spans", output);

        assert_eq!(logging.logs.held_count(), 0, "all records were drawn");
        exporter.shutdown().unwrap();
        logging.provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
        assert_eq!(logging.lines.take(), "");
    }

    #[test]
    fn with_logs_but_without_records_output_is_unchanged() {
        let logging = Logging::new();
        let (exporter, buffer) = logged_exporter(false, &logging);
        export(&exporter, realistic_trace()).unwrap();
        let (plain, plain_buffer) = self::exporter(false);
        export(&plain, realistic_trace()).unwrap();
        assert_eq!(buffer.take(), plain_buffer.take());
    }

    #[test]
    fn log_levels_are_coloured() {
        let logging = Logging::new();
        let (exporter, buffer) = logged_exporter(true, &logging);
        logging.log_realistic();
        logging.log(1, 100, Severity::Info, "shop", "request \x1b[2J in", &[]);
        export(&exporter, realistic_trace()).unwrap();
        let output = buffer.take();
        for expected in [
            "\x1b[2mTRACE\x1b[0m",
            "\x1b[34mDEBUG\x1b[0m",
            "\x1b[32mINFO\x1b[0m",
            "\x1b[33mWARN\x1b[0m",
            "\x1b[31mERROR\x1b[0m",
            "\x1b[2m▸ \x1b[0m\x1b[2m+100µs\x1b[0m",
            "request \\u{1b}[2J in",
        ] {
            assert!(output.contains(expected), "{expected:?} in {output}");
        }
    }

    #[test]
    fn records_of_spans_printed_at_flush_are_drawn_then() {
        let logging = Logging::new();
        let (exporter, buffer) = logged_exporter(false, &logging);
        // Span 2's root never ends; span 9 is never exported here.
        logging.log(9, 10, Severity::Info, "shop", "elsewhere", &[]);
        logging.log(2, 20, Severity::Warn, "shop", "in the orphan", &[]);
        assert_eq!(logging.lines.take().lines().count(), 2);
        export(&exporter, vec![span(TRACE, 2, 1, "orphan", 0, 100)]).unwrap();
        assert_eq!(buffer.take(), "");

        exporter.force_flush().unwrap();
        let output = buffer.take();
        let lines: Vec<&str> = output.lines().collect();
        assert!(lines[0].ends_with(" · incomplete"), "{output}");
        assert!(
            output.contains("\n  ▸ +20.0µs WARN shop: in the orphan\n"),
            "{output}"
        );
        assert!(
            !output.contains("elsewhere"),
            "printed once, as a line: {output}"
        );
        exporter.force_flush().unwrap();
        assert_eq!(buffer.take(), "");
        assert_eq!(logging.logs.held_count(), 1, "span 9 may still print");
    }

    #[test]
    fn shutdown_prints_no_record_again() {
        // The SDK's order: the logger provider shuts down first.
        let logging = Logging::new();
        let (exporter, buffer) = logged_exporter(false, &logging);
        logging.log(9, 10, Severity::Info, "shop", "elsewhere", &[]);
        assert!(logging
            .lines
            .take()
            .starts_with("INFO  shop: elsewhere trace="));
        logging.provider.shutdown().unwrap();
        assert_eq!(logging.lines.take(), "");
        exporter.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
        assert_eq!(logging.logs.held_count(), 0, "forgotten with the last view");
    }

    #[test]
    fn records_after_the_span_exporter_shut_down_are_not_kept() {
        let logging = Logging::new();
        let (exporter, buffer) = logged_exporter(false, &logging);
        exporter.shutdown().unwrap();
        logging.log(9, 20, Severity::Info, "shop", "after", &[]);
        assert!(logging.lines.take().starts_with("INFO  shop: after trace="));
        assert_eq!(logging.logs.held_count(), 0);
        logging.provider.shutdown().unwrap();
        assert_eq!(logging.lines.take(), "");
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn a_dropped_span_exporter_leaves_nothing_kept() {
        let logging = Logging::new();
        let (exporter, _buffer) = logged_exporter(false, &logging);
        logging.log(9, 10, Severity::Info, "shop", "held", &[]);
        assert_eq!(logging.logs.held_count(), 1);
        drop(exporter);
        assert_eq!(logging.logs.held_count(), 0);
        assert!(logging.lines.take().starts_with("INFO  shop: held trace="));
    }

    #[test]
    fn works_with_real_providers() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        use opentelemetry_sdk::trace::SdkTracerProvider;

        let logging = Logging::new();
        let buffer = Buffer::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(
                ConsoleExporter::with_writer(buffer.clone(), false).with_logs(logging.logs.clone()),
            )
            .build();
        let tracer = tracer_provider.tracer("test");
        tracer.in_span("outer", |_| {
            tracer.in_span("inner", |_| {
                let mut record = logging.logger.create_log_record();
                record.set_severity_number(Severity::Info);
                record.set_target("shop::cart");
                record.set_body("checking out 3 items".into());
                record.add_attribute("items", 3);
                logging.logger.emit(record);
                // On stderr while the span still runs.
                let line = logging.lines.take();
                assert!(
                    line.starts_with("INFO  shop::cart: checking out 3 items items=3 trace="),
                    "{line}"
                );
                assert_eq!(buffer.take(), "");
            });
        });
        let mut record = logging.logger.create_log_record();
        record.set_body("outside".into());
        logging.logger.emit(record);

        logging.provider.shutdown().unwrap();
        tracer_provider.shutdown().unwrap();

        assert_eq!(logging.lines.take(), "INFO  outside\n");
        let output = buffer.take();
        let lines: Vec<&str> = output.lines().collect();
        assert!(lines[1].starts_with("outer "), "{output}");
        assert!(lines[2].starts_with("└─ inner "), "{output}");
        assert!(lines[3].starts_with("     ▸ +"), "{output}");
        assert!(
            lines[3].ends_with(" INFO shop::cart: checking out 3 items items=3"),
            "{output}"
        );
    }

    #[test]
    fn durations_keep_three_significant_digits() {
        let cases = [
            (Duration::ZERO, "0ns"),
            (Duration::from_nanos(850), "850ns"),
            (Duration::from_nanos(12_345), "12.3µs"),
            (Duration::from_nanos(999_499), "999µs"),
            (Duration::from_nanos(999_999), "1.00ms"),
            (Duration::from_micros(4_560), "4.56ms"),
            (Duration::from_millis(1_234), "1.23s"),
            (Duration::from_millis(59_990), "1m00s"),
            (Duration::from_secs(125), "2m05s"),
            (Duration::from_secs(3_720), "1h02m"),
        ];
        for (duration, expected) in cases {
            assert_eq!(fmt_duration(duration), expected);
        }
    }

    #[test]
    fn bars_share_one_axis() {
        let axis = Axis {
            start: at(0),
            total_ns: 1_000,
        };
        let cells = |start, end| {
            let mut span = span(TRACE, 1, 0, "s", 0, 0);
            span.start_time = at(start);
            span.end_time = at(end);
            axis.cells(&span)
        };
        assert_eq!(cells(0, 1_000), (0, BAR_WIDTH));
        assert_eq!(cells(500, 1_000), (BAR_WIDTH / 2, BAR_WIDTH / 2));
        assert_eq!(
            cells(1_000, 1_000),
            (BAR_WIDTH - 1, 1),
            "zero length still shows"
        );
        assert_eq!(cells(0, 1), (0, 1));
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(200);
        let shown = fmt_value(&Value::from(long));
        assert_eq!(shown.chars().count(), MAX_VALUE_CHARS + 2);
        assert!(shown.ends_with("x…\""));
        assert_eq!(fmt_value(&Value::from("a \"b\"\n")), r#""a \"b\"\n""#);
    }

    /// A tracer provider whose spans reach a [`ConsoleSpanProcessor`].
    fn live_provider() -> (opentelemetry_sdk::trace::SdkTracerProvider, Buffer) {
        let buffer = Buffer::default();
        let exporter = ConsoleExporter::with_writer(buffer.clone(), false);
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_span_processor(ConsoleSpanProcessor::new(exporter))
            .build();
        (provider, buffer)
    }

    /// The names of the spans a printed trace shows, in order.
    fn printed_names(output: &str) -> Vec<String> {
        output
            .lines()
            .filter(|line| line.contains('━'))
            .map(|line| {
                let name = line.trim_start_matches(['│', '├', '└', '─', ' ']);
                name.split("  ").next().unwrap_or("").to_owned()
            })
            .collect()
    }

    /// Waits up to 10 s for `buffer` to hold something.
    fn wait_for_output(buffer: &Buffer) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = buffer.take();
            if !output.is_empty() || Instant::now() > deadline {
                return output;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn live_a_trace_prints_when_its_root_ends() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        tracer.in_span("checkout", |_| {
            tracer.in_span("price", |_| {});
            assert_eq!(buffer.take(), "", "held back until the root ends");
        });
        let output = buffer.take();
        assert!(output.starts_with("trace "), "printed at once: {output}");
        assert!(!output.contains("incomplete"), "{output}");
        assert_eq!(printed_names(&output), ["checkout", "price"], "{output}");
        provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn live_a_root_waits_for_the_children_still_running() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        let root = tracer.start("GET /orders");
        let cx = Context::current_with_span(root);
        let spawned = cx.with_span(tracer.start_with_context("audit.publish", &cx));
        let grandchild = tracer.start_with_context("encode", &spawned);
        cx.span().end();
        assert_eq!(buffer.take(), "", "two spans below the root still run");
        drop(grandchild);
        assert_eq!(buffer.take(), "", "one still runs");
        spawned.span().end();
        let output = buffer.take();
        assert!(!output.contains("incomplete"), "{output}");
        assert_eq!(
            printed_names(&output),
            ["GET /orders", "audit.publish", "encode"],
            "one tree: {output}"
        );
        provider.shutdown().unwrap();
    }

    #[test]
    fn live_the_wait_for_late_children_is_bounded() {
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        let root = tracer.start("GET /slow");
        let cx = Context::current_with_span(root);
        tracer.start_with_context("done", &cx).end();
        let mut hanging = tracer.start_with_context("hanging", &cx);
        let ended = Instant::now();
        cx.span().end();
        assert_eq!(buffer.take(), "");

        // The timer prints it, with nothing else ending meanwhile.
        let output = wait_for_output(&buffer);
        let waited = ended.elapsed();
        assert!(
            // With room for a loaded machine: the wait is bounded, not exact.
            waited >= LATE_CHILDREN_WAIT && waited < LATE_CHILDREN_WAIT + Duration::from_secs(5),
            "{waited:?}"
        );
        assert_eq!(printed_names(&output), ["GET /slow", "done"], "{output}");

        // The late child prints on its own when it ends.
        hanging.end();
        let late = buffer.take();
        assert!(late.contains("(parent "), "{late}");
        assert!(late.contains(" printed earlier)"), "{late}");
        assert_eq!(printed_names(&late)[0], "hanging", "{late}");
        provider.shutdown().unwrap();
    }

    #[test]
    fn live_shutdown_prints_a_waiting_root_at_once() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        let root = tracer.start("main");
        let cx = Context::current_with_span(root);
        let _running = tracer.start_with_context("worker", &cx);
        cx.span().end();
        let started = Instant::now();
        provider.shutdown().unwrap();
        assert!(
            started.elapsed() < LATE_CHILDREN_WAIT,
            "no wait at shutdown"
        );
        let output = buffer.take();
        assert_eq!(printed_names(&output), ["main"], "{output}");
    }

    #[test]
    fn live_a_server_span_called_from_elsewhere_prints_at_once() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        let caller = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(TRACE),
            SpanId::from(0x77),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        tracer.in_span_with_context("GET /stock", &caller, |_| {});
        let output = buffer.take();
        assert!(
            output.contains("(remote parent 0000000000000077)"),
            "printed without waiting for the parent: {output}"
        );
        provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn live_a_server_span_waits_for_its_client_span_of_this_process() {
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        let client = tracer.start("GET /stock client");
        let client_cx = Context::current_with_span(client);
        // The server of the same process gets the client's context over HTTP.
        let wire = Context::new().with_remote_span_context(SpanContext::new(
            client_cx.span().span_context().trace_id(),
            client_cx.span().span_context().span_id(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        tracer.start_with_context("GET /stock", &wire).end();
        assert_eq!(buffer.take(), "", "its parent still runs here");
        client_cx.span().end();
        let output = buffer.take();
        assert_eq!(
            printed_names(&output),
            ["GET /stock client", "GET /stock"],
            "{output}"
        );
        assert!(!output.contains("remote parent"), "{output}");
        provider.shutdown().unwrap();
    }

    #[test]
    fn live_a_span_whose_parent_will_not_come_prints_at_once() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let (provider, buffer) = live_provider();
        let tracer = provider.tracer("test");
        // A local parent this processor never saw start (as an unsampled one).
        let unseen = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(TRACE),
            SpanId::from(0x55),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ));
        tracer.in_span_with_context("orphan", &unseen, |_| {});
        let output = buffer.take();
        assert!(
            output.contains("(parent 0000000000000055 not seen)"),
            "{output}"
        );
        provider.shutdown().unwrap();
    }

    #[test]
    fn live_unsampled_spans_are_not_printed() {
        use opentelemetry::trace::{Tracer as _, TracerProvider as _};
        let buffer = Buffer::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .with_span_processor(ConsoleSpanProcessor::new(ConsoleExporter::with_writer(
                buffer.clone(),
                false,
            )))
            .build();
        provider.tracer("test").in_span("dropped", |_| {});
        provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn live_a_root_stops_waiting_for_a_child_the_filter_drops() {
        use crate::process::exporting::Exporting;
        use crate::process::SpanFilter;
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
        let buffer = Buffer::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_span_processor(Exporting {
                sampled_only: true,
                filter: Some(SpanFilter::new().drop_attribute("late", "yes")),
                redaction: None,
                inner: ConsoleSpanProcessor::new(ConsoleExporter::with_writer(
                    buffer.clone(),
                    false,
                )),
            })
            .build();
        let tracer = provider.tracer("test");
        let root = tracer.start("root");
        let cx = Context::current_with_span(root);
        let mut child = tracer.start_with_context("child", &cx);
        // Matches only once this is set, after its start: dropped at its end.
        child.set_attribute(KeyValue::new("late", "yes"));
        cx.span().end();
        assert_eq!(buffer.take(), "", "the root waits for its child");
        child.end();
        let output = buffer.take();
        assert_eq!(
            printed_names(&output),
            ["root"],
            "printed when the child is dropped: {output}"
        );
        provider.shutdown().unwrap();
    }
}
