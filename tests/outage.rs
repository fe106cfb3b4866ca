//! Nothing is lost when the collector goes away for 5 seconds in the middle of a
//! run at 1,000 spans, 1,000 log records and 1,000 counter increments a
//! second, over OTLP/HTTP: whether its port refuses connections, it answers
//! 503, or it accepts and never answers. A collector stand-in on 127.0.0.1
//! decodes what it takes (`opentelemetry-proto`), counts every span and log
//! record by the attribute that numbers it, and adds up the counter's delta
//! points. What cannot be asserted on a loaded machine (the application's cost
//! per call before, during and after the outage, p99 and slowest) is printed;
//! that no call waited as long as an export may is asserted.
#![cfg(all(feature = "enabled", feature = "log"))]

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as ProtoValue;
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use prost::Message;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use traced::traced;

const UP: u8 = 0;
const REFUSING: u8 = 1;
const UNAVAILABLE: u8 = 2;
const HANGING: u8 = 3;

/// What the stand-in took: spans and log records by their number, the sum of
/// the counter's delta points.
#[derive(Default)]
struct Seen {
    spans: HashSet<i64>,
    logs: HashSet<i64>,
    ticks: i64,
}

/// The stand-in: a plain HTTP/1.1 server for `POST /v1/{traces,logs,metrics}`.
struct Collector {
    port: u16,
    mode: Arc<AtomicU8>,
    seen: Arc<Mutex<Seen>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(UP));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (m, s) = (Arc::clone(&mode), Arc::clone(&seen));
        thread::spawn(move || accept_loop(listener, port, &m, &s));
        Collector { port, mode, seen }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    /// Spans, log records and counted ticks received so far.
    fn seen(&self) -> (usize, usize, i64) {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        (seen.spans.len(), seen.logs.len(), seen.ticks)
    }
}

/// Accepts while up; closes the port while refusing (and binds it again after).
/// Ends with the test process (bounded by the test's own deadline).
fn accept_loop(listener: TcpListener, port: u16, mode: &Arc<AtomicU8>, seen: &Arc<Mutex<Seen>>) {
    let mut listener = Some(listener);
    loop {
        if mode.load(Ordering::SeqCst) == REFUSING {
            listener = None;
            thread::sleep(Duration::from_millis(5));
            continue;
        }
        let l = listener
            .get_or_insert_with(|| TcpListener::bind(("127.0.0.1", port)).expect("the port again"));
        l.set_nonblocking(true).unwrap();
        match l.accept() {
            Ok((stream, _)) => {
                let (m, s) = (Arc::clone(mode), Arc::clone(seen));
                thread::spawn(move || serve(stream, &m, &s));
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Serves the requests of one connection.
fn serve(stream: TcpStream, mode: &AtomicU8, seen: &Mutex<Seen>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        match mode.load(Ordering::SeqCst) {
            // The port is closed: a connection from before is reset.
            REFUSING => return,
            UNAVAILABLE => {
                let text = "overloaded";
                let _ = write!(
                    writer,
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\n\r\n{text}",
                    text.len()
                );
            }
            HANGING => {
                // Takes the request, never answers, drops nothing on the floor
                // silently: it is not counted, the client must send it again.
                while mode.load(Ordering::SeqCst) == HANGING {
                    thread::sleep(Duration::from_millis(10));
                }
                return;
            }
            _ => {
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                take(&path, &body, &mut seen);
                drop(seen);
                let _ = write!(
                    writer,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
                );
            }
        }
    }
}

/// The number in a `tick` attribute, if there is one.
fn tick_of(attributes: &[ProtoKeyValue]) -> Option<i64> {
    attributes
        .iter()
        .find(|kv| kv.key == "tick")
        .and_then(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(ProtoValue::IntValue(i)) => Some(*i),
                _ => None,
            },
        )
}

/// Counts what one answered request carried.
fn take(path: &str, body: &[u8], seen: &mut Seen) {
    match path {
        "/v1/traces" => {
            let request = ExportTraceServiceRequest::decode(body).unwrap();
            for rs in request.resource_spans {
                for ss in rs.scope_spans {
                    seen.spans
                        .extend(ss.spans.iter().filter_map(|s| tick_of(&s.attributes)));
                }
            }
        }
        "/v1/logs" => {
            let request = ExportLogsServiceRequest::decode(body).unwrap();
            for rl in request.resource_logs {
                for sl in rl.scope_logs {
                    seen.logs
                        .extend(sl.log_records.iter().filter_map(|r| tick_of(&r.attributes)));
                }
            }
        }
        "/v1/metrics" => {
            let request = ExportMetricsServiceRequest::decode(body).unwrap();
            for rm in request.resource_metrics {
                for sm in rm.scope_metrics {
                    for metric in sm.metrics.iter().filter(|m| m.name == "ticks") {
                        if let Some(Data::Sum(sum)) = &metric.data {
                            for point in &sum.data_points {
                                if let Some(number_data_point::Value::AsInt(v)) = point.value {
                                    seen.ticks += v;
                                }
                            }
                        }
                    }
                }
            }
        }
        other => panic!("unexpected request for {other}"),
    }
}

#[traced(attrs(tick = i))]
fn tick(i: i64, ticks: &opentelemetry::metrics::Counter<u64>) -> i64 {
    log::info!(tick = i; "tick");
    ticks.add(1, &[]);
    i
}

/// One run: 1 s up, 5 s in `outage`, 1 s up, one span a millisecond; then the
/// guard is dropped and every span must have arrived.
fn nothing_lost(outage: u8, what: &str) {
    // The tracer provider is global: runs take turns.
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let collector = Collector::start();
    let guard = traced::Builder::new()
        .ignore_env()
        .setting(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", collector.port),
        )
        .setting("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
        .setting("OTEL_BSP_SCHEDULE_DELAY", "200")
        .setting("OTEL_BLRP_SCHEDULE_DELAY", "200")
        .setting("OTEL_METRIC_EXPORT_INTERVAL", "200")
        // Delta points: an export lost is a loss the sum shows.
        .setting("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
        .traces_exporters([traced::TracesExporter::Otlp])
        .metrics_exporters([traced::MetricsExporter::Otlp])
        .logs_exporters([traced::LogsExporter::Otlp])
        .init();
    let ticks = opentelemetry::global::meter("outage")
        .u64_counter("ticks")
        .build();
    let start = Instant::now();
    let mut made = 0i64;
    // The cost of each call on the calling thread, before, during and after.
    let mut costs: [Vec<Duration>; 3] = Default::default();
    while start.elapsed() < Duration::from_secs(7) {
        let t = start.elapsed();
        let phase = if t < Duration::from_secs(1) {
            0
        } else if t < Duration::from_secs(6) {
            1
        } else {
            2
        };
        collector.set(if phase == 1 { outage } else { UP });
        let before = Instant::now();
        tick(made, &ticks);
        costs[phase].push(before.elapsed());
        made += 1;
        thread::sleep(Duration::from_millis(1));
    }
    collector.set(UP);
    let dropped_at = Instant::now();
    drop(guard);
    let drop_took = dropped_at.elapsed();
    let everything = (made as usize, made as usize, made);
    let deadline = Instant::now() + Duration::from_secs(20);
    while collector.seen() != everything && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let [up, down, again] = costs.map(|mut c| {
        c.sort();
        (c[c.len() * 99 / 100], c[c.len() - 1])
    });
    let (spans, logs, counted) = collector.seen();
    println!(
        "{what}: {made} calls made; received {spans} spans, {logs} log records, a counter of \
         {counted}; per call p99 (slowest) before the outage {:?} ({:?}), during it {:?} \
         ({:?}), after it {:?} ({:?}); guard dropped in {drop_took:?}",
        up.0, up.1, down.0, down.1, again.0, again.1
    );
    assert_eq!(spans, made as usize, "{what}: spans lost");
    assert_eq!(logs, made as usize, "{what}: log records lost");
    assert_eq!(
        counted, made,
        "{what}: counter increments lost (delta points)"
    );
    // No call waited on the network: none took as long as one export may
    // (the export timeout, 2 s), which a call blocked on the outage would.
    let slowest = up.1.max(down.1).max(again.1);
    assert!(
        slowest < Duration::from_secs(2),
        "{what}: a call took {slowest:?}"
    );
    assert!(
        drop_took < Duration::from_secs(6),
        "{what}: the guard took {drop_took:?}"
    );
}

#[test]
fn nothing_is_lost_when_the_port_refuses_for_5_seconds() {
    nothing_lost(REFUSING, "refused");
}

#[test]
fn nothing_is_lost_when_the_collector_answers_503_for_5_seconds() {
    nothing_lost(UNAVAILABLE, "503");
}

#[test]
fn nothing_is_lost_when_the_collector_hangs_for_5_seconds() {
    nothing_lost(HANGING, "hanging");
}
