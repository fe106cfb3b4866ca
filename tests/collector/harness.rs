//! The harness of the collector tests (`tests/collector.rs`): a real OpenTelemetry
//! Collector (Jaeger v2, built by `tests/collector/build.sh` into
//! `target/collector/jaeger`, configured by `tests/collector/config.yaml`) on free
//! 127.0.0.1 ports, the HTTP sink its metrics and logs pipelines post OTLP/JSON to,
//! and small readers for what comes back: the Jaeger query API (OTLP/JSON traces),
//! Prometheus text pages, and the Collector's own metrics.
//!
//! The OTLP file tests (`tests/otlp_file_collector.rs`) start the other Collector
//! that script builds, `target/collector/jsonfile` (the otlpjsonfile receiver,
//! configured by `tests/collector/jsonfile/config.yaml`), with
//! [`Collector::start_jsonfile`]: it posts what it reads to the same sink.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The providers are global: tests take turns.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long the Collector may take to start and data to come back: generous, so
/// that a slow machine only makes a test slow, never flaky.
pub const DEADLINE: Duration = Duration::from_secs(30);

const BUILD_HINT: &str = "run `tests/collector/build.sh` (needs Go) to build it";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Collector binary; fails (never skips) when it has not been built.
#[track_caller]
pub fn collector_binary() -> PathBuf {
    built_binary("jaeger")
}

/// `target/collector/NAME`; fails (never skips) when it has not been built.
#[track_caller]
fn built_binary(name: &str) -> PathBuf {
    let binary = root().join("target/collector").join(name);
    if !binary.is_file() {
        panic!(
            "the OpenTelemetry Collector of the collector tests is missing ({}): {BUILD_HINT}",
            binary.display()
        );
    }
    binary
}

// ---------------------------------------------------------------------------
// The Collector
// ---------------------------------------------------------------------------

/// The ports of one Collector; a restarted Collector keeps them.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub otlp_grpc: u16,
    pub otlp_http: u16,
    pub query_http: u16,
    pub query_grpc: u16,
    pub prometheus: u16,
    pub telemetry: u16,
}

impl Ports {
    /// Six distinct free ports on 127.0.0.1.
    pub fn free() -> Ports {
        let listeners: Vec<TcpListener> = (0..6)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let p: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        Ports {
            otlp_grpc: p[0],
            otlp_http: p[1],
            query_http: p[2],
            query_grpc: p[3],
            prometheus: p[4],
            telemetry: p[5],
        }
    }
}

/// What the Collector logs once every pipeline and extension has started.
const READY: &str = "Everything is ready";

/// A running Collector; stopped when dropped.
pub struct Collector {
    child: Option<Child>,
    pub ports: Ports,
    sink: String,
    log: Arc<Mutex<String>>,
    /// The directory the otlpjsonfile Collector reads (none for Jaeger).
    file_dir: Option<PathBuf>,
}

impl Collector {
    /// Starts a Collector on free ports that sends metrics and logs to `sink`.
    #[track_caller]
    pub fn start(sink: &Sink) -> Collector {
        let mut collector = Collector {
            child: None,
            ports: Ports::free(),
            sink: sink.url(),
            log: Arc::new(Mutex::new(String::new())),
            file_dir: None,
        };
        // A free port can be taken by another process before the Collector binds
        // it: then try again on other ports.
        for _ in 0..3 {
            match collector.launch() {
                Ok(()) => return collector,
                Err(_) if collector.log().contains("address already in use") => {
                    collector.ports = Ports::free();
                }
                Err(message) => collector.fail(&message),
            }
        }
        collector.fail("the Collector found no free ports in 3 tries")
    }

    /// Starts the otlpjsonfile Collector: it reads `traces.jsonl*`,
    /// `metrics.jsonl*` and `logs.jsonl*` in `dir` from their beginning and
    /// posts what it reads to `sink` as OTLP/JSON. It listens on no port.
    #[track_caller]
    pub fn start_jsonfile(sink: &Sink, dir: &Path) -> Collector {
        let mut collector = Collector {
            child: None,
            ports: Ports::free(),
            sink: sink.url(),
            log: Arc::new(Mutex::new(String::new())),
            file_dir: Some(dir.to_owned()),
        };
        if let Err(message) = collector.launch() {
            collector.fail(&message);
        }
        collector
    }

    #[track_caller]
    fn launch(&mut self) -> Result<(), String> {
        let p = self.ports;
        let runs = self.log().matches(READY).count();
        let (binary, mut command) = match &self.file_dir {
            None => {
                let binary = collector_binary();
                let mut command = Command::new(&binary);
                command
                    .arg("--config")
                    .arg(root().join("tests/collector/config.yaml"));
                (binary, command)
            }
            Some(dir) => {
                let binary = built_binary("jsonfile");
                let mut command = Command::new(&binary);
                command
                    .arg("--config")
                    .arg(root().join("tests/collector/jsonfile/config.yaml"))
                    .env("TRACED_OTLP_FILE_DIR", dir);
                (binary, command)
            }
        };
        let mut child = command
            .env("TRACED_COLLECTOR_OTLP_GRPC_PORT", p.otlp_grpc.to_string())
            .env("TRACED_COLLECTOR_OTLP_HTTP_PORT", p.otlp_http.to_string())
            .env("TRACED_COLLECTOR_QUERY_HTTP_PORT", p.query_http.to_string())
            .env("TRACED_COLLECTOR_QUERY_GRPC_PORT", p.query_grpc.to_string())
            .env("TRACED_COLLECTOR_PROMETHEUS_PORT", p.prometheus.to_string())
            .env("TRACED_COLLECTOR_TELEMETRY_PORT", p.telemetry.to_string())
            .env("TRACED_COLLECTOR_SINK", &self.sink)
            // Nothing of the caller's OpenTelemetry settings reaches the Collector.
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        for pipe in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let log = Arc::clone(&self.log);
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        self.child = Some(child);
        self.wait_ready(runs)
    }

    /// Waits for the Collector's "ready" log line (all pipelines and extensions started).
    #[track_caller]
    fn wait_ready(&mut self, runs: usize) -> Result<(), String> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if self.log().matches(READY).count() > runs {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                // Let the readers collect its last words.
                thread::sleep(Duration::from_millis(200));
                return Err(format!("the Collector exited at start ({status})"));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!("the Collector was not ready within {DEADLINE:?}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the Collector as a service manager would (SIGTERM, SIGKILL after 10 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the stopped Collector again, on the same ports.
    #[track_caller]
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the Collector is running");
        if let Err(message) = self.launch() {
            self.fail(&message);
        }
    }

    /// The Collector's log so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    #[track_caller]
    pub fn fail(&self, message: &str) -> ! {
        thread::sleep(Duration::from_millis(200));
        panic!("{message}\n--- Collector log ---\n{}", self.log());
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for `protocol`.
    pub fn endpoint(&self, protocol: &str) -> String {
        let port = match protocol {
            "grpc" => self.ports.otlp_grpc,
            "http/protobuf" => self.ports.otlp_http,
            other => panic!("no such OTLP protocol: {other}"),
        };
        format!("http://127.0.0.1:{port}")
    }

    /// Every span stored for `service`, through the Jaeger query API v3 (OTLP/JSON).
    #[track_caller]
    pub fn spans(&self, service: &str) -> Vec<StoredSpan> {
        let path = format!(
            "/api/v3/traces?query.service_name={service}\
             &query.start_time_min=2000-01-01T00:00:00Z\
             &query.start_time_max=2100-01-01T00:00:00Z&query.num_traces=100000"
        );
        let (status, body) = http_get(self.ports.query_http, &path, None)
            .unwrap_or_else(|e| self.fail(&format!("GET {path}: {e}")));
        if status == 404 {
            return Vec::new(); // no trace of this service (yet)
        }
        if status != 200 {
            self.fail(&format!("GET {path}: {status} {body}"));
        }
        let json: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| self.fail(&format!("GET {path}: bad JSON ({e}): {body}")));
        let mut spans = Vec::new();
        for rs in array(&json["result"]["resourceSpans"]) {
            let resource = attributes(&rs["resource"]["attributes"]);
            for ss in array(&rs["scopeSpans"]) {
                for span in array(&ss["spans"]) {
                    spans.push(StoredSpan {
                        resource: resource.clone(),
                        scope: ss["scope"]["name"].as_str().unwrap_or_default().to_owned(),
                        span: span.clone(),
                    });
                }
            }
        }
        spans
    }

    /// Waits until the spans of `service` include every name of `expected`.
    #[track_caller]
    pub fn wait_for_spans(&self, service: &str, expected: &[&str]) -> Vec<StoredSpan> {
        self.wait_for(service, |spans| {
            expected
                .iter()
                .all(|name| spans.iter().any(|s| s.name() == *name))
        })
    }

    /// Waits until `done` holds for the spans of `service`.
    #[track_caller]
    pub fn wait_for(&self, service: &str, done: impl Fn(&[StoredSpan]) -> bool) -> Vec<StoredSpan> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let spans = self.spans(service);
            if done(&spans) {
                return spans;
            }
            if Instant::now() > deadline {
                let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
                self.fail(&format!(
                    "the spans of {service} did not arrive within {DEADLINE:?}; stored: {names:?}"
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The Collector's Prometheus exporter page (the spanmetrics connector's metrics).
    #[track_caller]
    pub fn prometheus_page(&self, openmetrics: bool) -> String {
        let accept = openmetrics.then_some("application/openmetrics-text; version=1.0.0");
        match http_get(self.ports.prometheus, "/metrics", accept) {
            Ok((200, body)) => body,
            Ok((status, body)) => self.fail(&format!("GET /metrics: {status} {body}")),
            Err(e) => self.fail(&format!("GET /metrics: {e}")),
        }
    }

    /// The Collector's own metrics (accepted and refused items per receiver).
    #[track_caller]
    pub fn own_metrics(&self) -> Samples {
        match http_get(self.ports.telemetry, "/metrics", None) {
            Ok((200, body)) => Samples::parse(&body),
            Ok((status, body)) => self.fail(&format!("GET own /metrics: {status} {body}")),
            Err(e) => self.fail(&format!("GET own /metrics: {e}")),
        }
    }

    /// Fails if the OTLP receiver refused anything, or an exporter failed to send.
    #[track_caller]
    pub fn assert_nothing_refused(&self) {
        let own = self.own_metrics();
        for sample in &own.0 {
            let bad = sample.name.starts_with("otelcol_receiver_refused_")
                || sample.name.starts_with("otelcol_receiver_failed_")
                || sample.name.starts_with("otelcol_exporter_send_failed_")
                || sample.name.starts_with("otelcol_processor_refused_");
            if bad && sample.value != 0.0 {
                self.fail(&format!("the Collector refused or failed data: {sample:?}"));
            }
        }
    }

    /// How many items of `kind` ("spans", "metric_points", "log_records") the OTLP
    /// receiver accepted over `transport` ("grpc" or "http").
    pub fn accepted(&self, kind: &str, transport: &str) -> f64 {
        self.own_metrics()
            .0
            .iter()
            .filter(|s| {
                s.name == format!("otelcol_receiver_accepted_{kind}_total")
                    && s.labels.get("transport").map(String::as_str) == Some(transport)
            })
            .map(|s| s.value)
            .sum()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A span as the query API returns it (OTLP/JSON), with its resource and scope.
#[derive(Clone, Debug)]
pub struct StoredSpan {
    pub resource: BTreeMap<String, Value>,
    pub scope: String,
    pub span: Value,
}

impl StoredSpan {
    pub fn name(&self) -> &str {
        self.span["name"].as_str().unwrap_or_default()
    }
    pub fn trace_id(&self) -> &str {
        self.span["traceId"].as_str().unwrap_or_default()
    }
    pub fn span_id(&self) -> &str {
        self.span["spanId"].as_str().unwrap_or_default()
    }
    pub fn parent_span_id(&self) -> &str {
        self.span["parentSpanId"].as_str().unwrap_or_default()
    }
    /// The OTLP kind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub fn kind(&self) -> i64 {
        int(&self.span["kind"])
    }
    pub fn attributes(&self) -> BTreeMap<String, Value> {
        attributes(&self.span["attributes"])
    }
    pub fn events(&self) -> &[Value] {
        array(&self.span["events"])
    }
    pub fn links(&self) -> &[Value] {
        array(&self.span["links"])
    }
}

/// The one span named `name`.
#[track_caller]
pub fn one<'a>(spans: &'a [StoredSpan], name: &str) -> &'a StoredSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name() == name).collect();
    assert_eq!(
        found.len(),
        1,
        "one span named {name:?}; stored: {:?}",
        spans.iter().map(|s| s.name()).collect::<Vec<_>>()
    );
    found[0]
}

// ---------------------------------------------------------------------------
// OTLP/JSON
// ---------------------------------------------------------------------------

pub fn array(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// An OTLP/JSON integer: a number or, for 64-bit fields, a string.
pub fn int(value: &Value) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or_default(),
        Value::String(s) => s.parse().unwrap_or_default(),
        _ => 0,
    }
}

/// An OTLP/JSON double (the JSON encoding may write integral doubles without a point).
pub fn float(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or_default(),
        Value::String(s) => s.parse().unwrap_or_default(),
        _ => 0.0,
    }
}

/// A list of OTLP/JSON `KeyValue`s as a map of key to typed value
/// (`{"stringValue": "x"}`, `{"intValue": "7"}`, ...).
pub fn attributes(list: &Value) -> BTreeMap<String, Value> {
    array(list)
        .iter()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap_or_default().to_owned(),
                kv["value"].clone(),
            )
        })
        .collect()
}

/// The string form of a typed value, for comparisons.
pub fn plain(value: &Value) -> String {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return String::new();
    };
    match (kind.as_str(), inner) {
        (_, Value::String(s)) => s.clone(),
        ("arrayValue", v) => array(&v["values"])
            .iter()
            .map(plain)
            .collect::<Vec<_>>()
            .join(","),
        (_, other) => other.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The sink: what the Collector's metrics and logs pipelines post (OTLP/JSON)
// ---------------------------------------------------------------------------

/// An HTTP server on 127.0.0.1 that keeps every JSON body posted to it.
pub struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Sink {
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let store = Arc::clone(&store);
                thread::spawn(move || serve(stream, &store));
            }
        });
        Sink { port, received }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every body posted to `path` so far.
    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Waits until `done` holds for the bodies posted to `path`.
    #[track_caller]
    pub fn wait_for(
        &self,
        collector: &Collector,
        path: &str,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let bodies = self.bodies(path);
            if done(&bodies) {
                return bodies;
            }
            if Instant::now() > deadline {
                collector.fail(&format!(
                    "expected {what} at {path} within {DEADLINE:?}; received: {}",
                    serde_json::to_string(&bodies).unwrap_or_default()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One connection: HTTP/1.1 requests with a Content-Length, kept alive.
fn serve(stream: TcpStream, store: &Mutex<Vec<(String, Value)>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, reply) = match serde_json::from_slice::<Value>(&body) {
            Ok(json) => {
                store
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((path, json));
                ("200 OK", "{}")
            }
            Err(_) => ("400 Bad Request", "{}"),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Every metric in the OTLP/JSON bodies, with its resource and scope.
pub fn otlp_metrics(bodies: &[Value]) -> Vec<OtlpMetric> {
    let mut out = Vec::new();
    for body in bodies {
        for rm in array(&body["resourceMetrics"]) {
            let resource = attributes(&rm["resource"]["attributes"]);
            for sm in array(&rm["scopeMetrics"]) {
                for metric in array(&sm["metrics"]) {
                    out.push(OtlpMetric {
                        resource: resource.clone(),
                        scope: sm["scope"]["name"].as_str().unwrap_or_default().to_owned(),
                        metric: metric.clone(),
                    });
                }
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
pub struct OtlpMetric {
    pub resource: BTreeMap<String, Value>,
    pub scope: String,
    pub metric: Value,
}

impl OtlpMetric {
    pub fn name(&self) -> &str {
        self.metric["name"].as_str().unwrap_or_default()
    }
    pub fn unit(&self) -> &str {
        self.metric["unit"].as_str().unwrap_or_default()
    }
    /// "sum", "gauge", "histogram", ... and its body.
    pub fn data(&self) -> (&str, &Value) {
        for kind in [
            "sum",
            "gauge",
            "histogram",
            "exponentialHistogram",
            "summary",
        ] {
            if !self.metric[kind].is_null() {
                return (kind, &self.metric[kind]);
            }
        }
        ("", &Value::Null)
    }
    pub fn points(&self) -> &[Value] {
        array(&self.data().1["dataPoints"])
    }
}

/// Every log record in the OTLP/JSON bodies, with its resource.
pub fn otlp_logs(bodies: &[Value]) -> Vec<(BTreeMap<String, Value>, Value)> {
    let mut out = Vec::new();
    for body in bodies {
        for rl in array(&body["resourceLogs"]) {
            let resource = attributes(&rl["resource"]["attributes"]);
            for sl in array(&rl["scopeLogs"]) {
                for record in array(&sl["logRecords"]) {
                    out.push((resource.clone(), record.clone()));
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// HTTP GET and Prometheus text
// ---------------------------------------------------------------------------

/// `GET path` on 127.0.0.1:`port` over HTTP/1.0 (so the body is never chunked).
pub fn http_get(port: u16, path: &str, accept: Option<&str>) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{accept}Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP head in {response:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// One sample of a Prometheus text page.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of a Prometheus text page, and its `# TYPE`/`# HELP`/`# UNIT` lines.
#[derive(Clone, Debug, Default)]
pub struct Samples(pub Vec<Sample>, pub Vec<String>);

impl Samples {
    pub fn parse(page: &str) -> Samples {
        let mut samples = Samples::default();
        for line in page.lines() {
            if line.starts_with('#') {
                samples.1.push(line.to_owned());
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            // Drop an exemplar (" # {...} value").
            let line = line.split(" # ").next().unwrap_or(line);
            let (series, rest) = match line.find('{') {
                Some(_) => {
                    let close = line.rfind('}').expect("closing brace");
                    (&line[..close + 1], &line[close + 1..])
                }
                None => line.split_at(line.find(' ').unwrap_or(line.len())),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            let value = rest.split_whitespace().next().unwrap_or("NaN");
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or(f64::NAN),
            };
            samples.0.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        samples
    }

    pub fn named(&self, name: &str) -> Vec<&Sample> {
        self.0.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(name.trim().trim_start_matches(',').trim().to_owned(), value);
        rest = after[end..].trim_start_matches(',');
    }
    labels
}
