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

mod hold;
mod processor;
mod render;
#[cfg(test)]
mod tests;

use hold::*;
pub(crate) use processor::ConsoleSpanProcessor;
use render::*;
