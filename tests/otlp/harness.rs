//! The test harness of the OTLP integration tests (`tests/otlp.rs`,
//! `tests/otlp_metrics.rs`): the environment, the independent Python receiver
//! (`tests/otlp/receiver.py`) and just enough JSON to read what it prints.
//! Included by each test file with `#[path = "otlp/harness.rs"] mod harness;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

pub use json::Json;

// ---------------------------------------------------------------------------
// Test environment
// ---------------------------------------------------------------------------

/// Certificates made for one test, in a directory of their own: a CA
/// (`ca.pem`), a server certificate for 127.0.0.1 and localhost signed by it
/// (`server.pem`, `server.key`), a client certificate signed by it with the
/// common name [`Pki::CLIENT`] (`client.pem`, `client.key`), and another CA
/// that signed neither (`other-ca.pem`).
pub struct Pki {
    dir: std::path::PathBuf,
}

impl Pki {
    /// The common name of the client certificate.
    pub const CLIENT: &'static str = "traced-test-client";

    pub fn new(name: &str) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let dir = std::env::temp_dir().join(format!("traced-pki-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the certificates");
        let write = |file: &str, pem: &str| std::fs::write(dir.join(file), pem).expect("write");
        let ca = |cn: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
            params.distinguished_name.push(DnType::CommonName, cn);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let key = KeyPair::generate().expect("CA key");
            let cert = params.self_signed(&key).expect("CA certificate");
            (Issuer::new(params, key), cert.pem())
        };
        let leaf = |issuer: &Issuer<'_, KeyPair>,
                    names: &[&str],
                    cn: &str,
                    usage: ExtendedKeyUsagePurpose| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let mut params = CertificateParams::new(names).expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().expect("leaf key");
            let cert = params.signed_by(&key, issuer).expect("leaf certificate");
            (cert.pem(), key.serialize_pem())
        };
        let (issuer, ca_pem) = ca("traced test CA");
        write("ca.pem", &ca_pem);
        let (cert, key) = leaf(
            &issuer,
            &["127.0.0.1", "localhost"],
            "127.0.0.1",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        write("server.pem", &cert);
        write("server.key", &key);
        let (cert, key) = leaf(
            &issuer,
            &[],
            Self::CLIENT,
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        write("client.pem", &cert);
        write("client.key", &key);
        write("other-ca.pem", &ca("another test CA").1);
        Pki { dir }
    }

    /// The path of one of the files.
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    /// The receiver's arguments to serve TLS with the server certificate, and to
    /// require a client certificate signed by the CA when `mutual`.
    pub fn receiver_args(&self, mutual: bool) -> Vec<String> {
        let mut args = vec![
            "--tls-cert".to_owned(),
            self.path("server.pem"),
            "--tls-key".to_owned(),
            self.path("server.key"),
        ];
        if mutual {
            args.extend(["--client-ca".to_owned(), self.path("ca.pem")]);
        }
        args
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The tracer provider and the environment are global: tests take turns.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Replaces every `OTEL_*` variable of the process by `vars`, so that nothing
/// from the caller's environment (or from another test) leaks in.
pub fn set_otel_env(vars: &[(&str, &str)]) {
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
pub const DEADLINE: Duration = Duration::from_secs(20);

const INSTALL_HINT: &str = "run `pip install -r tests/otlp/requirements.txt`";

/// `tests/otlp/receiver.py`, running for the life of one test.
pub struct Receiver {
    child: Child,
    /// `https` when the receiver serves TLS.
    scheme: &'static str,
    http_port: u16,
    grpc_port: u16,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Receiver {
    #[track_caller]
    pub fn start() -> Receiver {
        Self::start_with::<&str>(&[])
    }

    /// A receiver started with `args` (`--tls-cert FILE --tls-key FILE`,
    /// `--client-ca FILE`, `--grpc-identity-only`: see `receiver.py`).
    #[track_caller]
    pub fn start_with<S: AsRef<str>>(args: &[S]) -> Receiver {
        require_python_packages();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/receiver.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(args.iter().map(AsRef::as_ref))
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
            scheme: if args.iter().any(|a| a.as_ref() == "--tls-cert") {
                "https"
            } else {
                "http"
            },
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
    pub fn endpoint(&self, protocol: &str) -> String {
        let port = match protocol {
            "grpc" => self.grpc_port,
            "http/protobuf" => self.http_port,
            other => panic!("no such OTLP protocol: {other}"),
        };
        format!("{}://127.0.0.1:{port}", self.scheme)
    }

    /// Waits `quiet` and fails if anything arrived meanwhile.
    #[track_caller]
    pub fn assert_nothing_within(&self, quiet: Duration) {
        if let Ok(line) = self.lines.recv_timeout(quiet) {
            self.fail(&format!("expected nothing to arrive, got {line}"));
        }
    }

    /// Every span received until one of each name in `expected` arrived (metric
    /// lines are left out).
    #[track_caller]
    pub fn wait_for_spans(&self, expected: &[&str]) -> Vec<Json> {
        let spans = |lines: &[Json]| -> Vec<Json> {
            lines
                .iter()
                .filter(|l| l["signal"] == "span")
                .cloned()
                .collect()
        };
        let lines = self.wait_until(
            &format!("spans {expected:?}"),
            |lines| {
                let spans = spans(lines);
                expected
                    .iter()
                    .all(|name| spans.iter().any(|s| s["name"] == *name))
            },
            |lines| format!("spans {}", span_names(&spans(lines))),
        );
        spans(&lines)
    }

    /// Every line received until `done` holds for them; fails after [`DEADLINE`],
    /// saying what was `expected` and, through `summary`, what arrived.
    #[track_caller]
    pub fn wait_until(
        &self,
        expected: &str,
        done: impl Fn(&[Json]) -> bool,
        summary: impl Fn(&[Json]) -> String,
    ) -> Vec<Json> {
        let deadline = Instant::now() + DEADLINE;
        let mut lines: Vec<Json> = Vec::new();
        while !done(&lines) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => match json::parse(&line) {
                    Ok(value) => lines.push(value),
                    Err(e) => self.fail(&format!("the receiver printed bad JSON ({e}): {line}")),
                },
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "expected {expected} within {DEADLINE:?}, the receiver got {}",
                    summary(&lines)
                )),
                Err(RecvTimeoutError::Disconnected) => self.fail(&format!(
                    "the receiver exited; expected {expected}, it got {}",
                    summary(&lines)
                )),
            }
        }
        lines
    }

    /// Sends a fault command to the receiver's gRPC services (`ok`,
    /// `unavailable [MS]`, `resource_exhausted [MS]`, `hang`, `refuse`: see
    /// `receiver.py`) and waits until it is in force; the lines that arrived
    /// meanwhile are handed to `other`.
    #[track_caller]
    pub fn command(&mut self, command: &str, mut other: impl FnMut(Json)) {
        let stdin = self.child.stdin.as_mut().expect("the receiver's stdin");
        if let Err(e) = writeln!(stdin, "{command}").and_then(|()| stdin.flush()) {
            self.fail(&format!("cannot send {command:?} to the receiver: {e}"));
        }
        loop {
            let Some(line) = self.next_line(DEADLINE) else {
                self.fail(&format!("the receiver did not answer {command:?}"))
            };
            if line["signal"] != "control" {
                other(line);
                continue;
            }
            if line["error"] != Json::Null {
                self.fail(&format!("the receiver refused {command:?}: {line}"));
            }
            return;
        }
    }

    /// The next line the receiver prints, parsed; `None` when none comes
    /// within `timeout` (or the receiver exited).
    #[track_caller]
    pub fn next_line(&self, timeout: Duration) -> Option<Json> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        match json::parse(&line) {
            Ok(value) => Some(value),
            Err(e) => self.fail(&format!("the receiver printed bad JSON ({e}): {line}")),
        }
    }

    #[track_caller]
    pub fn fail(&self, message: &str) -> ! {
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

/// The names of `spans`, for failure messages.
pub fn span_names(spans: &[Json]) -> String {
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str()).collect();
    format!("{names:?}")
}

/// Fails (never skips) when the receiver's Python packages are missing.
#[track_caller]
pub fn require_python_packages() {
    let check = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.proto, grpc, google.rpc.status_pb2, google.rpc.error_details_pb2",
        ])
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
