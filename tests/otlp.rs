//! End to end over the wire: `traced::init()` configured only by the standard
//! `OTEL_*` variables exports the spans of `#[traced]` functions over OTLP
//! (HTTP/protobuf and gRPC), and an independent receiver decodes them with the
//! official OpenTelemetry protobuf definitions (`tests/otlp/receiver.py`).
//!
//! Needs `python3` with `pip install -r tests/otlp/requirements.txt`. Without it
//! these tests fail, saying so: they are never skipped silently.
#![cfg(all(feature = "enabled", feature = "otlp"))]

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use json::Json;
use traced::traced;

// ---------------------------------------------------------------------------
// The traced code under test: a server span with a client child that carries
// typed attributes, a failing child recorded by `err`, and an event.
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct OutOfStock {
    sku: &'static str,
}

impl fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is out of stock", self.sku)
    }
}

#[traced(kind = server, name = "POST /checkout")]
fn checkout(cart_id: i64) -> bool {
    traced::event!(
        "cart.loaded",
        items = 3,
        "cart.total" = 12.5,
        gift = true,
        coupon = "SPRING"
    );
    charge_card(cart_id, 1250);
    reserve_stock("sku-42").is_ok()
}

#[traced(kind = client, attrs(
    peer.service = "payments",
    cart.id = cart_id,
    amount.cents = amount_cents,
    card.present = true,
    fx.rate = 1.25,
))]
fn charge_card(cart_id: i64, amount_cents: i64) {
    let _ = (cart_id, amount_cents);
}

#[traced(err)]
fn reserve_stock(sku: &'static str) -> Result<(), OutOfStock> {
    Err(OutOfStock { sku })
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn spans_arrive_over_otlp_http_protobuf() {
    let spans = export_checkout_over("http/protobuf");
    assert_checkout_trace(&spans, "http");
}

#[test]
fn spans_arrive_over_otlp_grpc() {
    let spans = export_checkout_over("grpc");
    assert_checkout_trace(&spans, "grpc");
}

/// Runs `checkout` with `traced::init()` exporting OTLP over `protocol` to a fresh
/// receiver, drops the guard, and returns the spans the receiver decoded.
fn export_checkout_over(protocol: &str) -> Vec<Json> {
    let _turn = serial();
    let receiver = Receiver::start();
    set_otel_env(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint(protocol)),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-test-token=abc"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10000"),
        // No scheduled export before the guard drops: only its flush delivers.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ("OTEL_SERVICE_NAME", "checkout-service"),
        // The receiver serves traces only.
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);

    let telemetry = traced::init();
    let reserved = checkout(7);
    drop(telemetry);

    assert!(!reserved, "reserve_stock always fails");
    receiver.wait_for_spans(&["POST /checkout", "charge_card", "reserve_stock"])
}

fn assert_checkout_trace(spans: &[Json], transport: &str) {
    let server = one(spans, "POST /checkout");
    let client = one(spans, "charge_card");
    let failed = one(spans, "reserve_stock");

    for span in [server, client, failed] {
        assert_eq!(
            span["transport"], transport,
            "transport of {}",
            span["name"]
        );
        assert_eq!(span["resource"]["service.name"], "checkout-service");
        assert_eq!(span["scope"], "traced");
        assert_eq!(
            span["headers"]["x-test-token"], "abc",
            "OTEL_EXPORTER_OTLP_HEADERS should arrive as a request header"
        );
        assert_eq!(span["attributes"]["code.file.path"], "tests/otlp.rs");
        assert!(
            matches!(span["attributes"]["code.line.number"], Json::Int(n) if n > 0),
            "code.line.number of {}: {}",
            span["name"],
            span["attributes"]["code.line.number"]
        );
    }

    // One trace: the server span is the root, the other two are its children.
    let trace_id = server["trace_id"].as_str();
    assert_eq!(trace_id.len(), 32, "trace_id {trace_id:?}");
    assert_ne!(trace_id, "0".repeat(32));
    assert_eq!(server["parent_span_id"], "", "the server span is a root");
    for child in [client, failed] {
        assert_eq!(
            child["trace_id"], trace_id,
            "{} is in the server's trace",
            child["name"]
        );
        assert_eq!(
            child["parent_span_id"], server["span_id"],
            "{} is a child of the server span",
            child["name"]
        );
    }
    assert_ne!(client["span_id"], failed["span_id"]);

    assert_eq!(server["kind"], "SPAN_KIND_SERVER");
    assert_eq!(client["kind"], "SPAN_KIND_CLIENT");
    assert_eq!(failed["kind"], "SPAN_KIND_INTERNAL");

    assert_eq!(server["attributes"]["code.function.name"], "otlp::checkout");
    assert_eq!(
        client["attributes"]["code.function.name"],
        "otlp::charge_card"
    );
    assert_eq!(
        failed["attributes"]["code.function.name"],
        "otlp::reserve_stock"
    );

    // `attrs(..)` values keep their OTLP types.
    let attrs = &client["attributes"];
    assert_eq!(attrs["peer.service"], Json::Str("payments".into()));
    assert_eq!(attrs["cart.id"], Json::Int(7));
    assert_eq!(attrs["amount.cents"], Json::Int(1250));
    assert_eq!(attrs["card.present"], Json::Bool(true));
    assert_eq!(attrs["fx.rate"], Json::Float(1.25));

    // `event!` in the body, with typed attributes.
    let loaded = event(server, "cart.loaded");
    assert_eq!(loaded["items"], Json::Int(3));
    assert_eq!(loaded["cart.total"], Json::Float(12.5));
    assert_eq!(loaded["gift"], Json::Bool(true));
    assert_eq!(loaded["coupon"], Json::Str("SPRING".into()));

    assert_eq!(server["status"]["code"], "STATUS_CODE_UNSET");
    assert_eq!(client["status"]["code"], "STATUS_CODE_UNSET");

    // `err`: status Error with the message, and an `exception` event.
    assert_eq!(failed["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(failed["status"]["message"], "sku-42 is out of stock");
    let exception = event(failed, "exception");
    assert_eq!(exception["exception.message"], "sku-42 is out of stock");
    assert_eq!(exception["exception.type"], "otlp::OutOfStock");
}

/// The only span named `name`.
fn one<'a>(spans: &'a [Json], name: &str) -> &'a Json {
    let found: Vec<&Json> = spans.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?} in {}",
        names(spans)
    );
    found[0]
}

/// The attributes of the only event of `span` named `name`.
fn event<'a>(span: &'a Json, name: &str) -> &'a Json {
    let found: Vec<&Json> = span["events"]
        .as_list()
        .iter()
        .filter(|e| e["name"] == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one event {name:?} on {}: {}",
        span["name"],
        span["events"]
    );
    &found[0]["attributes"]
}

fn names(spans: &[Json]) -> String {
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str()).collect();
    format!("{names:?}")
}

// ---------------------------------------------------------------------------
// Test environment
// ---------------------------------------------------------------------------

/// The tracer provider and the environment are global: tests take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Replaces every `OTEL_*` variable of the process by `vars`, so that nothing
/// from the caller's environment (or from another test) leaks in.
fn set_otel_env(vars: &[(&str, &str)]) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            std::env::remove_var(name);
        }
    }
    // The receiver is local: never reach it through a proxy from the environment.
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    std::env::set_var("no_proxy", "127.0.0.1,localhost");
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
}

/// How long the receiver may take to start, and the spans to arrive: generous,
/// so that a slow machine only makes the test slow, never flaky.
const DEADLINE: Duration = Duration::from_secs(20);

const INSTALL_HINT: &str = "run `pip install -r tests/otlp/requirements.txt`";

/// `tests/otlp/receiver.py`, running for the life of one test.
struct Receiver {
    child: Child,
    http_port: u16,
    grpc_port: u16,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Receiver {
    #[track_caller]
    fn start() -> Receiver {
        require_python_packages();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/receiver.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `python3 {}`: {e}", script.display()));

        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr_pipe.read(&mut buf) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        let mut receiver = Receiver {
            child,
            http_port: 0,
            grpc_port: 0,
            lines,
            stderr,
        };
        let ready = match receiver.lines.recv_timeout(DEADLINE) {
            Ok(line) => line,
            Err(e) => receiver.fail(&format!("the receiver did not start ({e:?})")),
        };
        let ports: Vec<u16> = ready
            .strip_prefix("READY ")
            .map(|rest| {
                rest.split(' ')
                    .filter_map(|field| field.split_once('=')?.1.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let [http_port, grpc_port] = ports[..] else {
            receiver.fail(&format!(
                "expected `READY http=<port> grpc=<port>`, got {ready:?}"
            ))
        };
        receiver.http_port = http_port;
        receiver.grpc_port = grpc_port;
        receiver
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for `protocol`.
    fn endpoint(&self, protocol: &str) -> String {
        let port = match protocol {
            "grpc" => self.grpc_port,
            "http/protobuf" => self.http_port,
            other => panic!("no such OTLP protocol: {other}"),
        };
        format!("http://127.0.0.1:{port}")
    }

    /// Every span received until one of each name in `expected` arrived.
    #[track_caller]
    fn wait_for_spans(&self, expected: &[&str]) -> Vec<Json> {
        let deadline = Instant::now() + DEADLINE;
        let mut spans: Vec<Json> = Vec::new();
        while !expected
            .iter()
            .all(|name| spans.iter().any(|s| s["name"] == *name))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => match json::parse(&line) {
                    Ok(span) => spans.push(span),
                    Err(e) => self.fail(&format!("the receiver printed bad JSON ({e}): {line}")),
                },
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "expected spans {expected:?} within {DEADLINE:?}, the receiver got {}",
                    names(&spans)
                )),
                Err(RecvTimeoutError::Disconnected) => self.fail(&format!(
                    "the receiver exited; expected spans {expected:?}, it got {}",
                    names(&spans)
                )),
            }
        }
        spans
    }

    #[track_caller]
    fn fail(&self, message: &str) -> ! {
        // Give the stderr reader a moment to collect a dying receiver's last words.
        thread::sleep(Duration::from_millis(200));
        let stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        panic!("{message}\n--- receiver stderr ---\n{stderr}");
    }
}

impl Drop for Receiver {
    /// Closing stdin stops the receiver; it is killed if it does not stop soon.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails (never skips) when the receiver's Python packages are missing.
#[track_caller]
fn require_python_packages() {
    let check = Command::new("python3")
        .args(["-c", "import opentelemetry.proto, grpc"])
        .stdin(Stdio::null())
        .output();
    match check {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the OTLP receiver's Python packages are missing: {INSTALL_HINT}\n\
             python3 said: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run python3 ({e}); the OTLP tests need Python 3 with their packages: \
             {INSTALL_HINT}"
        ),
    }
}

// ---------------------------------------------------------------------------
// Just enough JSON to read the receiver's lines (the crate has no JSON
// dependency). Integers and floats stay distinct, as the receiver writes them.
// ---------------------------------------------------------------------------

mod json {
    use std::fmt;
    use std::ops::Index;

    #[derive(Clone, Debug, PartialEq)]
    pub enum Json {
        Null,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(String),
        List(Vec<Json>),
        Object(Vec<(String, Json)>),
    }

    static NULL: Json = Json::Null;

    impl Json {
        /// The string, or "" for anything else.
        pub fn as_str(&self) -> &str {
            match self {
                Json::Str(s) => s,
                _ => "",
            }
        }

        /// The items, or none for anything else.
        pub fn as_list(&self) -> &[Json] {
            match self {
                Json::List(items) => items,
                _ => &[],
            }
        }
    }

    /// `json["key"]`: the member, or `Null` when absent (or not an object).
    impl Index<&str> for Json {
        type Output = Json;
        fn index(&self, key: &str) -> &Json {
            match self {
                Json::Object(members) => members
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(&NULL, |(_, v)| v),
                _ => &NULL,
            }
        }
    }

    impl PartialEq<str> for Json {
        fn eq(&self, other: &str) -> bool {
            matches!(self, Json::Str(s) if s == other)
        }
    }

    impl PartialEq<&str> for Json {
        fn eq(&self, other: &&str) -> bool {
            self == *other
        }
    }

    impl fmt::Display for Json {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Json::Null => f.write_str("null"),
                Json::Bool(b) => write!(f, "{b}"),
                Json::Int(n) => write!(f, "{n}"),
                Json::Float(x) => write!(f, "{x:?}"),
                Json::Str(s) => write!(f, "{s:?}"),
                Json::List(items) => {
                    f.write_str("[")?;
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{item}")?;
                    }
                    f.write_str("]")
                }
                Json::Object(members) => {
                    f.write_str("{")?;
                    for (i, (k, v)) in members.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{k:?}: {v}")?;
                    }
                    f.write_str("}")
                }
            }
        }
    }

    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let value = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing characters at {}", p.i));
        }
        Ok(value)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.i += 1;
            }
        }

        fn eat(&mut self, byte: u8) -> Result<(), String> {
            self.ws();
            if self.s.get(self.i) == Some(&byte) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected {:?} at {}", byte as char, self.i))
            }
        }

        fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(value)
            } else {
                Err(format!("unexpected input at {}", self.i))
            }
        }

        fn value(&mut self) -> Result<Json, String> {
            self.ws();
            match self.s.get(self.i) {
                Some(b'{') => self.object(),
                Some(b'[') => self.list(),
                Some(b'"') => self.string().map(Json::Str),
                Some(b't') => self.literal("true", Json::Bool(true)),
                Some(b'f') => self.literal("false", Json::Bool(false)),
                Some(b'n') => self.literal("null", Json::Null),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => Err(format!("unexpected input at {}", self.i)),
            }
        }

        fn object(&mut self) -> Result<Json, String> {
            self.eat(b'{')?;
            let mut members = Vec::new();
            self.ws();
            if self.s.get(self.i) == Some(&b'}') {
                self.i += 1;
                return Ok(Json::Object(members));
            }
            loop {
                self.ws();
                let key = self.string()?;
                self.eat(b':')?;
                members.push((key, self.value()?));
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        return Ok(Json::Object(members));
                    }
                    _ => return Err(format!("expected ',' or '}}' at {}", self.i)),
                }
            }
        }

        fn list(&mut self) -> Result<Json, String> {
            self.eat(b'[')?;
            let mut items = Vec::new();
            self.ws();
            if self.s.get(self.i) == Some(&b']') {
                self.i += 1;
                return Ok(Json::List(items));
            }
            loop {
                items.push(self.value()?);
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b']') => {
                        self.i += 1;
                        return Ok(Json::List(items));
                    }
                    _ => return Err(format!("expected ',' or ']' at {}", self.i)),
                }
            }
        }

        fn number(&mut self) -> Result<Json, String> {
            let start = self.i;
            while matches!(
                self.s.get(self.i),
                Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            ) {
                self.i += 1;
            }
            let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
            let bad = |e: &dyn fmt::Display| format!("bad number {text:?}: {e}");
            if text.contains(['.', 'e', 'E']) {
                text.parse().map(Json::Float).map_err(|e| bad(&e))
            } else {
                text.parse().map(Json::Int).map_err(|e| bad(&e))
            }
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .s
                .get(self.i..self.i + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .ok_or_else(|| format!("truncated \\u escape at {}", self.i))?;
            self.i += 4;
            u32::from_str_radix(digits, 16).map_err(|e| format!("bad \\u escape: {e}"))
        }

        fn string(&mut self) -> Result<String, String> {
            self.eat(b'"')?;
            let mut bytes = Vec::new();
            loop {
                let Some(&b) = self.s.get(self.i) else {
                    return Err("unterminated string".into());
                };
                self.i += 1;
                match b {
                    b'"' => break,
                    b'\\' => {
                        let Some(&escape) = self.s.get(self.i) else {
                            return Err("unterminated escape".into());
                        };
                        self.i += 1;
                        let c = match escape {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let mut code = self.hex4()?;
                                if (0xD800..0xDC00).contains(&code)
                                    && self.s[self.i..].starts_with(b"\\u")
                                {
                                    self.i += 2;
                                    let low = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&low) {
                                        return Err(format!("lone surrogate at {}", self.i));
                                    }
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                }
                                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                            }
                            other => return Err(format!("bad escape \\{}", other as char)),
                        };
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => bytes.push(b),
                }
            }
            String::from_utf8(bytes).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn parses_what_the_receiver_prints() {
        let v =
            parse(r#"{"a": [1, -2.5, 1e+16, true, null], "s": "x\"\u00e9\ud83d\ude00", "o": {}}"#)
                .unwrap();
        assert_eq!(
            v["a"],
            Json::List(vec![
                Json::Int(1),
                Json::Float(-2.5),
                Json::Float(1e16),
                Json::Bool(true),
                Json::Null
            ])
        );
        assert_eq!(v["s"], "x\"é😀");
        assert_eq!(v["o"], Json::Object(vec![]));
        assert_eq!(v["missing"], Json::Null);
    }
}
