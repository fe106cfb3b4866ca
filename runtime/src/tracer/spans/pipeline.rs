//! Where ended spans go: the span processors `init` installed, shared by the
//! SDK's tracer provider (for spans started through the OpenTelemetry API) and
//! `traced`'s own span path; and, when every processor batches anyway, the
//! per-thread buffers that take the building of `SpanData` off the calling
//! thread.
//!
//! The buffers hold records as they were boxed where the span started: the
//! buffer takes the allocation over, instead of the ~300-byte record being
//! moved into it and out of it again. Once the span data is built, the
//! emptied boxes go back to the thread that buffered them (a bounded spare
//! list), and its next spans are recorded into them: a buffered span
//! allocates no record, and no record is freed on a thread other than the one
//! that allocated it.
#![allow(clippy::vec_box)]

use super::record::Record;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::Duration;

/// Spans a thread keeps before the collector takes them: at most this many
/// per thread (about 1 MiB); then the thread hands them on itself.
const PER_THREAD: usize = 4096;
/// Spans buffered over all threads at most (about 16 MiB; beyond it a thread
/// hands its own on), checked every [`CHUNK`] spans of a thread so that
/// threads share no counter per span.
const GLOBAL: usize = 65_536;
/// A thread accounts for its buffer, and wakes the collector, every this many spans.
const CHUNK: usize = 512;
/// How long a flush waits at most for threads handing their own spans on.
const WAIT_FOR_THREADS: Duration = Duration::from_secs(5);
/// How often the collector takes what the threads buffered.
const COLLECT_EVERY: Duration = Duration::from_millis(200);
/// Emptied record boxes a thread keeps for its next spans, at most (about
/// 280 KiB).
const SPARE: usize = 2 * CHUNK;
/// Emptied record boxes all threads keep together, at most (about 2.3 MiB):
/// threads that made spans once and went idle keep no more than this.
const SPARE_ALL: usize = 8 * 1024;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// The span processors of one installed pipeline, in the order the SDK would
/// call them.
pub(crate) struct Pipeline {
    id: usize,
    processors: Vec<Box<dyn SpanProcessor>>,
    /// `Some` when ended spans are buffered per thread and handed to the
    /// processors by a collector thread.
    buffers: Option<Buffers>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("processors", &self.processors)
            .field("buffered", &self.buffers.is_some())
            .finish()
    }
}

impl Pipeline {
    /// A pipeline over `processors`, their resource already set. With
    /// `buffered`, a collector thread builds the span data of ended spans.
    pub(crate) fn new(processors: Vec<Box<dyn SpanProcessor>>, buffered: bool) -> Arc<Self> {
        Self::build(processors, buffered, buffered)
    }

    fn build(
        processors: Vec<Box<dyn SpanProcessor>>,
        buffered: bool,
        collector: bool,
    ) -> Arc<Self> {
        let pipeline = Arc::new(Pipeline {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            processors,
            buffers: buffered.then(Buffers::default),
        });
        if collector {
            let weak = Arc::downgrade(&pipeline);
            let spawned = std::thread::Builder::new()
                .name("traced-spans".into())
                .spawn(move || collect(&weak));
            if let Err(e) = spawned {
                eprintln!("traced: traces: the span collector thread did not start ({e}): spans are handed on when flushed");
            }
        }
        pipeline
    }

    /// Ends `record`: to the processors now, or into this thread's buffer.
    pub(crate) fn end(&self, record: Box<Record>) {
        let Some(buffers) = &self.buffers else {
            return self.dispatch(record.into_span_data());
        };
        match buffers.push(self.id, record) {
            Pushed::Kept => {}
            // The thread is going away: no buffer of its own any more.
            Pushed::NoBuffer(record) => self.dispatch(record.into_span_data()),
            // The collector is behind: this thread hands its own spans on
            // (to processors that never block) rather than drop them.
            // Threads doing so run side by side; a flush waits for them
            // (`handing_on` was counted before the records left the buffer).
            Pushed::Full(records) => {
                let spare = self.hand_on(records);
                buffers.handing_on.fetch_sub(1, Ordering::Release);
                if let Ok(Some(local)) =
                    LOCAL.try_with(|l| l.borrow().as_ref().map(|l| l.buffer.clone()))
                {
                    local.give_back(spare, &buffers.spare);
                }
            }
        }
    }

    /// Builds the span data of buffered `records` and hands it on, in order;
    /// returns the emptied boxes.
    fn hand_on(&self, mut records: Vec<Box<Record>>) -> Vec<Box<Record>> {
        for record in &mut records {
            self.dispatch(record.take_span_data());
        }
        records
    }

    /// Hands `data` to every processor, as the SDK does when a span ends.
    fn dispatch(&self, data: SpanData) {
        if let Some((last, rest)) = self.processors.split_last() {
            for p in rest {
                p.on_end(data.clone());
            }
            last.on_end(data);
        }
    }

    /// Hands on everything the threads buffered so far. One collection at a
    /// time: a flush waits for the collector's, so that what the collector
    /// took is handed on before the flush goes on to the processors.
    fn collect(&self) {
        if let Some(buffers) = &self.buffers {
            let _one = lock(&buffers.collecting);
            for (thread, records) in buffers.take_all() {
                let spare = self.hand_on(records);
                thread.give_back(spare, &buffers.spare);
            }
            buffers.forget_exited();
        }
    }

    /// [`collect`](Self::collect), then waits (at most `WAIT_FOR_THREADS`)
    /// for the threads handing their own full buffers on.
    fn collect_all(&self) {
        self.collect();
        if let Some(buffers) = &self.buffers {
            let deadline = std::time::Instant::now() + WAIT_FOR_THREADS;
            while buffers.handing_on.load(Ordering::Acquire) > 0
                && std::time::Instant::now() < deadline
            {
                std::thread::yield_now();
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.collect_all();
        let mut result = Ok(());
        for p in &self.processors {
            let r = p.force_flush();
            result = result.and(r);
        }
        result
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        if let Some(buffers) = &self.buffers {
            buffers.stop.store(true, Ordering::Release);
            buffers.wake.ring();
        }
        self.collect_all();
        let mut result = Ok(());
        for p in &self.processors {
            let r = p.shutdown_with_timeout(timeout);
            result = result.and(r);
        }
        result
    }
}

/// The pipeline as the SDK's tracer provider sees it: one processor that
/// calls all of them in order, so that spans started through the
/// OpenTelemetry API reach the same processors as `#[traced]` spans.
#[derive(Debug)]
pub(crate) struct Shared(pub(crate) Arc<Pipeline>);

impl SpanProcessor for Shared {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        for p in &self.0.processors {
            p.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        self.0.dispatch(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown(timeout)
    }

    // The processors' resource is set when the pipeline is built.
}

/// Ends `record` in the pipeline installed now (a span that ends after the
/// guard dropped is dropped, as the SDK's is after its provider shut down).
pub(crate) fn deliver(record: Box<Record>) {
    crate::tracer::with_installed(|installed| {
        if let Some(fast) = installed.and_then(|i| i.fast.as_ref()) {
            fast.pipeline.end(record);
        }
    });
}

/// What became of a span pushed into its thread's buffer.
enum Pushed {
    Kept,
    /// The thread has no buffer any more (it is exiting).
    NoBuffer(Box<Record>),
    /// The buffer reached its bound: these are to be handed on now.
    Full(Vec<Box<Record>>),
}

/// The per-thread buffers of a pipeline.
#[derive(Default)]
struct Buffers {
    threads: Mutex<Vec<Arc<ThreadBuffer>>>,
    /// Held while the collector (or a flush) hands on the spans it took.
    collecting: Mutex<()>,
    /// Threads handing their own full buffer on now.
    handing_on: AtomicUsize,
    /// Spans accounted for by all threads (in [`CHUNK`]s).
    buffered: AtomicUsize,
    /// Emptied record boxes the threads keep (as last counted).
    spare: AtomicUsize,
    stop: AtomicBool,
    wake: Bell,
}

#[derive(Default)]
struct ThreadBuffer {
    state: Mutex<ThreadState>,
}

impl ThreadBuffer {
    /// Keeps emptied record boxes for the thread's next spans, up to
    /// [`SPARE`] for the thread and [`SPARE_ALL`] over all threads (`all`
    /// counts them); frees the rest, and all of them when the thread is gone
    /// (only the registry and the caller hold its buffer then). The count of
    /// all is kept here, when boxes are given back, so that taking one for a
    /// span touches nothing shared.
    fn give_back(self: &Arc<Self>, mut boxes: Vec<Box<Record>>, all: &AtomicUsize) {
        let alive = Arc::strong_count(self) > 2;
        let mut state = lock(&self.state);
        // The boxes the thread took since the last time are no longer spare.
        let taken = state.spare_counted.saturating_sub(state.spare.len());
        all.fetch_sub(taken, Ordering::Relaxed);
        state.spare_counted -= taken;
        if !alive {
            return;
        }
        let room = SPARE
            .saturating_sub(state.spare.len())
            .min(SPARE_ALL.saturating_sub(all.load(Ordering::Relaxed)));
        boxes.truncate(room);
        all.fetch_add(boxes.len(), Ordering::Relaxed);
        state.spare_counted += boxes.len();
        state.spare.append(&mut boxes);
    }
}

#[derive(Default)]
struct ThreadState {
    records: Vec<Box<Record>>,
    /// Emptied record boxes, for this thread's next spans.
    spare: Vec<Box<Record>>,
    /// How many of them [`Buffers::spare`] counts.
    spare_counted: usize,
    /// How many of `records` this thread added to [`Buffers::buffered`].
    accounted: usize,
    /// The global bound was reached: the thread hands its spans on itself.
    over: bool,
}

/// A thread's own side of its buffer.
struct Local {
    /// The id of the pipeline the buffer belongs to.
    pipeline: usize,
    buffer: Arc<ThreadBuffer>,
    /// An emptied record box, taken from the spare list when a span was
    /// pushed, for the next span this thread starts.
    next: Option<Box<Record>>,
}

thread_local! {
    /// This thread's buffer.
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// `make`'s record in a box: an emptied one this thread kept, or a new one.
#[inline(always)]
pub(crate) fn boxed(make: impl FnOnce() -> Record) -> Box<Record> {
    let spare = LOCAL
        .try_with(|l| l.try_borrow_mut().ok()?.as_mut()?.next.take())
        .ok()
        .flatten();
    match spare {
        Some(mut record) => {
            debug_assert!(record.is_empty());
            // SAFETY: `record` points to a valid, initialized `Record`, which
            // is overwritten in place. Its old value is `Record::EMPTY`
            // (`take_span_data` left it so), which owns no memory: not
            // dropping it leaks nothing.
            unsafe { std::ptr::write(&mut *record, make()) };
            record
        }
        None => Box::new(make()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Buffers {
    /// Keeps `record` in this thread's buffer, or gives back what the thread
    /// must hand on itself.
    fn push(&self, pipeline: usize, record: Box<Record>) -> Pushed {
        let mut record = Some(record);
        let pushed = LOCAL.try_with(|local| {
            let mut local = local.borrow_mut();
            if !matches!(&*local, Some(l) if l.pipeline == pipeline) {
                let buffer = Arc::new(ThreadBuffer::default());
                lock(&self.threads).push(buffer.clone());
                *local = Some(Local {
                    pipeline,
                    buffer,
                    next: None,
                });
            }
            let Some(Local { buffer, next, .. }) = &mut *local else {
                unreachable!("set above")
            };
            let mut state = lock(&buffer.state);
            state.records.extend(record.take());
            if next.is_none() {
                *next = state.spare.pop();
            }
            if state.over || state.records.len() >= PER_THREAD {
                // Bounded: all of it goes on now, from this thread.
                self.handing_on.fetch_add(1, Ordering::AcqRel);
                let records = std::mem::take(&mut state.records);
                self.buffered.fetch_sub(state.accounted, Ordering::Relaxed);
                state.accounted = 0;
                state.over = false;
                return Pushed::Full(records);
            }
            let len = state.records.len();
            if len - state.accounted >= CHUNK {
                state.accounted += CHUNK;
                let all = self.buffered.fetch_add(CHUNK, Ordering::Relaxed) + CHUNK;
                if all >= GLOBAL {
                    state.over = true;
                }
                drop(state);
                self.wake.ring();
            }
            Pushed::Kept
        });
        match (pushed, record) {
            (Ok(pushed), _) => pushed,
            (Err(_), Some(record)) => Pushed::NoBuffer(record),
            (Err(_), None) => Pushed::Kept,
        }
    }

    /// Takes every thread's buffered spans, with the buffer each came from.
    fn take_all(&self) -> Vec<(Arc<ThreadBuffer>, Vec<Box<Record>>)> {
        let threads: Vec<Arc<ThreadBuffer>> = lock(&self.threads).clone();
        let mut taken = Vec::with_capacity(threads.len());
        for buffer in threads {
            let mut state = lock(&buffer.state);
            if state.records.is_empty() {
                continue;
            }
            let n = state.records.len();
            let records =
                std::mem::replace(&mut state.records, Vec::with_capacity(n.min(PER_THREAD)));
            self.buffered.fetch_sub(state.accounted, Ordering::Relaxed);
            state.accounted = 0;
            state.over = false;
            drop(state);
            taken.push((buffer, records));
        }
        taken
    }

    /// Forgets the buffers of threads that exited, once emptied: such a
    /// buffer has only the registry's reference left.
    fn forget_exited(&self) {
        lock(&self.threads).retain(|b| {
            let state = lock(&b.state);
            let keep = Arc::strong_count(b) > 1 || !state.records.is_empty();
            if !keep {
                self.spare.fetch_sub(state.spare_counted, Ordering::Relaxed);
            }
            keep
        });
    }
}

/// Wakes the collector early.
#[derive(Default)]
struct Bell {
    rung: Mutex<bool>,
    cv: Condvar,
}

impl Bell {
    fn ring(&self) {
        *lock(&self.rung) = true;
        self.cv.notify_one();
    }

    /// Waits at most `timeout` for a ring.
    fn wait(&self, timeout: Duration) {
        let rung = lock(&self.rung);
        let (mut rung, _) = self
            .cv
            .wait_timeout_while(rung, timeout, |rung| !*rung)
            .unwrap_or_else(PoisonError::into_inner);
        *rung = false;
    }
}

/// The collector thread: hands on what the threads buffered, every
/// [`COLLECT_EVERY`] or when a thread filled a chunk, until the pipeline
/// shuts down or is gone.
fn collect(pipeline: &Weak<Pipeline>) {
    loop {
        let Some(p) = pipeline.upgrade() else { return };
        let Some(buffers) = &p.buffers else { return };
        if buffers.stop.load(Ordering::Acquire) {
            return;
        }
        p.collect();
        // The pipeline outlives its provider by one wait at most: the next
        // round finds it gone (or shut down) and ends this thread.
        buffers.wake.wait(COLLECT_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::InMemorySpanExporter;
    use std::time::SystemTime;

    fn record(n: u64) -> Box<Record> {
        Box::new(Record {
            span_context: SpanContext::new(
                TraceId::from(u128::from(n) + 1),
                SpanId::from(n + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            name: "buffered".into(),
            start: SystemTime::now(),
            end: SystemTime::now(),
            ..Record::EMPTY
        })
    }

    fn pipeline(buffered: bool) -> (Arc<Pipeline>, InMemorySpanExporter) {
        let exporter = InMemorySpanExporter::default();
        let processor = opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter.clone());
        (Pipeline::new(vec![Box::new(processor)], buffered), exporter)
    }

    #[test]
    fn unbuffered_spans_reach_the_processors_when_they_end() {
        let (p, exporter) = pipeline(false);
        p.end(record(1));
        assert_eq!(exporter.get_finished_spans().unwrap().len(), 1);
    }

    #[test]
    fn buffered_spans_wait_for_a_flush_and_none_is_lost() {
        let (p, exporter) = pipeline(true);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        p.end(record(t * 1000 + i));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        p.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        assert_eq!(spans.len(), 4000);
        let mut ids: Vec<u64> = spans
            .iter()
            .map(|s| u64::from_be_bytes(s.span_context.span_id().to_bytes()))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4000);
        // The buffers of the exited threads are forgotten.
        assert!(p
            .buffers
            .as_ref()
            .unwrap()
            .threads
            .lock()
            .unwrap()
            .is_empty());
    }

    /// After a collection the emptied boxes go back to their thread, which
    /// records its next spans into them; the span data is not changed by it.
    #[test]
    fn a_thread_records_into_the_boxes_it_got_back() {
        let exporter = InMemorySpanExporter::default();
        let processor = opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter.clone());
        let p = Pipeline::build(vec![Box::new(processor)], true, false);
        std::thread::spawn(move || {
            let first: Vec<Box<Record>> = (0..10).map(record).collect();
            let addresses: Vec<*const Record> = first.iter().map(|r| &**r as *const _).collect();
            for r in first {
                p.end(r);
            }
            p.force_flush().unwrap();
            // Ending a span takes a spare box for the next one.
            p.end(record(10));
            let next = boxed(|| *record(11));
            assert!(addresses.contains(&(&*next as *const _)), "a box came back");
            assert_eq!(next.span_context.span_id(), SpanId::from(12));
            p.end(next);
            p.force_flush().unwrap();
            let spans = exporter.get_finished_spans().unwrap();
            let ids: Vec<u64> = spans
                .iter()
                .map(|s| u64::from_be_bytes(s.span_context.span_id().to_bytes()))
                .collect();
            assert_eq!(ids, (1..=12).collect::<Vec<u64>>());
            assert!(spans.iter().all(|s| s.name == "buffered"));
        })
        .join()
        .unwrap();
    }

    /// The boxes kept over all threads stay within [`SPARE_ALL`], and those
    /// of threads that exited are let go.
    #[test]
    fn spare_boxes_are_bounded_over_all_threads() {
        let exporter = InMemorySpanExporter::default();
        let processor = opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter.clone());
        let p = Pipeline::build(vec![Box::new(processor)], true, false);
        let (threads, each) = (12, 1000);
        let ended = Arc::new(std::sync::Barrier::new(threads + 1));
        let flushed = Arc::new(std::sync::Barrier::new(threads + 1));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (p, ended, flushed) = (p.clone(), ended.clone(), flushed.clone());
                std::thread::spawn(move || {
                    for i in 0..each {
                        p.end(record((t * each + i) as u64));
                    }
                    ended.wait();
                    flushed.wait();
                })
            })
            .collect();
        ended.wait();
        p.force_flush().unwrap();
        let buffers = p.buffers.as_ref().unwrap();
        let kept: usize = lock(&buffers.threads)
            .iter()
            .map(|b| lock(&b.state).spare.len())
            .sum();
        assert_eq!(buffers.spare.load(Ordering::Relaxed), kept);
        assert!((SPARE_ALL - SPARE..=SPARE_ALL).contains(&kept), "{kept}");
        flushed.wait();
        for h in handles {
            h.join().unwrap();
        }
        p.force_flush().unwrap();
        assert_eq!(buffers.spare.load(Ordering::Relaxed), 0);
        assert!(lock(&buffers.threads).is_empty());
        assert_eq!(exporter.get_finished_spans().unwrap().len(), threads * each);
    }

    #[test]
    fn a_full_thread_buffer_is_handed_on_by_its_thread_and_nothing_is_lost() {
        let exporter = InMemorySpanExporter::default();
        let processor = opentelemetry_sdk::trace::SimpleSpanProcessor::new(exporter.clone());
        // No collector thread: only the flush, or the thread itself, takes the buffer.
        let p = Pipeline::build(vec![Box::new(processor)], true, false);
        for i in 0..(PER_THREAD - 1) as u64 {
            p.end(record(i));
        }
        assert!(exporter.get_finished_spans().unwrap().is_empty());
        // The span that fills the buffer: the thread hands all on.
        p.end(record(PER_THREAD as u64));
        assert_eq!(exporter.get_finished_spans().unwrap().len(), PER_THREAD);
        p.end(record(0));
        p.force_flush().unwrap();
        assert_eq!(exporter.get_finished_spans().unwrap().len(), PER_THREAD + 1);
    }
}
