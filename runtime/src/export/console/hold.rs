//! What the console exporter holds back: traces waiting for their local root,
//! the spans still running, the spans printed last.

use super::*;

pub(super) struct State {
    pub(super) writer: Box<dyn Write + Send>,
    pub(super) pending: Pending,
    pub(super) printed: Printed,
    pub(super) is_shutdown: bool,
    /// What a [`ConsoleSpanProcessor`] knows of the spans still running;
    /// `None` for an exporter behind another processor.
    pub(super) live: Option<Live>,
}

/// The spans still running, and the local roots waiting for them, of a
/// [`ConsoleSpanProcessor`].
#[derive(Default)]
pub(super) struct Live {
    /// Sampled spans started and not ended: by trace, each span's parent.
    pub(super) open: HashMap<TraceId, HashMap<SpanId, SpanId>>,
    pub(super) open_count: usize,
    /// Local roots that ended while spans below them still run, with the
    /// time their wait is over, in the order they ended.
    pub(super) deferred: Vec<(SpanData, Instant)>,
    /// The processor shut down or was dropped: the timer thread stops.
    pub(super) stopped: bool,
}

impl Live {
    pub(super) fn start(&mut self, trace_id: TraceId, span_id: SpanId, parent: SpanId) {
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

    pub(super) fn end(&mut self, trace_id: TraceId, span_id: SpanId) {
        if let Entry::Occupied(mut trace) = self.open.entry(trace_id) {
            if trace.get_mut().remove(&span_id).is_some() {
                self.open_count -= 1;
            }
            if trace.get().is_empty() {
                trace.remove();
            }
        }
    }

    pub(super) fn is_open(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.open
            .get(&trace_id)
            .is_some_and(|spans| spans.contains_key(&span_id))
    }

    pub(super) fn defers(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.deferred.iter().any(|(root, _)| {
            root.span_context.trace_id() == trace_id && root.span_context.span_id() == span_id
        })
    }

    /// The running spans below `root`, through running and held-back spans.
    pub(super) fn open_below(&self, pending: &Pending, root: &SpanData) -> Vec<SpanId> {
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
    pub(super) fn write(&mut self, text: &str) -> OTelSdkResult {
        write_text(&mut self.writer, text).map_err(|err| {
            OTelSdkError::InternalFailure(format!("console exporter failed to write: {err}"))
        })
    }
}

/// Spans held back until their local root ends, grouped by trace.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) traces: HashMap<TraceId, PendingTrace>,
    /// Arrival order of the traces in `traces`, to evict the oldest first.
    pub(super) arrival: BTreeMap<u64, TraceId>,
    /// The held spans whose parent is remote, by arrival, while they wait for
    /// that parent; exactly the keys in [`Held::remote`] of `traces`.
    pub(super) remote: BTreeMap<RemoteKey, TraceId>,
    pub(super) next_seq: u64,
    pub(super) span_count: usize,
}

/// When a span whose parent is remote arrived, and a number unique among
/// the held spans.
pub(super) type RemoteKey = (Instant, u64);

pub(super) struct PendingTrace {
    pub(super) seq: u64,
    pub(super) spans: Vec<Held>,
}

/// A span held back.
pub(super) struct Held {
    pub(super) span: SpanData,
    /// Its key in [`Pending::remote`] while it waits for its remote parent.
    pub(super) remote: Option<RemoteKey>,
}

impl Pending {
    /// Holds `span` back, which arrived at `now`.
    pub(super) fn push(&mut self, span: SpanData, now: Instant) {
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
    pub(super) fn holds(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.traces.get(&trace_id).is_some_and(|trace| {
            trace
                .spans
                .iter()
                .any(|held| held.span.span_context.span_id() == span_id)
        })
    }

    /// The parent of each held-back span of trace `trace_id`.
    pub(super) fn parents(&self, trace_id: TraceId) -> HashMap<SpanId, SpanId> {
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
    pub(super) fn pop_over_limit(&mut self) -> Option<Vec<SpanData>> {
        if self.traces.len() > MAX_PENDING_TRACES || self.span_count > MAX_PENDING_SPANS {
            self.pop_oldest()
        } else {
            None
        }
    }

    pub(super) fn pop_oldest(&mut self) -> Option<Vec<SpanData>> {
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
    pub(super) fn take_subtree(&mut self, root: &SpanData) -> Vec<SpanData> {
        let roots = [(root.span_context.span_id(), None)];
        self.take_trees(root.span_context.trace_id(), &roots)
            .pop()
            .unwrap_or_default()
    }

    /// Removes the spans whose wait for their remote parent is over at `now`
    /// (all that wait, if `now` is `None`). Those whose parent is held back
    /// stay below it; each other one is returned with its held-back
    /// descendants, as a block of its own, oldest first.
    pub(super) fn pop_remote_heads(&mut self, now: Option<Instant>) -> Vec<Vec<SpanData>> {
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
    pub(super) fn take_trees(
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
pub(super) struct Printed {
    pub(super) ids: HashSet<(TraceId, SpanId)>,
    pub(super) order: VecDeque<(TraceId, SpanId)>,
}

impl Printed {
    pub(super) fn contains(&self, trace_id: TraceId, span_id: SpanId) -> bool {
        self.ids.contains(&(trace_id, span_id))
    }

    pub(super) fn insert(&mut self, span: &SpanData) {
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
