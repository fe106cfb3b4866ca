//! Log records on stderr, one line each, with the span they were written in.
//!
//! Every record is printed as a line when it is exported, that is when it is
//! written with the simple log processor `init` uses for the console: a
//! request that hangs still shows what it logged. With
//! [`ConsoleLogExporter::with_trace_view`], records written in a sampled span
//! are also kept in a [`TraceLogs`], which a
//! [`ConsoleExporter`](super::console::ConsoleExporter) made
//! [`with_logs`](super::console::ConsoleExporter::with_logs) draws under that
//! span again when it prints the trace.

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::{Key, SpanId, TraceId};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::text::{stderr_color, write_text, Level};

/// Most records a [`TraceLogs`] keeps at once; beyond, the oldest are
/// forgotten (they were printed as lines already).
pub(super) const MAX_HELD_RECORDS: usize = 10_000;
/// How many spans whose records were drawn are remembered, so that a record
/// arriving after its span was printed is not kept for it.
const MAX_DRAWN_SPANS: usize = 4096;

/// Prints each log record as one line: level, target, message, attributes, and
/// the trace and span it belongs to.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::export::console_logs::ConsoleLogExporter;
/// let exporter = ConsoleLogExporter::with_writer(Vec::new(), false);
/// # drop(exporter);
/// ```
pub struct ConsoleLogExporter {
    out: Mutex<Box<dyn Write + Send>>,
    color: bool,
    logs: Option<TraceLogs>,
}

impl std::fmt::Debug for ConsoleLogExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLogExporter")
            .field("color", &self.color)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl Default for ConsoleLogExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleLogExporter {
    /// Writes to stderr, in colour when it is a terminal and `NO_COLOR` is unset.
    pub fn new() -> Self {
        Self::with_writer(std::io::stderr(), stderr_color())
    }

    /// Writes to `writer`.
    pub fn with_writer<W: Write + Send + 'static>(writer: W, color: bool) -> Self {
        ConsoleLogExporter {
            out: Mutex::new(Box::new(writer)),
            color,
            logs: None,
        }
    }

    /// Records written in a sampled span are also kept in `logs`, to be drawn
    /// under their span when its trace prints. Every record is printed as a
    /// line at once all the same.
    ///
    /// Give the same `logs` to
    /// [`ConsoleExporter::with_logs`](super::console::ConsoleExporter::with_logs),
    /// which draws the records under their spans. Records are kept only while
    /// a span exporter that took `logs` is running (not shut down or dropped),
    /// at most 10 000 of them (beyond, the oldest are forgotten), and not for a
    /// span already printed.
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
    pub fn with_trace_view(mut self, logs: TraceLogs) -> Self {
        self.logs = Some(logs);
        self
    }

    fn write(&self, text: &str) -> OTelSdkResult {
        if text.is_empty() {
            return Ok(());
        }
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        write_text(&mut *out, text).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }
}

impl LogExporter for ConsoleLogExporter {
    fn export(
        &self,
        batch: LogBatch<'_>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let mut text = String::new();
        for (record, _scope) in batch.iter() {
            let record = HeldRecord::from_sdk(record);
            write_line(&mut text, &record, self.color);
            if let Some(logs) = &self.logs {
                logs.keep(record);
            }
        }
        std::future::ready(self.write(&text))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Every record was printed when it was exported.
        Ok(())
    }
}

/// Records shared between the log exporter and the span waterfall.
///
/// [`ConsoleLogExporter::with_trace_view`] prints every record and keeps a
/// copy here of those written in sampled spans;
/// [`ConsoleExporter::with_logs`](super::console::ConsoleExporter::with_logs)
/// takes them out to draw them under their spans. Clones share the records.
#[derive(Clone, Default, Debug)]
pub struct TraceLogs {
    shared: Arc<Mutex<Held>>,
}

/// What a log line needs of a record.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct HeldRecord {
    /// When the event happened, or else when it was observed.
    pub(super) time: Option<SystemTime>,
    pub(super) severity: Option<Severity>,
    pub(super) target: Option<Cow<'static, str>>,
    pub(super) body: Option<AnyValue>,
    pub(super) attributes: Vec<(Key, AnyValue)>,
    /// The trace and span the record was written in.
    pub(super) context: Option<(TraceId, SpanId)>,
    /// Whether that span is sampled, so that its trace will be printed.
    sampled: bool,
}

impl HeldRecord {
    fn from_sdk(record: &SdkLogRecord) -> Self {
        let cx = record.trace_context();
        HeldRecord {
            time: record.timestamp().or(record.observed_timestamp()),
            severity: record.severity_number(),
            target: record.target().cloned(),
            body: record.body().cloned(),
            attributes: record.attributes_iter().cloned().collect(),
            context: cx.map(|cx| (cx.trace_id, cx.span_id)),
            sampled: cx.is_some_and(|cx| {
                cx.trace_flags.is_some_and(|flags| flags.is_sampled())
                    && cx.trace_id != TraceId::INVALID
                    && cx.span_id != SpanId::INVALID
            }),
        }
    }
}

#[derive(Default)]
struct Held {
    /// Kept records by arrival, oldest first.
    records: BTreeMap<u64, HeldRecord>,
    /// The arrival numbers of each span's kept records, ascending.
    by_span: HashMap<(TraceId, SpanId), VecDeque<u64>>,
    next_seq: u64,
    /// Spans whose records were drawn recently, and in which order.
    drawn: HashSet<(TraceId, SpanId)>,
    drawn_order: VecDeque<(TraceId, SpanId)>,
    /// Span exporters drawing these records that have not shut down.
    views: usize,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceLogs")
            .field("held", &self.records.len())
            .field("views", &self.views)
            .finish_non_exhaustive()
    }
}

impl TraceLogs {
    fn lock(&self) -> MutexGuard<'_, Held> {
        // Every update leaves the maps consistent before anything can panic.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `record` (already printed as a line) if a span exporter will
    /// draw it: it was written in a sampled span that was not printed yet,
    /// and a span exporter is running. Beyond [`MAX_HELD_RECORDS`] the oldest
    /// are forgotten.
    pub(super) fn keep(&self, record: HeldRecord) {
        let mut held = self.lock();
        let key = match record.context {
            Some(key) if record.sampled => key,
            _ => return,
        };
        if held.views == 0 || held.drawn.contains(&key) {
            return;
        }
        let seq = held.next_seq;
        held.next_seq += 1;
        held.records.insert(seq, record);
        held.by_span.entry(key).or_default().push_back(seq);

        while held.records.len() > MAX_HELD_RECORDS {
            let Some((seq, oldest)) = held.records.pop_first() else {
                break;
            };
            if let Some(key) = oldest.context {
                if let Some(seqs) = held.by_span.get_mut(&key) {
                    // The oldest of all is the oldest of its span.
                    if seqs.front() == Some(&seq) {
                        seqs.pop_front();
                    } else {
                        seqs.retain(|&s| s != seq);
                    }
                    if seqs.is_empty() {
                        held.by_span.remove(&key);
                    }
                }
            }
        }
    }

    /// Removes and returns the kept records of the spans `span_ids` of
    /// `trace_id`, each span's oldest first, and remembers the spans as drawn.
    pub(super) fn take_spans(
        &self,
        trace_id: TraceId,
        span_ids: impl IntoIterator<Item = SpanId>,
    ) -> HashMap<SpanId, Vec<HeldRecord>> {
        let mut held = self.lock();
        let held = &mut *held;
        let mut taken = HashMap::new();
        for span_id in span_ids {
            let key = (trace_id, span_id);
            if held.drawn.insert(key) {
                held.drawn_order.push_back(key);
                if held.drawn_order.len() > MAX_DRAWN_SPANS {
                    if let Some(oldest) = held.drawn_order.pop_front() {
                        held.drawn.remove(&oldest);
                    }
                }
            }
            let Some(seqs) = held.by_span.remove(&key) else {
                continue;
            };
            let records: Vec<HeldRecord> = seqs
                .iter()
                .filter_map(|seq| held.records.remove(seq))
                .collect();
            if !records.is_empty() {
                taken.insert(span_id, records);
            }
        }
        taken
    }

    /// Forgets every kept record.
    fn clear(&self) {
        let mut held = self.lock();
        held.by_span.clear();
        held.records.clear();
    }

    /// A span exporter starts drawing these records.
    pub(super) fn attach_view(&self) {
        self.lock().views += 1;
    }

    /// A span exporter stops drawing these records: it shut down or was
    /// dropped. Once none draws them, what is kept is forgotten.
    pub(super) fn detach_view(&self) {
        let mut held = self.lock();
        held.views = held.views.saturating_sub(1);
        let none = held.views == 0;
        drop(held);
        if none {
            self.clear();
        }
    }

    #[cfg(test)]
    pub(super) fn held_count(&self) -> usize {
        self.lock().records.len()
    }
}

pub(super) fn value(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.as_str().to_owned(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// Appends the line of `record` to `text`.
fn write_line(text: &mut String, record: &HeldRecord, color: bool) {
    let level = Level::of(record.severity);
    if color {
        let _ = write!(
            text,
            "\x1b[{}m{:<5}\x1b[0m",
            level.style().sgr(),
            level.name()
        );
    } else {
        let _ = write!(text, "{:<5}", level.name());
    }
    if let Some(target) = &record.target {
        let _ = write!(text, " {target}:");
    }
    if let Some(body) = &record.body {
        let body = value(body).replace(['\n', '\r'], " ");
        let _ = write!(text, " {}", body.replace('\x1b', "\\e"));
    }
    for (k, v) in &record.attributes {
        let _ = write!(text, " {k}={}", value(v).replace('\x1b', "\\e"));
    }
    if let Some((trace_id, span_id)) = record.context {
        let _ = write!(text, " trace={trace_id} span={span_id}");
    }
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
    use opentelemetry::Context;
    use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
    use std::time::UNIX_EPOCH;

    use super::super::text::test_support::Buffer;

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

    /// A logger whose records reach `exporter` synchronously.
    fn logger(exporter: ConsoleLogExporter) -> (SdkLoggerProvider, SdkLogger) {
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        let logger = provider.logger("shop");
        (provider, logger)
    }

    /// With a trace view of its own: the exporter, its output, the held records.
    fn viewing() -> (SdkLoggerProvider, SdkLogger, Buffer, TraceLogs) {
        let buffer = Buffer::default();
        let logs = TraceLogs::default();
        let exporter =
            ConsoleLogExporter::with_writer(buffer.clone(), false).with_trace_view(logs.clone());
        let (provider, logger) = logger(exporter);
        (provider, logger, buffer, logs)
    }

    /// Emits an INFO record at a fixed time, in span `span` of [`TRACE`] if
    /// `flags` is given.
    fn emit(logger: &SdkLogger, body: &str, span: u64, flags: Option<TraceFlags>) {
        let mut record = logger.create_log_record();
        record.set_timestamp(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        record.set_severity_number(Severity::Info);
        record.set_target("shop::cart");
        record.set_body(AnyValue::from(body.to_owned()));
        record.add_attribute("items", 3);
        if let Some(flags) = flags {
            record.set_trace_context(TraceId::from(TRACE), SpanId::from(span), Some(flags));
        }
        logger.emit(record);
    }

    const SAMPLED: Option<TraceFlags> = Some(TraceFlags::SAMPLED);

    #[test]
    fn without_trace_view_every_record_prints_at_once() {
        let buffer = Buffer::default();
        let (provider, logger) = logger(ConsoleLogExporter::with_writer(buffer.clone(), false));
        emit(&logger, "checking out", 2, SAMPLED);
        emit(&logger, "outside", 0, None);
        assert_eq!(
            buffer.take(),
            "INFO  shop::cart: checking out items=3 \
             trace=4bf92f3577b34da6a3ce929d0e0e4736 span=0000000000000002\n\
             INFO  shop::cart: outside items=3\n"
        );
        provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn a_record_outside_spans_prints_at_once() {
        let (provider, logger, buffer, logs) = viewing();
        logs.attach_view();
        emit(&logger, "starting \x1b[31m up\nnow", 0, None);
        assert_eq!(
            buffer.take(),
            "INFO  shop::cart: starting \\e[31m up now items=3\n"
        );
        assert_eq!(logs.held_count(), 0);
        drop(provider);
    }

    #[test]
    fn an_unsampled_spans_record_prints_at_once() {
        let (provider, logger, buffer, logs) = viewing();
        logs.attach_view();
        emit(&logger, "not sampled", 2, Some(TraceFlags::NOT_SAMPLED));
        assert_eq!(
            buffer.take(),
            "INFO  shop::cart: not sampled items=3 \
             trace=4bf92f3577b34da6a3ce929d0e0e4736 span=0000000000000002\n"
        );
        assert_eq!(logs.held_count(), 0);
        drop(provider);
    }

    const LINE_2: &str = "trace=4bf92f3577b34da6a3ce929d0e0e4736 span=0000000000000002\n";

    #[test]
    fn a_sampled_spans_record_prints_at_once_and_is_kept_for_the_span() {
        let (provider, logger, buffer, logs) = viewing();
        logs.attach_view();
        emit(&logger, "first", 2, SAMPLED);
        assert_eq!(
            buffer.take(),
            format!("INFO  shop::cart: first items=3 {LINE_2}"),
            "printed when it is written, before its span ends"
        );
        emit(&logger, "elsewhere", 3, SAMPLED);
        emit(&logger, "second", 2, SAMPLED);
        assert_eq!(buffer.take().lines().count(), 2);

        let mut taken = logs.take_spans(TraceId::from(TRACE), [SpanId::from(2)]);
        let records = taken.remove(&SpanId::from(2)).unwrap();
        let bodies: Vec<String> = records
            .iter()
            .map(|r| value(r.body.as_ref().unwrap()))
            .collect();
        assert_eq!(bodies, ["first", "second"]);
        assert!(taken.is_empty());
        assert_eq!(logs.held_count(), 1);

        // The span was drawn: a record arriving late is printed, not kept.
        emit(&logger, "late", 2, SAMPLED);
        assert!(buffer.take().starts_with("INFO  shop::cart: late "));
        assert_eq!(logs.held_count(), 1);
        drop(provider);
    }

    #[test]
    fn the_trace_context_of_the_current_span_is_used() {
        let (provider, logger, buffer, logs) = viewing();
        logs.attach_view();
        let span = SpanContext::new(
            TraceId::from(TRACE),
            SpanId::from(7),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let guard = Context::current().with_remote_span_context(span).attach();
        let mut record = logger.create_log_record();
        record.set_body("in a span".into());
        logger.emit(record);
        drop(guard);
        assert_eq!(
            buffer.take(),
            "INFO  in a span trace=4bf92f3577b34da6a3ce929d0e0e4736 span=0000000000000007\n"
        );
        let taken = logs.take_spans(TraceId::from(TRACE), [SpanId::from(7)]);
        let record = &taken[&SpanId::from(7)][0];
        assert_eq!(
            record.context,
            Some((TraceId::from(TRACE), SpanId::from(7)))
        );
        assert!(record.time.is_some(), "the observed time stands in");
        drop(provider);
    }

    #[test]
    fn without_a_running_view_nothing_is_kept() {
        let (provider, logger, buffer, logs) = viewing();
        emit(&logger, "no view yet", 2, SAMPLED);
        assert_eq!(logs.held_count(), 0);
        logs.attach_view();
        emit(&logger, "kept", 2, SAMPLED);
        assert_eq!(logs.held_count(), 1);
        // The last view goes: what was kept is forgotten, nothing more is kept.
        logs.detach_view();
        assert_eq!(logs.held_count(), 0);
        emit(&logger, "after", 2, SAMPLED);
        assert_eq!(logs.held_count(), 0);
        assert_eq!(buffer.take().lines().count(), 3, "all printed");
        provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "", "nothing is left to print at shutdown");
    }

    #[test]
    fn kept_records_are_bounded() {
        let (provider, logger, buffer, logs) = viewing();
        logs.attach_view();
        for i in 0..MAX_HELD_RECORDS + 3 {
            emit(&logger, &format!("record {i}"), (i % 7) as u64 + 1, SAMPLED);
        }
        assert_eq!(logs.held_count(), MAX_HELD_RECORDS);
        assert_eq!(buffer.take().lines().count(), MAX_HELD_RECORDS + 3);

        // The oldest are forgotten, from their spans too.
        let taken = logs.take_spans(TraceId::from(TRACE), (1..=7).map(SpanId::from));
        let total: usize = taken.values().map(Vec::len).sum();
        assert_eq!(total, MAX_HELD_RECORDS);
        assert!(taken.values().flatten().all(|r| {
            !matches!(&r.body, Some(AnyValue::String(s)) if ["record 0", "record 1", "record 2"].contains(&s.as_str()))
        }));
        assert_eq!(logs.held_count(), 0);
        drop(provider);
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let (provider, logger, buffer, logs) = viewing();
        logs.attach_view();
        let shared = logs.clone();
        let _ = std::thread::spawn(move || {
            let _guard = shared.shared.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(logs.shared.is_poisoned());
        emit(&logger, "still kept", 2, SAMPLED);
        assert!(buffer.take().starts_with("INFO  shop::cart: still kept "));
        assert_eq!(logs.held_count(), 1);
        drop(provider);
    }

    #[test]
    fn levels_are_coloured() {
        let buffer = Buffer::default();
        let (provider, logger) = logger(ConsoleLogExporter::with_writer(buffer.clone(), true));
        for severity in [
            Severity::Trace,
            Severity::Debug,
            Severity::Warn,
            Severity::Error,
        ] {
            let mut record = logger.create_log_record();
            record.set_severity_number(severity);
            record.set_body("x".into());
            logger.emit(record);
        }
        assert_eq!(
            buffer.take(),
            "\x1b[2mTRACE\x1b[0m x\n\x1b[34mDEBUG\x1b[0m x\n\
             \x1b[33mWARN \x1b[0m x\n\x1b[31mERROR\x1b[0m x\n"
        );
        drop(provider);
    }
}
