//! Nothing is lost when the collector goes away for 5 seconds in the middle of a
//! run at 1,000 spans, 1,000 log records and 1,000 counter increments a
//! second, over OTLP/gRPC (`tests/outage.rs` proves it over OTLP/HTTP): whether
//! it answers `UNAVAILABLE`, accepts calls and never answers them, or its port
//! refuses connections. And the OTLP throttling rules: `RESOURCE_EXHAUSTED` with
//! a `google.rpc.RetryInfo` is retried no sooner than its delay, without one it
//! is final (dropped and said).
//!
//! The collector is the independent receiver, `tests/otlp/receiver.py`, which
//! decodes with the official Python classes and switches its gRPC services
//! between faults on command. The program runs in a child process (this test
//! binary again), so that its stderr can be read and its peak memory measured
//! on its own.
#![cfg(all(feature = "enabled", feature = "log"))]

#[path = "otlp/harness.rs"]
mod harness;

use harness::{serial, Json, Receiver, DEADLINE};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use traced::traced;

/// Marks the child's lines on its stdout, among the test harness's own.
const MARK: &str = "@@ ";

// ---------------------------------------------------------------------------
// The child: the program under test
// ---------------------------------------------------------------------------

#[traced(attrs(tick = i))]
fn tick(i: i64, ticks: &opentelemetry::metrics::Counter<u64>) -> i64 {
    log::info!(tick = i; "tick");
    ticks.add(1, &[]);
    i
}

/// A line of `/proc/self/status` in kB (`VmHWM`: the peak resident set).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn say(line: &str) {
    println!("{MARK}{line}");
}

/// Run by the parent tests only (`TRACED_GRPC_OUTAGE_CHILD` names the run);
/// does nothing in an ordinary test run.
#[test]
fn child_process() {
    let Ok(run) = std::env::var("TRACED_GRPC_OUTAGE_CHILD") else {
        return;
    };
    let endpoint = std::env::var("TRACED_GRPC_OUTAGE_ENDPOINT").expect("the endpoint");
    let guard = traced::Builder::new()
        .ignore_env()
        .setting("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .setting("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
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
    let mut made = 0i64;
    if run == "outage" {
        // 1 s up, 5 s of outage, 1 s up, one call a millisecond; the parent
        // switches the receiver when told.
        let start = Instant::now();
        let mut phase = 0;
        let mut rss_before = 0;
        // The cost of each call on the calling thread, before, during and after.
        let mut costs: [Vec<Duration>; 3] = Default::default();
        while start.elapsed() < Duration::from_secs(7) {
            let t = start.elapsed();
            if phase == 0 && t >= Duration::from_secs(1) {
                rss_before = status_kb("VmRSS");
                say("PHASE outage");
                phase = 1;
            } else if phase == 1 && t >= Duration::from_secs(6) {
                say("PHASE up");
                phase = 2;
            }
            let before = Instant::now();
            tick(made, &ticks);
            costs[phase].push(before.elapsed());
            made += 1;
            thread::sleep(Duration::from_millis(1));
        }
        let [up, down, again] = costs.map(|mut c| {
            c.sort();
            (
                c[c.len() * 99 / 100].as_micros(),
                c[c.len() - 1].as_micros(),
            )
        });
        let dropped_at = Instant::now();
        drop(guard);
        let drop_ms = dropped_at.elapsed().as_millis();
        say(&format!(
            "RESULT made={made} drop_ms={drop_ms} rss_before_kb={rss_before} hwm_kb={} \
             p99_before_us={} slowest_before_us={} p99_outage_us={} slowest_outage_us={} \
             p99_after_us={} slowest_after_us={}",
            status_kb("VmHWM"),
            up.0,
            up.1,
            down.0,
            down.1,
            again.0,
            again.1
        ));
        return;
    }
    // Steps: `tick N` makes N calls and flushes; `drop` drops the guard.
    let mut guard = Some(guard);
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["tick", n] => {
                for _ in 0..n.parse::<i64>().expect("a count") {
                    tick(made, &ticks);
                    made += 1;
                }
                let _ = guard.as_ref().expect("the guard").flush();
                say("DONE");
            }
            ["drop"] => {
                drop(guard.take());
                say(&format!("RESULT made={made}"));
                return;
            }
            _ => panic!("unknown step {line:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// The parent: receiver, child, and what arrived
// ---------------------------------------------------------------------------

/// The child process and its output.
struct Program {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
}

impl Program {
    fn start(run: &str, receiver: &Receiver) -> Program {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "child_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TRACED_GRPC_OUTAGE_CHILD", run)
            .env("TRACED_GRPC_OUTAGE_ENDPOINT", receiver.endpoint("grpc"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("OTEL_") {
                command.env_remove(name);
            }
        }
        let mut child = command.spawn().expect("the child process");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Program {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// The child's next marked line (`None` at its end).
    fn next(&mut self) -> Option<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if let Some(i) = line.find(MARK) {
                return Some(line[i + MARK.len()..].trim_end().to_owned());
            }
        }
    }

    /// Sends one step and waits for the child's answer.
    fn step(&mut self, step: &str) -> String {
        let stdin = self.stdin.as_mut().expect("the child's stdin");
        writeln!(stdin, "{step}").expect("a step to the child");
        stdin.flush().unwrap();
        self.next()
            .unwrap_or_else(|| panic!("the child ended at {step:?}:\n{}", self.stderr()))
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for the child to exit, successfully; its stderr.
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        let status = self.child.wait().expect("the child's exit");
        // The stderr reader gets the last of it.
        thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr();
        assert!(status.success(), "the child failed ({status}):\n{stderr}");
        stderr
    }
}

/// The numbers of a `RESULT a=1 b=2` line.
fn fields(line: &str) -> HashMap<String, u64> {
    line.strip_prefix("RESULT ")
        .unwrap_or_else(|| panic!("expected a RESULT line, got {line:?}"))
        .split(' ')
        .filter_map(|f| {
            let (k, v) = f.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// What the receiver printed: spans and log records by their `tick`, the
/// counter's delta points by their time window (a point sent twice counts
/// once), and the exports it refused or hung, by service.
#[derive(Default)]
struct Arrived {
    spans: HashSet<i64>,
    logs: HashSet<i64>,
    points: HashMap<(i64, i64), i64>,
    faults: HashMap<String, Vec<Json>>,
}

impl Arrived {
    fn take(&mut self, line: Json) {
        let tick = |line: &Json| match line["attributes"]["tick"] {
            Json::Int(i) => Some(i),
            _ => None,
        };
        match line["signal"].as_str() {
            "span" => self.spans.extend(tick(&line)),
            "log" => self.logs.extend(tick(&line)),
            "metric" if line["name"] == "ticks" => {
                let (Json::Int(start), Json::Int(end), Json::Int(value)) = (
                    &line["start_time_unix_nano"],
                    &line["time_unix_nano"],
                    &line["value"],
                ) else {
                    panic!("a ticks point without times or an integer value: {line}");
                };
                self.points.insert((*start, *end), *value);
            }
            "fault" => self
                .faults
                .entry(line["service"].as_str().to_owned())
                .or_default()
                .push(line),
            _ => {}
        }
    }

    fn ticks(&self) -> i64 {
        self.points.values().sum()
    }

    fn faults(&self, service: &str) -> &[Json] {
        self.faults.get(service).map_or(&[], Vec::as_slice)
    }

    /// Takes the receiver's lines until `done` holds, or for at most
    /// [`DEADLINE`]; whether it held.
    fn until(&mut self, receiver: &Receiver, done: impl Fn(&Arrived) -> bool) -> bool {
        let deadline = Instant::now() + DEADLINE;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.next_line(left) {
                Some(line) => self.take(line),
                None => return done(self),
            }
        }
        true
    }

    /// Takes the receiver's lines until none comes for `quiet`.
    fn settle(&mut self, receiver: &Receiver, quiet: Duration) {
        while let Some(line) = receiver.next_line(quiet) {
            self.take(line);
        }
    }

    fn summary(&self) -> String {
        let faults: Vec<String> = ["traces", "metrics", "logs"]
            .iter()
            .map(|s| format!("{s} {}", self.faults(s).len()))
            .collect();
        format!(
            "{} spans, {} log records, a counter of {}; exports refused or hung: {}",
            self.spans.len(),
            self.logs.len(),
            self.ticks(),
            faults.join(", ")
        )
    }
}

/// `n` with a comma between thousands, as `traced` writes counts.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The stderr lines of the child that speak of `signal`'s exports.
fn lines_of<'a>(stderr: &'a str, signal: &str) -> Vec<&'a str> {
    let prefix = format!("traced: {signal}: ");
    stderr.lines().filter(|l| l.starts_with(&prefix)).collect()
}

/// One run: 1 s up, 5 s with the receiver in `mode`, 1 s up, one call a
/// millisecond; then the guard is dropped and every span, log record and
/// counter increment must have arrived.
fn nothing_lost(mode: &str) {
    let _turn = serial();
    let mut receiver = Receiver::start();
    let endpoint = receiver.endpoint("grpc");
    let mut arrived = Arrived::default();
    let mut program = Program::start("outage", &receiver);
    let result = loop {
        let Some(line) = program.next() else {
            panic!("the child ended early:\n{}", program.stderr());
        };
        match line.as_str() {
            "PHASE outage" => receiver.command(mode, |l| arrived.take(l)),
            "PHASE up" => receiver.command("ok", |l| arrived.take(l)),
            _ => break fields(&line),
        }
    };
    let stderr = program.finish();
    let made = result["made"] as i64;
    let everything = |a: &Arrived| {
        a.spans.len() as i64 == made && a.logs.len() as i64 == made && a.ticks() == made
    };
    arrived.until(&receiver, everything);
    let (rss_before, hwm) = (result["rss_before_kb"], result["hwm_kb"]);
    println!(
        "{mode}: {made} calls made; received {}; guard dropped in {} ms; resident memory \
         {rss_before} kB before the outage, at most {hwm} kB",
        arrived.summary(),
        result["drop_ms"]
    );
    println!(
        "{mode}: per call p99 (slowest) before the outage {} us ({} us), during it {} us \
         ({} us), after it {} us ({} us)",
        result["p99_before_us"],
        result["slowest_before_us"],
        result["p99_outage_us"],
        result["slowest_outage_us"],
        result["p99_after_us"],
        result["slowest_after_us"]
    );
    println!("{mode}: the program said:\n{stderr}");
    // No call waited on the network: none took as long as one export may
    // (the export timeout, 2 s), which a call blocked on the outage would.
    for phase in ["before", "outage", "after"] {
        let slowest = result[format!("slowest_{phase}_us").as_str()];
        assert!(
            slowest < 2_000_000,
            "{mode}: a call {phase} took {slowest} us"
        );
    }
    assert_eq!(arrived.spans.len() as i64, made, "{mode}: spans lost");
    assert_eq!(arrived.logs.len() as i64, made, "{mode}: log records lost");
    assert_eq!(arrived.ticks(), made, "{mode}: counter increments lost");
    assert!(
        result["drop_ms"] < 6000,
        "{mode}: the guard took {} ms",
        result["drop_ms"]
    );
    // Memory stays bounded: what the outage held is a few MB of batches (the
    // retry queue's bounds, 512 requests and 64 MiB, are far off).
    assert!(
        hwm < 200 * 1024,
        "{mode}: the program's resident memory peaked at {hwm} kB"
    );
    assert!(
        hwm.saturating_sub(rss_before) < 64 * 1024,
        "{mode}: the outage took {} kB more",
        hwm.saturating_sub(rss_before)
    );
    for signal in ["traces", "metrics", "logs"] {
        let lines = lines_of(&stderr, signal);
        let failed: Vec<&&str> = lines
            .iter()
            .filter(|l| l.contains(&format!("export to {endpoint} failed: ")))
            .collect();
        let back = lines.iter().filter(|l| l.contains("works again")).count();
        // The outage is said once (and again only if it came back), with the
        // signal, the endpoint, the gRPC code and the server's message; its
        // end once.
        assert!(
            !failed.is_empty() && failed.len() <= 2 && back == failed.len(),
            "{mode}: {signal}: expected one failure line and one recovery, got:\n{}",
            lines.join("\n")
        );
        let first = failed[0];
        assert!(
            first.contains(&format!("gRPC export to {endpoint}: "))
                && first.contains("(kept for retry)"),
            "{mode}: {first}"
        );
        match mode {
            "unavailable" => assert!(
                first.contains(r#"UNAVAILABLE: "the receiver is in fault mode 'unavailable'""#),
                "{first}"
            ),
            "hang" => assert!(
                first.contains("DEADLINE_EXCEEDED") || first.contains("CANCELLED"),
                "{first}"
            ),
            // The server cancels the calls in flight (CANCELLED), the
            // connection breaks (a transport error), then the port refuses
            // (UNAVAILABLE): whichever a signal met first.
            _ => assert!(
                first.contains("UNAVAILABLE")
                    || first.contains("transport error")
                    || first.contains("CANCELLED"),
                "{first}"
            ),
        }
    }
    // At shutdown one line says, for each signal, what was exported, retried
    // and dropped: here every span exported after retries, nothing dropped.
    let shutdown: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("traced: shutdown"))
        .collect();
    assert_eq!(shutdown.len(), 1, "{mode}: {shutdown:?}");
    let said: HashMap<&str, &str> = shutdown[0]
        .trim_start_matches("traced: shutdown: ")
        .split("; ")
        .filter_map(|part| part.split_once(": "))
        .collect();
    let spans = format!("{} spans exported to {endpoint}, ", thousands(made as u64));
    for (signal, noun) in [
        ("traces", "spans"),
        ("logs", "log records"),
        ("metrics", "metric data points"),
    ] {
        let line = said.get(signal).copied().unwrap_or_default();
        assert!(
            line.contains("failed export")
                && line.ends_with(&format!(" retried, 0 {noun} dropped"))
                && !line.starts_with("0 "),
            "{mode}: {signal}: {}",
            shutdown[0]
        );
    }
    assert!(
        said["traces"].starts_with(&spans),
        "{mode}: {}",
        shutdown[0]
    );
    if mode != "refuse" {
        for service in ["traces", "metrics", "logs"] {
            let tries = arrived.faults(service).len();
            assert!(
                tries > 0,
                "{mode}: the receiver turned no {service} export away"
            );
            // Exponential backoff from 100 ms: about 7 tries in 5 s at most (a
            // batch every 200 ms must not bring the next try forward).
            assert!(
                tries <= 10,
                "{mode}: {service} was tried {tries} times in 5 s"
            );
        }
    }
}

#[test]
fn nothing_is_lost_when_the_collector_answers_unavailable_for_5_seconds() {
    nothing_lost("unavailable");
}

#[test]
fn nothing_is_lost_when_the_collector_hangs_for_5_seconds() {
    nothing_lost("hang");
}

#[test]
fn nothing_is_lost_when_the_port_refuses_for_5_seconds() {
    nothing_lost("refuse");
}

/// `RESOURCE_EXHAUSTED` with a `RetryInfo` of 1.5 s: each export is tried again
/// no sooner than 1.5 s after it was turned away (the receiver's clock), and
/// nothing is lost once the receiver takes them.
#[test]
fn resource_exhausted_with_retry_info_waits_the_delay_and_loses_nothing() {
    let _turn = serial();
    let mut receiver = Receiver::start();
    let endpoint = receiver.endpoint("grpc");
    let mut arrived = Arrived::default();
    receiver.command("resource_exhausted 1500", |l| arrived.take(l));
    let mut program = Program::start("steps", &receiver);
    // The flush stops waiting at the first refusal: the batches stay queued.
    assert_eq!(program.step("tick 100"), "DONE");
    let services = ["traces", "metrics", "logs"];
    let refused_thrice = |a: &Arrived| services.iter().all(|s| a.faults(s).len() >= 3);
    assert!(
        arrived.until(&receiver, refused_thrice),
        "expected every export to be tried again after its delay; got {}",
        arrived.summary()
    );
    receiver.command("ok", |l| arrived.take(l));
    let result = fields(&program.step("drop"));
    let stderr = program.finish();
    let made = result["made"] as i64;
    let everything = |a: &Arrived| {
        a.spans.len() as i64 == made && a.logs.len() as i64 == made && a.ticks() == made
    };
    arrived.until(&receiver, everything);
    println!(
        "RetryInfo 1.5 s: {made} calls made; received {}",
        arrived.summary()
    );
    for service in services {
        let times: Vec<f64> = arrived
            .faults(service)
            .iter()
            .map(|f| match f["time"] {
                Json::Float(t) => t,
                _ => panic!("a fault line without its time: {f}"),
            })
            .collect();
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        println!("{service}: tried again after {gaps:.3?} s");
        // Only the front of the queue is tried: every refusal after the first
        // is the same export tried again, so no gap is shorter than the delay.
        assert!(
            gaps.iter().all(|g| *g >= 1.5),
            "{service}: tried again sooner than the server asked: {gaps:?}"
        );
    }
    assert_eq!(arrived.spans.len() as i64, made, "spans lost");
    assert_eq!(arrived.logs.len() as i64, made, "log records lost");
    assert_eq!(arrived.ticks(), made, "counter increments lost");
    let line = lines_of(&stderr, "traces")
        .into_iter()
        .find(|l| l.contains(" failed: "))
        .unwrap_or_else(|| panic!("no failure line:\n{stderr}"));
    assert!(
        line.contains(&format!(
            "traces: export to {endpoint} failed: gRPC export to {endpoint}: RESOURCE_EXHAUSTED: \
             \"the receiver is in fault mode 'resource_exhausted'\" (the server asks to retry in \
             1.5s) (kept for retry)"
        )),
        "{line}"
    );
}

/// `RESOURCE_EXHAUSTED` without a `RetryInfo`: each export is turned away once
/// and dropped (the OTLP specification: the server cannot say it will recover),
/// and said; what comes after is delivered.
#[test]
fn resource_exhausted_without_retry_info_is_dropped_and_said() {
    let _turn = serial();
    let mut receiver = Receiver::start();
    let endpoint = receiver.endpoint("grpc");
    let mut arrived = Arrived::default();
    receiver.command("resource_exhausted", |l| arrived.take(l));
    let mut program = Program::start("steps", &receiver);
    // The flush waits until the queue is empty: every batch was tried, once.
    assert_eq!(program.step("tick 100"), "DONE");
    let turned_away = |a: &Arrived| {
        let items = |s: &str| {
            a.faults(s)
                .iter()
                .map(|f| match f["items"] {
                    Json::Int(n) => n,
                    _ => 0,
                })
                .sum::<i64>()
        };
        items("traces") >= 100 && items("logs") >= 100 && !a.faults("metrics").is_empty()
    };
    assert!(
        arrived.until(&receiver, turned_away),
        "expected the first 100 calls to be turned away; got {}",
        arrived.summary()
    );
    receiver.command("ok", |l| arrived.take(l));
    assert_eq!(program.step("tick 100"), "DONE");
    let result = fields(&program.step("drop"));
    let stderr = program.finish();
    assert_eq!(result["made"], 200);
    let second_half = |a: &Arrived| {
        (100..200).all(|i| a.spans.contains(&i) && a.logs.contains(&i)) && a.ticks() >= 100
    };
    arrived.until(&receiver, second_half);
    // The program is gone: what it sent is all in the receiver's output.
    arrived.settle(&receiver, Duration::from_secs(1));
    println!(
        "no RetryInfo: 200 calls made; received {}",
        arrived.summary()
    );
    let count = |seen: &HashSet<i64>| (0..100).filter(|i| seen.contains(i)).count();
    assert_eq!(count(&arrived.spans), 0, "a refused span was sent again");
    assert_eq!(
        count(&arrived.logs),
        0,
        "a refused log record was sent again"
    );
    for (service, seen) in [("traces", &arrived.spans), ("logs", &arrived.logs)] {
        let refused: i64 = arrived
            .faults(service)
            .iter()
            .map(|f| match f["items"] {
                Json::Int(n) => n,
                _ => 0,
            })
            .sum();
        assert_eq!(refused, 100, "{service}: each item turned away once");
        assert!(
            (100..200).all(|i| seen.contains(&i)),
            "{service}: lost after"
        );
    }
    assert_eq!(arrived.ticks(), 100, "only the second half's increments");
    let line = lines_of(&stderr, "traces")
        .into_iter()
        .find(|l| l.contains(" failed: "))
        .unwrap_or_else(|| panic!("no failure line:\n{stderr}"));
    assert!(
        line.contains(&format!(
            "traces: export to {endpoint} failed: gRPC export to {endpoint}: RESOURCE_EXHAUSTED: \
             \"the receiver is in fault mode 'resource_exhausted'\" (not retried: the server sent \
             no RetryInfo"
        )),
        "{line}"
    );
}
