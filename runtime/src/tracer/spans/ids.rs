//! Span and trace ids from a per-thread generator: one thread-local access
//! per span for both ids, no lock, no shared state.
//!
//! SplitMix64 over a per-thread seed taken from the standard library's
//! randomly keyed hasher (seeded from the operating system once per process,
//! then varied per thread), so ids are uniformly distributed and never repeat
//! a sequence between threads or processes; the W3C `random` flag holds for
//! the trace ids it makes. An all-zero id (invalid) is never returned.

use opentelemetry::trace::{SpanId, TraceId};
use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    let here = 0u8;
    h.write_usize(std::ptr::addr_of!(here) as usize);
    h.finish()
}

#[inline]
fn next(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn non_zero(state: &Cell<u64>) -> u64 {
    loop {
        let v = next(state);
        if v != 0 {
            return v;
        }
    }
}

/// A new span id, and a new trace id when `new_trace`.
#[inline]
pub(crate) fn new_ids(new_trace: bool) -> (Option<TraceId>, SpanId) {
    STATE.with(|state| {
        let trace = new_trace.then(|| {
            let high = u128::from(next(state));
            TraceId::from(high << 64 | u128::from(non_zero(state)))
        });
        (trace, SpanId::from(non_zero(state)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_valid_and_do_not_repeat_within_or_across_threads() {
        let mut spans = HashSet::new();
        let mut traces = HashSet::new();
        let take = |n: usize, spans: &mut HashSet<SpanId>, traces: &mut HashSet<TraceId>| {
            for _ in 0..n {
                let (trace, span) = new_ids(true);
                let trace = trace.unwrap();
                assert_ne!(span, SpanId::INVALID);
                assert_ne!(trace, TraceId::INVALID);
                assert!(spans.insert(span));
                assert!(traces.insert(trace));
            }
        };
        take(10_000, &mut spans, &mut traces);
        let other: Vec<(Option<TraceId>, SpanId)> =
            std::thread::spawn(|| (0..10_000).map(|_| new_ids(true)).collect())
                .join()
                .unwrap();
        for (trace, span) in other {
            assert!(spans.insert(span), "a span id repeated across threads");
            assert!(traces.insert(trace.unwrap()));
        }
        assert_eq!(new_ids(false).0, None);
    }

    #[test]
    fn the_bits_of_the_ids_are_balanced() {
        // Each of the 64 bits of the span ids is set in about half of them.
        let n = 20_000u32;
        let mut ones = [0u32; 64];
        for _ in 0..n {
            let id = u64::from_be_bytes(new_ids(false).1.to_bytes());
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += u32::from((id >> bit) & 1 == 1);
            }
        }
        for count in ones {
            assert!((9_000..11_000).contains(&count), "{count} of {n}");
        }
    }
}
