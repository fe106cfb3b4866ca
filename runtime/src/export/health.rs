//! What a person reading stderr learns about one exporter: the first failure
//! with its endpoint and cause, then at most one summary a minute while it keeps
//! failing (with how many items are queued for retry and how many were
//! dropped), one line when it works again, and at shutdown, when anything went
//! wrong, one line with what was exported, retried and dropped.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a failing exporter's summary line may be printed.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// The export health of one exporter (one signal to one endpoint).
#[derive(Debug)]
pub(crate) struct Health {
    /// `traces`, `metrics` or `logs`.
    signal: &'static str,
    endpoint: String,
    /// Said after a connection-level gRPC failure (`transport error`), when
    /// the cause may not show in the error itself.
    hint: Option<String>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// What the transport saw of the failure in flight, more precise than the
    /// exporter's own error (set by the HTTP client, taken by the next report).
    detail: Option<String>,
    /// Failures since the last success.
    failing: u64,
    /// Failures since the last line printed, and when that was.
    unreported: u64,
    last_line: Option<Instant>,
    last_cause: String,
    tally: Tally,
}

/// What became of the items (spans, log records or metric data points) handed
/// to one exporter's retry queue.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Items the collector took.
    pub(crate) exported: u64,
    /// Attempts that failed and were kept for another.
    pub(crate) retried: u64,
    /// Items in the retry queue now.
    pub(crate) queued: u64,
    /// Items dropped: the queue was full, the retry window passed, or the
    /// collector refused them for good.
    pub(crate) dropped: u64,
}

impl Health {
    pub(crate) fn new(signal: &'static str, endpoint: &str) -> Self {
        Health {
            signal,
            endpoint: endpoint.to_owned(),
            hint: None,
            state: Mutex::new(State::default()),
        }
    }

    /// The same, with a hint said after a connection-level gRPC failure.
    pub(crate) fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// `traces`, `metrics` or `logs`.
    pub(crate) fn signal(&self) -> &'static str {
        self.signal
    }

    /// Where the exporter sends.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Updates what became of the exporter's items.
    pub(crate) fn count(&self, change: impl FnOnce(&mut Tally)) {
        change(&mut self.lock().tally);
    }

    /// What became of the exporter's items so far.
    pub(crate) fn tally(&self) -> Tally {
        self.lock().tally
    }

    /// `n` items of this signal: `3,072 spans`, `1 log record`.
    fn items(&self, n: u64) -> String {
        let (one, many) = match self.signal {
            "traces" => ("span", "spans"),
            "logs" => ("log record", "log records"),
            "metrics" => ("metric data point", "metric data points"),
            _ => ("item", "items"),
        };
        format!("{} {}", thousands(n), if n == 1 { one } else { many })
    }

    /// The line said at shutdown: what was exported, retried and dropped, and
    /// what is still queued; none when every export succeeded at once.
    pub(crate) fn shutdown_line(&self) -> Option<String> {
        let t = self.tally();
        if t.retried == 0 && t.dropped == 0 && t.queued == 0 {
            return None;
        }
        let mut line = format!(
            "{}: {} exported to {}, {} failed export{} retried, {} dropped",
            self.signal,
            self.items(t.exported),
            self.endpoint,
            thousands(t.retried),
            plural(t.retried),
            self.items(t.dropped)
        );
        if t.queued > 0 {
            line.push_str(&format!(", {} not delivered", self.items(t.queued)));
        }
        Some(line)
    }

    /// The transport's account of a failure (connection refused, an HTTP status
    /// with the start of the body), used by the report that follows.
    pub(crate) fn note(&self, detail: String) {
        self.lock().detail = Some(detail);
    }

    /// Reports the outcome of one export; `error` is the exporter's own message.
    pub(crate) fn record(&self, error: Option<&dyn std::fmt::Display>) {
        if let Some(line) = self.line(error, Instant::now()) {
            eprintln!("traced: {line}");
        }
    }

    /// The line to print for this outcome, if any.
    fn line(&self, error: Option<&dyn std::fmt::Display>, now: Instant) -> Option<String> {
        let mut s = self.lock();
        let (signal, endpoint) = (self.signal, &self.endpoint);
        let Some(error) = error else {
            s.detail = None;
            if s.failing == 0 {
                return None;
            }
            let failed = std::mem::take(&mut s.failing);
            s.unreported = 0;
            s.last_line = None;
            let t = s.tally;
            drop(s);
            return Some(format!(
                "{signal}: export to {endpoint} works again (after {failed} failed export{}; \
                 {} queued, {} dropped so far)",
                plural(failed),
                self.items(t.queued),
                thousands(t.dropped)
            ));
        };
        let mut cause = match s.detail.take() {
            Some(detail) => format!("{detail} ({error})"),
            None => error.to_string(),
        };
        if let Some(hint) = self
            .hint
            .as_deref()
            .filter(|_| cause.contains("transport error"))
        {
            cause.push_str(&format!(" ({hint})"));
        }
        s.failing += 1;
        s.unreported += 1;
        s.last_cause = cause;
        if s.failing == 1 {
            s.unreported = 0;
            s.last_line = Some(now);
            return Some(format!(
                "{signal}: export to {endpoint} failed: {} (one summary a minute while it keeps failing)",
                s.last_cause
            ));
        }
        if s.last_line
            .is_some_and(|at| now.duration_since(at) < SUMMARY_EVERY)
        {
            return None;
        }
        let n = std::mem::take(&mut s.unreported);
        s.last_line = Some(now);
        let (t, failing, cause) = (s.tally, s.failing, s.last_cause.clone());
        drop(s);
        Some(format!(
            "{signal}: {n} more export{} to {endpoint} failed in the last {}s ({failing} in a row); \
             {} queued for retry, {} dropped; the last with: {cause}",
            plural(n),
            SUMMARY_EVERY.as_secs(),
            self.items(t.queued),
            thousands(t.dropped)
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `n` with a comma between thousands: `3,072`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A transport error with its causes: `error sending request: client error
/// (Connect): tcp connect error: Connection refused (os error 111)`.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_summaries_and_recovery() {
        let h = Health::new("traces", "http://127.0.0.1:4318/v1/traces");
        let t0 = Instant::now();
        assert_eq!(h.line(None, t0), None, "nothing to say while it works");
        h.note("POST http://127.0.0.1:4318/v1/traces: connection refused".into());
        let first = h
            .line(Some(&"HTTP export failed: network error"), t0)
            .unwrap();
        assert_eq!(
            first,
            "traces: export to http://127.0.0.1:4318/v1/traces failed: POST http://127.0.0.1:4318/v1/traces: connection refused (HTTP export failed: network error) (one summary a minute while it keeps failing)"
        );
        for i in 1..=5 {
            assert_eq!(
                h.line(Some(&"timed out"), t0 + Duration::from_secs(i)),
                None
            );
        }
        h.count(|t| {
            t.queued = 3072;
            t.dropped = 0;
        });
        let summary = h
            .line(Some(&"timed out"), t0 + Duration::from_secs(61))
            .unwrap();
        assert_eq!(
            summary,
            "traces: 6 more exports to http://127.0.0.1:4318/v1/traces failed in the last 60s (7 in a row); 3,072 spans queued for retry, 0 dropped; the last with: timed out"
        );
        h.count(|t| t.dropped = 1);
        let back = h.line(None, t0 + Duration::from_secs(62)).unwrap();
        assert_eq!(
            back,
            "traces: export to http://127.0.0.1:4318/v1/traces works again (after 7 failed exports; 3,072 spans queued, 1 dropped so far)"
        );
        assert!(
            h.line(Some(&"refused"), t0 + Duration::from_secs(63))
                .unwrap()
                .contains("failed: refused"),
            "a new outage is reported at once"
        );
    }

    #[test]
    fn shutdown_line_says_what_was_exported_retried_and_dropped() {
        let h = Health::new("logs", "http://127.0.0.1:4318/v1/logs");
        h.count(|t| t.exported = 7000);
        assert_eq!(h.shutdown_line(), None, "nothing to say when all went well");
        h.count(|t| t.retried = 26);
        assert_eq!(
            h.shutdown_line().unwrap(),
            "logs: 7,000 log records exported to http://127.0.0.1:4318/v1/logs, 26 failed exports retried, 0 log records dropped"
        );
        h.count(|t| {
            t.dropped = 1;
            t.queued = 1_234_567;
        });
        assert_eq!(
            h.shutdown_line().unwrap(),
            "logs: 7,000 log records exported to http://127.0.0.1:4318/v1/logs, 26 failed exports retried, 1 log record dropped, 1,234,567 log records not delivered"
        );
    }

    #[test]
    fn thousands_are_separated() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (3072, "3,072"),
            (1_000_000, "1,000,000"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }
}
