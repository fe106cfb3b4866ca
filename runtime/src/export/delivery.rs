//! Delivery of OTLP requests with a bounded retry queue, so that a collector
//! that goes away for a while (a restart, a deploy, an overload) loses nothing.
//!
//! The HTTP exporters hand every encoded request to [`Delivery::submit`], the
//! gRPC ones every message to [`Delivery::submit_attempt`]; both queue it and
//! answer at once: the batch processors never wait on the network, whether the
//! collector answers, refuses or hangs. One task on the export runtime sends the
//! queue in order. A retryable failure (connection refused or reset, no answer
//! within the timeout, HTTP 429, 502, 503 or 504; gRPC `UNAVAILABLE`,
//! `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `DATA_LOSS`, or
//! a transport failure whatever its code) is
//! retried with exponential backoff and jitter, no sooner than a `Retry-After`
//! (seconds or an HTTP date) or a gRPC `google.rpc.RetryInfo` asks; `RESOURCE_EXHAUSTED` is
//! retried only with a `RetryInfo` (the server says it can recover); any other
//! answer is final. A request still failing
//! `max_elapsed` after it was queued, one whose server asks for a wait that
//! would end past that window (it would hold every request behind it), or one
//! that finds the queue full
//! (`max_requests`, `max_bytes`), is dropped and counted. Flushing and shutting
//! down try the queue once more at once (no sooner than the server asked) and
//! wait for it within their bound,
//! until an attempt fails: what is still queued then is said (and, at shutdown,
//! lost when the process exits).
//!
//! Every request counts the items it carries (spans, log records or metric
//! data points: the export that submits it runs under [`carrying`]), so that
//! the health lines say how many are queued and dropped, and the shutdown says
//! what was exported, retried and dropped ([`shutdown_lines`]).
//!
//! The same counts go to the SDK self-diagnostics of the OpenTelemetry
//! semantic conventions, on the meter `otel.sdk` of the global provider:
//! `otel.sdk.exporter.{span,log,metric_data_point}.exported` counts each item
//! once, when its export is finished (not at a failed attempt that is retried),
//! with an `error.type` for the dropped ones: `queue_full` (the retry queue is
//! full), `timeout` (the retry window passed, or the server asks for a wait past
//! it) or `rejected` (an answer that is not retried); and
//! `otel.sdk.exporter.{span,log,metric_data_point}.inflight` the items queued.
//! Both carry `otel.component.type` (`otlp_http_span_exporter`,
//! `otlp_grpc_log_exporter`, ...), `otel.component.name` and the endpoint's
//! `server.address` and `server.port`.

use super::health::{chain, Health};
use opentelemetry_http::{Bytes, HttpClient, Request, Response};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

pub(crate) use crate::settings::RetrySettings;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One attempt at sending a queued request, as often as it takes.
pub(crate) type Attempt =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// One queued request: how to send it again, its size, the items it carries.
struct Pending {
    attempt: Attempt,
    bytes: usize,
    items: u64,
    since: Instant,
}

tokio::task_local! {
    /// How many items the export in flight carries.
    static ITEMS: u64;
}

/// Runs `export`, an export of `items` spans, log records or metric data
/// points, so that the requests it submits count them.
pub(crate) async fn carrying<F: Future>(items: usize, export: F) -> F::Output {
    ITEMS.scope(items as u64, export).await
}

/// The items of the export in flight (none outside [`carrying`]).
fn items_in_flight() -> u64 {
    ITEMS.try_with(|n| *n).unwrap_or(0)
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Pending>,
    bytes: usize,
    /// Flushes waiting: retry at once.
    draining: usize,
    /// An attempt failed while a flush waited: the collector is not taking
    /// requests now, so the flush stops waiting.
    failed_while_draining: bool,
    dropped: u64,
}

/// One exporter's delivery: its queue, its sender task, its health.
pub(crate) struct Delivery {
    /// The HTTP client of [`submit`](Self::submit) (none for gRPC).
    client: Option<Arc<dyn HttpClient>>,
    timeout: Duration,
    settings: RetrySettings,
    health: Arc<Health>,
    queue: Mutex<Queue>,
    wake: tokio::sync::Notify,
    /// Its self-diagnostics, made at first use (by then `init` has set the
    /// global meter provider, also for the metric exporter's own delivery).
    diagnostics: std::sync::OnceLock<Diagnostics>,
}

/// The SDK self-diagnostics of one exporter (see the module documentation).
struct Diagnostics {
    exported: opentelemetry::metrics::Counter<u64>,
    inflight: opentelemetry::metrics::UpDownCounter<i64>,
    attributes: Vec<opentelemetry::KeyValue>,
}

impl Diagnostics {
    /// The instruments of an exporter of `signal` over HTTP (`http`) or gRPC
    /// to `endpoint`, made with `meter`.
    fn new(
        meter: &opentelemetry::metrics::Meter,
        signal: &str,
        http: bool,
        endpoint: &str,
    ) -> Self {
        use opentelemetry::KeyValue;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let (item, unit) = match signal {
            "traces" => ("span", "{span}"),
            "logs" => ("log", "{log_record}"),
            _ => ("metric_data_point", "{data_point}"),
        };
        let kind = match signal {
            "traces" => "span",
            "logs" => "log",
            _ => "metric",
        };
        let component = format!(
            "otlp_{}_{kind}_exporter",
            if http { "http" } else { "grpc" }
        );
        let name = format!("{component}/{}", INSTANCES.fetch_add(1, Ordering::Relaxed));
        let mut attributes = vec![
            KeyValue::new("otel.component.type", component),
            KeyValue::new("otel.component.name", name),
        ];
        if let Ok(uri) = endpoint.parse::<http::Uri>() {
            if let Some(host) = uri.host() {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                attributes.push(KeyValue::new("server.address", host.to_owned()));
            }
            let port = uri.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
            if let Some(port) = port {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
        }
        Diagnostics {
            exported: meter
                .u64_counter(format!("otel.sdk.exporter.{item}.exported"))
                .with_unit(unit)
                .with_description(format!(
                    "The number of {unit} items for which the export has finished, either successful or failed"
                ))
                .build(),
            inflight: meter
                .i64_up_down_counter(format!("otel.sdk.exporter.{item}.inflight"))
                .with_unit(unit)
                .with_description(format!(
                    "The number of {unit} items passed to the exporter that are not exported yet"
                ))
                .build(),
            attributes,
        }
    }

    /// `items` finished: exported, or dropped for `error_type`.
    fn finished(&self, items: u64, error_type: Option<&'static str>) {
        match error_type {
            None => self.exported.add(items, &self.attributes),
            Some(error) => {
                let mut attributes = self.attributes.clone();
                attributes.push(opentelemetry::KeyValue::new("error.type", error));
                self.exported.add(items, &attributes);
            }
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.lock();
        f.debug_struct("Delivery")
            .field("queued", &q.items.len())
            .field("bytes", &q.bytes)
            .field("dropped", &q.dropped)
            .finish_non_exhaustive()
    }
}

/// Every live delivery, so that a flush of the guard can wait for them.
static LIVE: Mutex<Vec<Weak<Delivery>>> = Mutex::new(Vec::new());

/// The health of every delivery started since the last shutdown, for its line.
static STARTED: Mutex<Vec<Arc<Health>>> = Mutex::new(Vec::new());

impl Delivery {
    /// A delivery sending with `client` (HTTP; `None` for the attempts of
    /// gRPC exporters), each attempt bounded by `timeout`; its sender runs on
    /// `handle` for as long as the delivery lives.
    pub(crate) fn start(
        client: Option<Box<dyn HttpClient>>,
        timeout: Duration,
        settings: RetrySettings,
        health: Arc<Health>,
        handle: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let delivery = Arc::new(Delivery {
            client: client.map(Arc::from),
            timeout,
            settings,
            health,
            queue: Mutex::new(Queue::default()),
            wake: tokio::sync::Notify::new(),
            diagnostics: std::sync::OnceLock::new(),
        });
        handle.spawn(sender(Arc::clone(&delivery)));
        STARTED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&delivery.health));
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|d| d.strong_count() > 0);
        live.push(Arc::downgrade(&delivery));
        delivery
    }

    fn diagnostics(&self) -> &Diagnostics {
        self.diagnostics.get_or_init(|| {
            Diagnostics::new(
                &opentelemetry::global::meter("otel.sdk"),
                self.health.signal(),
                self.client.is_some(),
                self.health.endpoint(),
            )
        })
    }

    /// `items` queued.
    fn queued(&self, items: u64) {
        self.health.count(|t| t.queued += items);
        let d = self.diagnostics();
        d.inflight.add(items as i64, &d.attributes);
    }

    /// `items` that were queued are no longer: exported, or dropped for
    /// `error_type`.
    fn unqueued(&self, items: u64, error_type: Option<&'static str>) {
        self.health.count(|t| {
            t.queued -= items;
            match error_type {
                None => t.exported += items,
                Some(_) => t.dropped += items,
            }
        });
        let d = self.diagnostics();
        d.inflight.add(-(items as i64), &d.attributes);
        d.finished(items, error_type);
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `request` and answers at once as the collector would on success;
    /// drops it when the queue is full (counted and said).
    pub(crate) fn submit(&self, request: Request<Bytes>) -> Result<Response<Bytes>, String> {
        let Some(client) = self.client.clone() else {
            return Err("no HTTP client for this delivery".into());
        };
        let (parts, body) = request.into_parts();
        let bytes = body.len();
        let timeout = self.timeout;
        let attempt: Attempt = Box::new(move || {
            let mut request = Request::new(body.clone());
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.headers_mut() = parts.headers.clone();
            let target = format!("{} {}", parts.method, parts.uri);
            let client = Arc::clone(&client);
            Box::pin(async move {
                let result = match tokio::time::timeout(timeout, client.send_bytes(request)).await {
                    Ok(Ok(response)) => Ok(response),
                    Ok(Err(e)) => Err(chain(&*e)),
                    Err(_) => Err(format!("no answer within {timeout:?}")),
                };
                outcome(&target, result)
            })
        });
        self.submit_attempt(bytes, attempt)?;
        // What the exporter reads as success: an empty Export*ServiceResponse.
        Ok(Response::new(Bytes::new()))
    }

    /// Queues a request of `bytes` that `attempt` sends, and answers at once;
    /// drops it when the queue is full (counted and said).
    pub(crate) fn submit_attempt(&self, bytes: usize, attempt: Attempt) -> Result<(), String> {
        let items = items_in_flight();
        let mut q = self.lock();
        let full = q.items.len() >= self.settings.max_requests
            || q.bytes + bytes > self.settings.max_bytes;
        if full {
            q.dropped += 1;
            let (n, queued) = (q.items.len(), q.bytes);
            drop(q);
            self.health.count(|t| t.dropped += items);
            self.diagnostics().finished(items, Some("queue_full"));
            let why = format!(
                "the retry queue is full ({n} requests, {queued} bytes): a batch of {bytes} bytes is dropped"
            );
            self.health.note(why.clone());
            self.health.record(Some(&"dropped"));
            return Err(why);
        }
        q.bytes += bytes;
        let idle = q.items.is_empty();
        q.items.push_back(Pending {
            attempt,
            bytes,
            items,
            since: Instant::now(),
        });
        drop(q);
        self.queued(items);
        // Only an idle sender is woken: one waiting out a backoff keeps it (a
        // new batch does not make the collector any readier).
        if idle {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The bound of one attempt.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Tries the queue once more at once and waits until it is sent, at most
    /// `timeout`; stops waiting when an attempt fails (the collector is not
    /// taking requests now: they stay queued). The error says what is left.
    pub(crate) fn drain(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        {
            let mut q = self.lock();
            q.draining += 1;
            q.failed_while_draining = false;
        }
        self.wake.notify_one();
        let result = loop {
            let (n, bytes, failed) = {
                let q = self.lock();
                (q.items.len(), q.bytes, q.failed_while_draining)
            };
            if n == 0 {
                break Ok(());
            }
            if failed {
                break Err(format!(
                    "{}: {} not delivered to {}: the collector is not taking them",
                    self.health.signal(),
                    requests(n, bytes),
                    self.health.endpoint()
                ));
            }
            if Instant::now() >= deadline {
                break Err(format!(
                    "{}: {} not delivered to {} within {timeout:?}",
                    self.health.signal(),
                    requests(n, bytes),
                    self.health.endpoint()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.lock().draining -= 1;
        result
    }

    /// How many requests were dropped so far.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Takes the front request off the queue: exported, or dropped for
    /// `error_type`.
    fn pop(&self, error_type: Option<&'static str>) {
        let mut q = self.lock();
        let Some(front) = q.items.pop_front() else {
            return;
        };
        q.bytes -= front.bytes;
        if error_type.is_some() {
            q.dropped += 1;
        }
        drop(q);
        self.unqueued(front.items, error_type);
    }

    /// Tells a flush waiting in [`Delivery::drain`] that an attempt failed.
    fn failed_while_draining(&self) {
        let mut q = self.lock();
        if q.draining > 0 {
            q.failed_while_draining = true;
        }
    }
}

fn requests(n: usize, bytes: usize) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} request{s} ({bytes} bytes)")
}

/// At shutdown, for each delivery started since the last shutdown where
/// anything went wrong: what it exported, retried and dropped, and what is
/// still queued (see [`Health::shutdown_line`]). Those deliveries are not said
/// again.
pub(crate) fn shutdown_lines() -> Vec<String> {
    let started = std::mem::take(&mut *STARTED.lock().unwrap_or_else(PoisonError::into_inner));
    started.iter().filter_map(|h| h.shutdown_line()).collect()
}

/// Waits for every live delivery to send its queue, within `timeout` in all.
pub(crate) fn drain_all(timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let live: Vec<Arc<Delivery>> = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut problems = Vec::new();
    for delivery in live {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Err(e) = delivery.drain(left) {
            problems.push(e);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// What became of one attempt.
pub(crate) enum Outcome {
    Delivered,
    /// Worth another try, no sooner than the delay the server asked for.
    Retry(String, Option<Duration>),
    Final(String),
}

fn outcome(target: &str, result: Result<Response<Bytes>, String>) -> Outcome {
    let response = match result {
        Ok(response) => response,
        Err(e) => return Outcome::Retry(format!("{target}: {e}"), None),
    };
    let status = response.status();
    if status.is_success() {
        return Outcome::Delivered;
    }
    let body = String::from_utf8_lossy(response.body());
    let start: String = body
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let start = start.trim();
    let detail = if start.is_empty() {
        format!("{target}: HTTP {status}")
    } else {
        format!("{target}: HTTP {status}: {start:?}")
    };
    match status.as_u16() {
        429 | 502 | 503 | 504 => {
            let after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, std::time::SystemTime::now()));
            Outcome::Retry(detail, after)
        }
        _ => Outcome::Final(format!("{detail} (not retried)")),
    }
}

/// The wait a `Retry-After` value asks for at `now` (RFC 9110: `delay-seconds`
/// or an `HTTP-date`; a date already past asks for none); `None` when it is
/// neither.
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What became of a gRPC attempt (`target` names the call in messages): the
/// OTLP specification's retryable codes are retried, no sooner than the delay
/// of a `google.rpc.RetryInfo` the server sent, `RESOURCE_EXHAUSTED` only with
/// one; others are final.
pub(crate) fn grpc_outcome(target: &str, result: Result<(), tonic::Status>) -> Outcome {
    use super::otlp_grpc::{describe, retry_delay, retryable};
    match result {
        Ok(()) => Outcome::Delivered,
        Err(status) => {
            let asked = retry_delay(&status);
            let detail = format!("{target}: {}", describe(&status, asked));
            if retryable(&status, asked.is_some()) {
                Outcome::Retry(detail, asked)
            } else if status.code() == tonic::Code::ResourceExhausted {
                Outcome::Final(format!(
                    "{detail} (not retried: the server sent no RetryInfo, so it cannot say it will recover)"
                ))
            } else {
                Outcome::Final(format!("{detail} (not retried)"))
            }
        }
    }
}

/// A pseudo-random factor in [0.8, 1.2) for jitter (no cryptography needed).
fn jitter(seed: &mut u64) -> f64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    0.8 + (*seed % 1000) as f64 / 2500.0
}

/// Sends the queue in order, until it is empty and the exporter that owns the
/// delivery is gone.
async fn sender(d: Arc<Delivery>) {
    let mut backoff = FIRST_BACKOFF;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    loop {
        let next = d.lock().items.front().map(|f| ((f.attempt)(), f.since));
        // The exporter that owns the delivery is gone (its batch processor shut
        // down): what it left is still delivered, within the retry window.
        if next.is_none() && Arc::strong_count(&d) == 1 {
            return;
        }
        let Some((attempt, since)) = next else {
            // Woken by a submit to the empty queue or a drain; a dropped owner
            // ends the task within a second.
            let _ = tokio::time::timeout(Duration::from_secs(1), d.wake.notified()).await;
            continue;
        };
        let (delay, asked) = match attempt.await {
            Outcome::Delivered => {
                d.pop(None);
                backoff = FIRST_BACKOFF;
                d.health.record(None);
                continue;
            }
            Outcome::Final(detail) => {
                d.pop(Some("rejected"));
                d.health.note(detail);
                d.health.record(Some(&"the batch is dropped"));
                continue;
            }
            Outcome::Retry(detail, after) => {
                d.health.note(detail);
                if since.elapsed() >= d.settings.max_elapsed {
                    d.pop(Some("timeout"));
                    let why = format!(
                        "still failing after {:?} of retries, the batch is dropped",
                        d.settings.max_elapsed
                    );
                    d.health.record(Some(&why));
                    d.failed_while_draining();
                    continue;
                }
                let asked = after.unwrap_or_default();
                // A server asking for a wait past the retry window would only
                // hold every batch behind this one: the batch is dropped now.
                if since.elapsed() + asked > d.settings.max_elapsed {
                    d.pop(Some("timeout"));
                    let why = format!(
                        "the server asks to retry in {asked:?}, past the {:?} retry window: the batch is dropped",
                        d.settings.max_elapsed
                    );
                    d.health.record(Some(&why));
                    d.failed_while_draining();
                    continue;
                }
                d.health.count(|t| t.retried += 1);
                d.health.record(Some(&"kept for retry"));
                // Only after the failure line is out: a flush that stops
                // waiting on this ends the program's account with it.
                d.failed_while_draining();
                let delay = backoff.mul_f64(jitter(&mut seed)).max(asked);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                (delay, asked)
            }
        };
        // Never sooner than the server asked, even for a flush; then a flush
        // waiting retries sooner.
        tokio::time::sleep(asked).await;
        let wait = if d.lock().draining > 0 {
            Duration::from_millis(50)
        } else {
            delay.saturating_sub(asked)
        };
        let _ = tokio::time::timeout(wait, d.wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(code: u16, retry_after: Option<&str>) -> Result<Response<Bytes>, String> {
        let mut r = Response::new(Bytes::from_static(b"busy"));
        *r.status_mut() = http::StatusCode::from_u16(code).unwrap();
        if let Some(v) = retry_after {
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, v.parse().unwrap());
        }
        Ok(r)
    }

    #[test]
    fn outcomes_follow_the_otlp_retry_rules() {
        assert!(matches!(
            outcome("t", response(200, None)),
            Outcome::Delivered
        ));
        for code in [429, 502, 503, 504] {
            assert!(
                matches!(outcome("t", response(code, None)), Outcome::Retry(..)),
                "{code}"
            );
        }
        for code in [400, 401, 404, 413, 500] {
            assert!(
                matches!(outcome("t", response(code, None)), Outcome::Final(_)),
                "{code}"
            );
        }
        match outcome("POST u", response(503, Some("3"))) {
            Outcome::Retry(detail, after) => {
                assert_eq!(after, Some(Duration::from_secs(3)));
                assert_eq!(detail, "POST u: HTTP 503 Service Unavailable: \"busy\"");
            }
            _ => panic!("503 is retried"),
        }
        assert!(matches!(
            outcome("t", Err("refused".into())),
            Outcome::Retry(_, None)
        ));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let date = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let before = date - Duration::from_secs(90);
        for value in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                retry_after(value, before),
                Some(Duration::from_secs(90)),
                "{value}"
            );
        }
        assert_eq!(
            retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                date + Duration::from_secs(5)
            ),
            Some(Duration::ZERO),
            "a date past asks for no wait"
        );
        assert_eq!(retry_after(" 120 ", before), Some(Duration::from_secs(120)));
        for bad in ["soon", "-1", "1.5", ""] {
            assert_eq!(retry_after(bad, before), None, "{bad:?}");
        }
        // Through an answer: a 503 with a date a day ahead waits about a day.
        let tomorrow =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(86_400));
        match outcome("t", response(503, Some(&tomorrow))) {
            Outcome::Retry(_, Some(after)) => assert!(
                after > Duration::from_secs(86_000) && after <= Duration::from_secs(86_400),
                "{after:?}"
            ),
            _ => panic!("503 with a Retry-After date is retried after it"),
        }
    }

    #[test]
    fn grpc_outcomes_follow_the_otlp_retry_and_throttling_rules() {
        use tonic::Code;
        use tonic_types::{ErrorDetails, StatusExt};
        let throttled = |code, delay| {
            Err(tonic::Status::with_error_details(
                code,
                "over quota",
                ErrorDetails::with_retry_info(delay),
            ))
        };
        assert!(matches!(grpc_outcome("t", Ok(())), Outcome::Delivered));
        match grpc_outcome("t", Err(tonic::Status::unavailable("down"))) {
            Outcome::Retry(detail, None) => assert_eq!(detail, "t: UNAVAILABLE: \"down\""),
            _ => panic!("UNAVAILABLE is retried"),
        }
        // RESOURCE_EXHAUSTED: only with a RetryInfo, no sooner than its delay.
        match grpc_outcome("t", Err(tonic::Status::resource_exhausted("over quota"))) {
            Outcome::Final(detail) => assert_eq!(
                detail,
                "t: RESOURCE_EXHAUSTED: \"over quota\" (not retried: the server sent no \
                 RetryInfo, so it cannot say it will recover)"
            ),
            _ => panic!("RESOURCE_EXHAUSTED without RetryInfo is final"),
        }
        let delay = Some(Duration::from_millis(1500));
        match grpc_outcome("t", throttled(Code::ResourceExhausted, delay)) {
            Outcome::Retry(detail, after) => {
                assert_eq!(after, delay);
                assert_eq!(
                    detail,
                    "t: RESOURCE_EXHAUSTED: \"over quota\" (the server asks to retry in 1.5s)"
                );
            }
            _ => panic!("RESOURCE_EXHAUSTED with RetryInfo is retried"),
        }
        // The throttling signal of the OTLP specification: UNAVAILABLE with a
        // RetryInfo; one without a delay asks for none.
        assert!(matches!(
            grpc_outcome("t", throttled(Code::Unavailable, Some(Duration::from_secs(2)))),
            Outcome::Retry(_, Some(d)) if d == Duration::from_secs(2)
        ));
        assert!(matches!(
            grpc_outcome("t", throttled(Code::ResourceExhausted, None)),
            Outcome::Retry(_, Some(Duration::ZERO))
        ));
        for code in [Code::InvalidArgument, Code::Unimplemented, Code::Internal] {
            assert!(
                matches!(
                    grpc_outcome("t", Err(tonic::Status::new(code, "no"))),
                    Outcome::Final(_)
                ),
                "{code:?}"
            );
        }
        // A connection closed in the middle of a call: UNKNOWN from tonic, not
        // from the server, and retried.
        let broken = tonic::Status::from_error(Box::new(std::io::Error::other(
            "stream closed because of a broken pipe",
        )));
        assert_eq!(broken.code(), Code::Unknown);
        match grpc_outcome("t", Err(broken)) {
            Outcome::Retry(detail, None) => assert!(detail.contains("broken pipe"), "{detail}"),
            _ => panic!("a transport failure is retried"),
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = RetrySettings {
            max_elapsed: Duration::from_secs(30),
            max_requests: 2,
            max_bytes: 1 << 20,
        };
        let health = Arc::new(Health::new("traces", "http://127.0.0.1:9/v1/traces"));
        // The runtime is not driven: nothing is sent, the queue only fills.
        let d = Delivery::start(
            Some(Box::new(reqwest::Client::new())),
            Duration::from_secs(1),
            settings,
            health,
            rt.handle(),
        );
        let request = || {
            let mut r = Request::new(Bytes::from_static(b"x"));
            *r.uri_mut() = "http://127.0.0.1:9/v1/traces".parse().unwrap();
            *r.method_mut() = http::Method::POST;
            r
        };
        assert!(d.submit(request()).is_ok());
        assert!(d.submit(request()).is_ok());
        let e = d.submit(request()).unwrap_err();
        assert!(e.contains("the retry queue is full (2 requests"), "{e}");
        assert_eq!(d.dropped(), 1);
        let e = d.drain(Duration::from_millis(20)).unwrap_err();
        assert!(
            e.contains(
                "traces: 2 requests (2 bytes) not delivered to http://127.0.0.1:9/v1/traces within"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_as_well_as_in_requests() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = RetrySettings {
            max_elapsed: Duration::from_secs(30),
            max_requests: 100,
            max_bytes: 10,
        };
        let health = Arc::new(Health::new("traces", "http://127.0.0.1:9/v1/traces"));
        // The runtime is not driven: nothing is sent, the queue only fills.
        let d = Delivery::start(None, Duration::from_secs(1), settings, health, rt.handle());
        let never: fn() -> Attempt = || Box::new(|| Box::pin(async { Outcome::Delivered }));
        assert!(d.submit_attempt(6, never()).is_ok());
        // 6 + 5 bytes are more than 10: dropped, though 2 requests are far below 100.
        let e = d.submit_attempt(5, never()).unwrap_err();
        assert!(
            e.contains(
                "the retry queue is full (1 requests, 6 bytes): a batch of 5 bytes is dropped"
            ),
            "{e}"
        );
        assert_eq!(d.dropped(), 1);
        // What still fits is kept: 6 + 4 bytes are the bound itself.
        assert!(d.submit_attempt(4, never()).is_ok());
        assert!(d.submit_attempt(1, never()).is_err());
        assert_eq!(d.dropped(), 2);
    }

    #[test]
    fn a_retry_delay_past_the_window_drops_the_batch_and_the_queue_goes_on() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let settings = RetrySettings {
            max_elapsed: Duration::from_secs(2),
            max_requests: 8,
            max_bytes: 1 << 20,
        };
        let health = Arc::new(Health::new("traces", "http://127.0.0.1:9/v1/traces"));
        let d = Delivery::start(None, Duration::from_secs(1), settings, health, rt.handle());
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // The first batch is throttled for a minute, far past the 2 s window.
        let throttled: Attempt = Box::new(|| {
            Box::pin(async { Outcome::Retry("throttled".into(), Some(Duration::from_secs(60))) })
        });
        let counter = Arc::clone(&sent);
        let accepted: Attempt = Box::new(move || {
            let counter = Arc::clone(&counter);
            Box::pin(async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Outcome::Delivered
            })
        });
        d.submit_attempt(1, throttled).unwrap();
        d.submit_attempt(1, accepted).unwrap();
        // The batch behind it is delivered at once, not after the minute.
        let deadline = Instant::now() + Duration::from_secs(20);
        while sent.load(std::sync::atomic::Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(d.dropped(), 1);
        assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn items_are_counted_exported_retried_and_dropped() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let settings = RetrySettings {
            max_elapsed: Duration::from_secs(30),
            max_requests: 1,
            max_bytes: 1 << 20,
        };
        let endpoint = "http://127.0.0.1:9/v1/tally";
        let health = Arc::new(Health::new("traces", endpoint));
        let d = Delivery::start(
            None,
            Duration::from_secs(1),
            settings,
            Arc::clone(&health),
            rt.handle(),
        );
        // Its self-diagnostics on a meter provider of the test's own.
        let exporter = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(
                opentelemetry_sdk::metrics::PeriodicReader::builder(exporter.clone()).build(),
            )
            .build();
        let meter = opentelemetry::metrics::MeterProvider::meter(&provider, "otel.sdk");
        assert!(d
            .diagnostics
            .set(Diagnostics::new(&meter, "traces", false, endpoint))
            .is_ok());
        // Fails once, then is taken.
        let tries = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&tries);
        let flaky: Attempt = Box::new(move || {
            let first = counter.fetch_add(1, SeqCst) == 0;
            Box::pin(async move {
                if first {
                    Outcome::Retry("down".into(), None)
                } else {
                    Outcome::Delivered
                }
            })
        });
        let refused: Attempt =
            Box::new(|| Box::pin(async { Outcome::Final("HTTP 400 (not retried)".into()) }));
        let submit = |items: usize, attempt: Attempt| {
            rt.block_on(carrying(items, async { d.submit_attempt(1, attempt) }))
        };
        submit(5, flaky).unwrap();
        // The queue holds one request: a second one now is dropped, its 2 spans counted.
        let never: Attempt = Box::new(|| Box::pin(async { Outcome::Delivered }));
        assert!(submit(2, never).is_err());
        assert_eq!(health.tally().queued, 5);
        let deadline = Instant::now() + Duration::from_secs(20);
        while health.tally().exported < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        submit(3, refused).unwrap();
        while health.tally().dropped < 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            health.tally(),
            crate::export::health::Tally {
                exported: 5,
                retried: 1,
                queued: 0,
                dropped: 5,
            }
        );
        assert_eq!(
            health.shutdown_line().unwrap(),
            format!(
                "traces: 5 spans exported to {endpoint}, 1 failed export retried, 5 spans dropped"
            )
        );
        // Outside an export, a request carries no items.
        assert_eq!(items_in_flight(), 0);
        // The semantic conventions' counters: each span once, when finished.
        provider.force_flush().unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for rm in exporter.get_finished_metrics().unwrap() {
            for metric in rm.scope_metrics().flat_map(|s| s.metrics()) {
                // The exported counter (the inflight one is an i64 sum).
                let opentelemetry_sdk::metrics::data::AggregatedMetrics::U64(
                    opentelemetry_sdk::metrics::data::MetricData::Sum(sum),
                ) = metric.data()
                else {
                    continue;
                };
                for point in sum.data_points() {
                    let attribute = |key: &str| {
                        point
                            .attributes()
                            .find(|kv| kv.key.as_str() == key)
                            .map(|kv| kv.value.to_string())
                    };
                    assert_eq!(
                        attribute("otel.component.type").as_deref(),
                        Some("otlp_grpc_span_exporter")
                    );
                    assert_eq!(attribute("server.address").as_deref(), Some("127.0.0.1"));
                    assert_eq!(attribute("server.port").as_deref(), Some("9"));
                    seen.insert(
                        (metric.name().to_owned(), attribute("error.type")),
                        point.value(),
                    );
                }
            }
        }
        let exported = |error: Option<&str>| {
            seen.get(&(
                "otel.sdk.exporter.span.exported".to_owned(),
                error.map(str::to_owned),
            ))
            .copied()
        };
        assert_eq!(exported(None), Some(5));
        assert_eq!(exported(Some("queue_full")), Some(2));
        assert_eq!(exported(Some("rejected")), Some(3));
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    #[test]
    fn inflight_items_are_counted() {
        let exporter = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(
                opentelemetry_sdk::metrics::PeriodicReader::builder(exporter.clone()).build(),
            )
            .build();
        let meter = opentelemetry::metrics::MeterProvider::meter(&provider, "otel.sdk");
        let d = Diagnostics::new(&meter, "logs", true, "https://collector.example/v1/logs");
        d.inflight.add(7, &d.attributes);
        d.inflight.add(-3, &d.attributes);
        provider.force_flush().unwrap();
        let metrics = exporter.get_finished_metrics().unwrap();
        let metric = metrics
            .iter()
            .flat_map(|rm| rm.scope_metrics())
            .flat_map(|s| s.metrics())
            .find(|m| m.name() == "otel.sdk.exporter.log.inflight")
            .expect("the inflight counter");
        assert_eq!(metric.unit(), "{log_record}");
        let opentelemetry_sdk::metrics::data::AggregatedMetrics::I64(
            opentelemetry_sdk::metrics::data::MetricData::Sum(sum),
        ) = metric.data()
        else {
            panic!("an up-down counter");
        };
        let point = sum.data_points().next().unwrap();
        assert_eq!(point.value(), 4);
        let attributes: Vec<String> = point
            .attributes()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        assert!(attributes.contains(&"otel.component.type=otlp_http_log_exporter".to_owned()));
        assert!(attributes.contains(&"server.address=collector.example".to_owned()));
        assert!(attributes.contains(&"server.port=443".to_owned()));
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        let mut seed = 12345;
        for _ in 0..1000 {
            let j = jitter(&mut seed);
            assert!((0.8..1.2).contains(&j), "{j}");
        }
    }
}
