//! The OTLP file exporter (`otlp_file/development`): spans, metrics and log
//! records written by a real `traced` pipeline as OTLP/JSON lines, each line
//! read by an independent decoder, the official protobuf JSON mapping of the
//! `opentelemetry-proto` Python package (`tests/otlp/decode_file.py`), which
//! also checks the OTLP/JSON rules the protobuf mapping does not (hex ids,
//! numeric enums, 64-bit integers as strings, lowerCamelCase keys).
//!
//! Covered: the three signals to files chosen by the environment-style
//! settings, with trace correlation and exemplars; rotation (nothing lost or
//! split across files, the number of old files bounded); standard output (a
//! child process); a destination that cannot be written (one clear message,
//! the program goes on); two signals set to one file (one warning at init);
//! NaN and infinite doubles (the JSON mapping's strings); the pipeline-file form.
//!
//! Needs `python3` with `pip install -r tests/otlp/requirements.txt`. Without it
//! these tests fail, saying so: they are never skipped silently.
#![cfg(all(feature = "enabled", feature = "otlp", feature = "log"))]

use opentelemetry::trace::TraceContextExt as _;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use traced::metrics::{Counter, Gauge, Histogram};
use traced::{traced, Metrics};

// ---------------------------------------------------------------------------
// The code under test
// ---------------------------------------------------------------------------

#[derive(Metrics)]
#[metrics(prefix = "filetest")]
struct ShopMetrics {
    /// Orders placed.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Time to charge a card.
    #[metric(unit = "s", buckets = [0.1, 1.0])]
    charge_duration: Histogram<f64>,
}

/// The ids of the spans as the Rust side saw them: (name, trace id, span id).
static SEEN: Mutex<Vec<(String, String, String)>> = Mutex::new(Vec::new());

fn remember(name: &str) {
    let cx = opentelemetry::Context::current();
    let sc = cx.span().span_context().clone();
    SEEN.lock().unwrap_or_else(PoisonError::into_inner).push((
        name.to_owned(),
        sc.trace_id().to_string(),
        sc.span_id().to_string(),
    ));
}

#[traced(kind = server, name = "POST /checkout")]
fn checkout(cart_id: i64) {
    remember("POST /checkout");
    ShopMetrics::global().orders.add(2, &[]);
    charge_card(cart_id, 1250);
}

#[traced(kind = client, attrs(peer.service = "payments", amount.cents = amount_cents, fx.rate = 1.25))]
fn charge_card(cart_id: i64, amount_cents: i64) {
    remember("charge_card");
    log::warn!(cart_id; "charging {amount_cents} cents");
    ShopMetrics::global().charge_duration.record(0.5, &[]);
}

#[derive(Metrics)]
#[metrics(prefix = "filetest")]
struct Odd {
    /// A ratio that may not be a number.
    ratio: Gauge<f64>,
}

/// Doubles that are not numbers in the attributes of a span, a log record and
/// a metric point. (The SDK drops a measurement that is not a finite number,
/// so no metric value is one.)
#[traced(attrs(odd.nan = f64::NAN, odd.inf = f64::INFINITY, odd.neg_inf = f64::NEG_INFINITY))]
fn odd_values() {
    log::info!(odd_nan = f64::NAN, odd_inf = f64::INFINITY; "odd values");
    Odd::global().ratio.record(
        0.5,
        &[
            opentelemetry::KeyValue::new("odd.nan", f64::NAN),
            opentelemetry::KeyValue::new("odd.neg_inf", f64::NEG_INFINITY),
        ],
    );
}

/// Many spans, one per call, for rotation.
#[traced]
fn step(i: usize) {
    traced::attr!("step.index" = i as i64);
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One pipeline at a time: `init` installs global providers.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("traced-otlp-file-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

const DECODER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/decode_file.py");

/// `decode_file.py signal files...` (or standard input when `input` is
/// given): the summary it prints. Fails with its message when a line is not
/// OTLP/JSON.
#[track_caller]
fn decode(signal: &str, files: &[PathBuf], input: Option<&str>) -> Value {
    let mut command = Command::new("python3");
    command.arg(DECODER).arg(signal);
    match input {
        Some(_) => {
            command.arg("-");
        }
        None => {
            command.args(files);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run python3 ({e}); these tests need Python 3 with \
                 `pip install -r tests/otlp/requirements.txt`"
            )
        });
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("piped");
        if let Some(input) = input {
            stdin
                .write_all(input.as_bytes())
                .expect("write to the decoder");
        }
    }
    let out = child.wait_with_output().expect("the decoder ran");
    assert!(
        out.status.success(),
        "the decoder refused {signal} ({files:?}):\n{}\n(with `pip install -r \
         tests/otlp/requirements.txt` missing, the message says so above)",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the decoder prints JSON")
}

/// The item of `items` whose `key` is `value`.
#[track_caller]
fn find<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| i[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value:?} in {items:#}"))
}

fn seen(name: &str) -> (String, String) {
    let seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let (_, trace, span) = seen
        .iter()
        .rev()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("{name} never ran"));
    (trace.clone(), span.clone())
}

/// Settings for all three signals to files in `dir`, and only the guard's
/// flush exports (the intervals are long).
fn file_settings(dir: &Path) -> Vec<(String, String)> {
    [
        ("OTEL_TRACES_EXPORTER", "otlp_file".to_owned()),
        ("OTEL_METRICS_EXPORTER", "otlp_file".to_owned()),
        ("OTEL_LOGS_EXPORTER", "otlp_file".to_owned()),
        // A URI, a plain path, a URI: both forms are accepted.
        (
            "TRACED_OTLP_FILE_TRACES",
            file_uri(&dir.join("traces.jsonl")),
        ),
        (
            "TRACED_OTLP_FILE_METRICS",
            dir.join("metrics.jsonl").display().to_string(),
        ),
        ("TRACED_OTLP_FILE_LOGS", file_uri(&dir.join("logs.jsonl"))),
        ("OTEL_SERVICE_NAME", "file-shop".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "600000".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "600000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn builder(settings: &[(String, String)]) -> traced::Builder {
    settings
        .iter()
        .fold(traced::Builder::new().ignore_env(), |b, (k, v)| {
            b.setting(k, v)
        })
}

/// The spans, metrics and logs of one `checkout`, as the decoder read them
/// from `dir`, checked against the ids the Rust side saw.
fn assert_checkout_files(dir: &Path, temporality: i64) {
    let traces = decode("traces", &[dir.join("traces.jsonl")], None);
    let spans = &traces["spans"];
    assert_eq!(spans.as_array().unwrap().len(), 2, "{traces:#}");
    let (trace_id, root_id) = seen("POST /checkout");
    let (child_trace, child_id) = seen("charge_card");
    let root = find(spans, "name", "POST /checkout");
    let child = find(spans, "name", "charge_card");
    assert_eq!(root["trace_id"], trace_id.as_str());
    assert_eq!(root["span_id"], root_id.as_str());
    assert_eq!(root["parent_span_id"], "");
    assert_eq!(root["kind"], 2, "SPAN_KIND_SERVER");
    assert_eq!(root["service"], "file-shop");
    assert_eq!(child_trace, trace_id);
    assert_eq!(child["trace_id"], trace_id.as_str());
    assert_eq!(child["span_id"], child_id.as_str());
    assert_eq!(child["parent_span_id"], root_id.as_str());
    assert_eq!(child["kind"], 3, "SPAN_KIND_CLIENT");
    let attributes = &child["attributes"];
    assert_eq!(attributes["peer.service"], "payments");
    assert_eq!(attributes["amount.cents"], 1250);
    assert_eq!(attributes["fx.rate"], 1.25);
    assert!(child["start"].as_u64().unwrap() >= root["start"].as_u64().unwrap());
    assert!(child["end"].as_u64().unwrap() <= root["end"].as_u64().unwrap());

    let logs = decode("logs", &[dir.join("logs.jsonl")], None);
    let record = find(&logs["logs"], "body", "charging 1250 cents");
    assert_eq!(record["severity_number"], 13, "WARN");
    assert_eq!(record["trace_id"], trace_id.as_str(), "{record:#}");
    assert_eq!(record["span_id"], child_id.as_str(), "{record:#}");
    assert_eq!(record["attributes"]["cart_id"], 7);
    assert_eq!(record["service"], "file-shop");

    let metrics = decode("metrics", &[dir.join("metrics.jsonl")], None);
    let orders = find(&metrics["metrics"], "name", "filetest.orders");
    assert_eq!(orders["kind"], "sum");
    assert_eq!(orders["unit"], "{order}");
    assert_eq!(orders["temporality"], temporality);
    assert_eq!(orders["service"], "file-shop");
    let point = &orders["points"][0];
    assert_eq!(point["value"], 2, "{orders:#}");
    let exemplar = &point["exemplars"][0];
    assert_eq!(exemplar["trace_id"], trace_id.as_str(), "{orders:#}");
    assert_eq!(exemplar["span_id"], root_id.as_str(), "{orders:#}");
    let duration = find(&metrics["metrics"], "name", "filetest.charge_duration");
    assert_eq!(duration["kind"], "histogram");
    let point = &duration["points"][0];
    assert_eq!(point["count"], 1);
    assert_eq!(point["sum"], 0.5);
    assert_eq!(point["bounds"], serde_json::json!([0.1, 1.0]));
    assert_eq!(point["bucket_counts"], serde_json::json!([0, 1, 0]));
    assert_eq!(point["exemplars"][0]["span_id"], child_id.as_str());
}

/// Runs this test binary again with only `test` and `CHILD` set to it, its
/// output captured.
fn run_child(test: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("TRACED_OTLP_FILE_TEST_CHILD", test)
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("OTEL_") || name.starts_with("TRACED_OTLP_FILE_") {
            command.env_remove(&*name);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("the child test ran")
}

fn is_child(test: &str) -> bool {
    std::env::var("TRACED_OTLP_FILE_TEST_CHILD").as_deref() == Ok(test)
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// `OTEL_*_EXPORTER=otlp_file` with a destination per signal: dropping the
/// guard writes everything, and each line decodes with the ids, parents,
/// attributes, values, bodies and trace correlation the program made.
#[test]
fn all_three_signals_are_written_as_otlp_json_lines() {
    let _turn = serial();
    let dir = temp_dir("signals");
    let telemetry = builder(&file_settings(&dir)).init();
    checkout(7);
    drop(telemetry);
    assert_checkout_files(&dir, 2);
    // One export request per line, each ending with `\n`.
    let text = std::fs::read_to_string(dir.join("traces.jsonl")).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), 1, "one batch: {text}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A NaN or infinite double is written as the protobuf JSON mapping's string
/// (`"NaN"`, `"Infinity"`, `"-Infinity"`), which the official mapping reads
/// back as that double: in span, log record and metric point attributes.
#[test]
fn non_finite_doubles_are_written_as_the_json_mapping_strings() {
    let _turn = serial();
    let dir = temp_dir("non-finite");
    let telemetry = builder(&file_settings(&dir)).init();
    odd_values();
    drop(telemetry);

    let text = std::fs::read_to_string(dir.join("traces.jsonl")).unwrap();
    assert!(text.contains(r#"{"doubleValue":"NaN"}"#), "{text}");
    let traces = decode("traces", &[dir.join("traces.jsonl")], None);
    let span = find(&traces["spans"], "name", "odd_values");
    assert_eq!(span["attributes"]["odd.nan"], "NaN", "{span:#}");
    assert_eq!(span["attributes"]["odd.inf"], "Infinity", "{span:#}");
    assert_eq!(span["attributes"]["odd.neg_inf"], "-Infinity", "{span:#}");

    let logs = decode("logs", &[dir.join("logs.jsonl")], None);
    let record = find(&logs["logs"], "body", "odd values");
    assert_eq!(record["attributes"]["odd_nan"], "NaN", "{record:#}");
    assert_eq!(record["attributes"]["odd_inf"], "Infinity", "{record:#}");

    let metrics = decode("metrics", &[dir.join("metrics.jsonl")], None);
    let ratio = find(&metrics["metrics"], "name", "filetest.ratio");
    assert_eq!(ratio["kind"], "gauge");
    let point = &ratio["points"][0];
    assert_eq!(point["value"], 0.5, "{ratio:#}");
    assert_eq!(point["attributes"]["odd.nan"], "NaN", "{ratio:#}");
    assert_eq!(point["attributes"]["odd.neg_inf"], "-Infinity", "{ratio:#}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Past `TRACED_OTLP_FILE_MAX_BYTES` the file rotates to `path.1`, `path.2`,
/// ...: across all files every span is there once, no line is split, and no
/// file but one holding a single longer line exceeds the size. With
/// `TRACED_OTLP_FILE_KEEP_FILES=2` only two old files are kept.
#[test]
fn files_rotate_by_size_without_losing_or_splitting_lines() {
    let _turn = serial();
    const SPANS: usize = 300;
    const MAX: u64 = 8 * 1024;
    for keep in [100, 2] {
        let dir = temp_dir(&format!("rotate-{keep}"));
        let path = dir.join("traces.jsonl");
        let mut settings = file_settings(&dir);
        settings.extend(
            [
                ("OTEL_METRICS_EXPORTER", "none".to_owned()),
                ("OTEL_LOGS_EXPORTER", "none".to_owned()),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10".to_owned()),
                ("TRACED_OTLP_FILE_MAX_BYTES", MAX.to_string()),
                ("TRACED_OTLP_FILE_KEEP_FILES", keep.to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let telemetry = builder(&settings).init();
        for i in 0..SPANS {
            step(i);
        }
        drop(telemetry);

        // Oldest first: path.N ... path.1, then path.
        let mut files: Vec<PathBuf> = (1..=keep)
            .rev()
            .map(|n| dir.join(format!("traces.jsonl.{n}")))
            .filter(|p| p.exists())
            .collect();
        files.push(path.clone());
        let present = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(present, files.len(), "only the file and its rotations");
        assert!(files.len() >= 3, "{SPANS} spans rotate more than twice");
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(
                text.ends_with('\n'),
                "{} ends with a whole line",
                file.display()
            );
            let lines = text.lines().count();
            assert!(
                text.len() as u64 <= MAX || lines == 1,
                "{} has {} bytes in {lines} lines",
                file.display(),
                text.len()
            );
        }
        let decoded = decode("traces", &files, None);
        let indices: Vec<i64> = decoded["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["attributes"]["step.index"].as_i64().expect("an index"))
            .collect();
        if keep == 100 {
            assert_eq!(files.len(), present);
            let mut sorted = indices.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), SPANS, "every span once");
            assert_eq!(indices.len(), SPANS, "no span twice");
        } else {
            assert_eq!(files.len(), 3, "the file and two old ones");
            assert!(!dir.join("traces.jsonl.3").exists());
            // The newest spans are the ones kept, in order.
            assert_eq!(*indices.last().unwrap(), SPANS as i64 - 1);
            assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Without a destination the lines go to standard output (the
/// specification's default), spans and log records each decoding whole.
#[test]
fn standard_output_is_the_default_destination() {
    let out = run_child(
        "child_writes_to_stdout",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp_file"),
            ("OTEL_LOGS_EXPORTER", "otlp_file"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_SERVICE_NAME", "stdout-shop"),
        ],
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = |prefix: &str| -> String {
        stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let (span_lines, log_lines) = (lines("{\"resourceSpans\""), lines("{\"resourceLogs\""));
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with('{')).count(),
        span_lines.lines().count() + log_lines.lines().count(),
        "only span and log lines: {stdout}"
    );
    let spans = decode("traces", &[], Some(&span_lines));
    let root = find(&spans["spans"], "name", "POST /checkout");
    let child = find(&spans["spans"], "name", "charge_card");
    assert_eq!(root["service"], "stdout-shop");
    assert_eq!(child["parent_span_id"], root["span_id"]);
    let logs = decode("logs", &[], Some(&log_lines));
    let record = find(&logs["logs"], "body", "charging 1250 cents");
    assert_eq!(record["span_id"], child["span_id"]);
}

/// The child of [`standard_output_is_the_default_destination`].
#[test]
fn child_writes_to_stdout() {
    if !is_child("child_writes_to_stdout") {
        return;
    }
    // Ends the line the test runner may have started.
    println!();
    let telemetry = traced::init();
    checkout(7);
    drop(telemetry);
}

/// A file in a directory that does not exist: one message on stderr naming
/// the path and the likely cause, however many exports fail, and the program
/// goes on (and its exit status is success).
#[test]
fn an_unwritable_destination_is_reported_once_and_the_program_goes_on() {
    let missing = std::env::temp_dir()
        .join(format!("traced-no-such-dir-{}", std::process::id()))
        .join("traces.jsonl");
    let missing = missing.display().to_string();
    let out = run_child(
        "child_writes_to_a_missing_directory",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp_file"),
            ("TRACED_OTLP_FILE_TRACES", &missing),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("the program went on"), "{stdout}");
    let message = format!("traced: OTLP file export of spans to {missing} failed: ");
    assert_eq!(
        stderr.matches(&message).count(),
        1,
        "one message, however many exports fail:\n{stderr}"
    );
    assert!(stderr.contains("(does the directory"), "{stderr}");
    assert!(!Path::new(&missing).exists());
}

/// The child of [`an_unwritable_destination_is_reported_once_and_the_program_goes_on`].
#[test]
fn child_writes_to_a_missing_directory() {
    if !is_child("child_writes_to_a_missing_directory") {
        return;
    }
    let telemetry = traced::init();
    for _ in 0..3 {
        checkout(7);
    }
    drop(telemetry);
    println!("the program went on");
}

/// Spans and log records set to one file (once as a `file://` URI, once as a
/// path): one warning at init names both settings; the metrics, in a file of
/// their own, are not named.
#[test]
fn two_signals_set_to_one_file_are_said_once_at_init() {
    let dir = temp_dir("shared-file");
    let shared = dir.join("all.jsonl");
    let out = run_child(
        "child_writes_two_signals_to_one_file",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp_file"),
            ("OTEL_LOGS_EXPORTER", "otlp_file"),
            ("OTEL_METRICS_EXPORTER", "otlp_file"),
            ("TRACED_OTLP_FILE_TRACES", &file_uri(&shared)),
            ("TRACED_OTLP_FILE_LOGS", &shared.display().to_string()),
            (
                "TRACED_OTLP_FILE_METRICS",
                &dir.join("metrics.jsonl").display().to_string(),
            ),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{stderr}");
    let message = format!(
        "traced: TRACED_OTLP_FILE_TRACES and TRACED_OTLP_FILE_LOGS name the same file, {}: ",
        shared.display()
    );
    assert_eq!(
        stderr.matches(&message).count(),
        1,
        "one warning, however many exports:\n{stderr}"
    );
    assert!(!stderr.contains("TRACED_OTLP_FILE_METRICS"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The child of [`two_signals_set_to_one_file_are_said_once_at_init`].
#[test]
fn child_writes_two_signals_to_one_file() {
    if !is_child("child_writes_two_signals_to_one_file") {
        return;
    }
    let telemetry = traced::init();
    for _ in 0..3 {
        checkout(7);
    }
    drop(telemetry);
}

/// The pipeline file's `otlp_file/development` exporters with their
/// `output_stream` (and the metric one's `temporality_preference`).
#[test]
fn the_pipeline_file_configures_the_otlp_file_exporters() {
    let _turn = serial();
    let dir = temp_dir("pipeline");
    let config = dir.join("otel.yaml");
    std::fs::write(
        &config,
        format!(
            r#"file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: file-shop
tracer_provider:
  processors:
    - batch:
        schedule_delay: 600000
        exporter:
          otlp_file/development:
            output_stream: {traces}
meter_provider:
  readers:
    - periodic:
        interval: 600000
        exporter:
          otlp_file/development:
            output_stream: {metrics}
            temporality_preference: delta
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_file/development:
            output_stream: {logs}
"#,
            traces = file_uri(&dir.join("traces.jsonl")),
            metrics = file_uri(&dir.join("metrics.jsonl")),
            logs = file_uri(&dir.join("logs.jsonl")),
        ),
    )
    .unwrap();
    let telemetry = traced::init_from_file(&config).unwrap_or_else(|e| panic!("{e}"));
    checkout(7);
    drop(telemetry);
    assert_checkout_files(&dir, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

/// What the pipeline file may say of `otlp_file/development`, and the errors.
#[test]
fn the_pipeline_file_checks_the_output_stream() {
    let parse = |exporter: &str| {
        traced::file_config::parse(
            "otel.yaml",
            &format!(
                "file_format: \"1.0\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          {exporter}\n"
            ),
        )
    };
    let config =
        parse("otlp_file/development: {output_stream: \"file:///var/log/t.jsonl\"}").unwrap();
    assert_eq!(
        config.setting("TRACED_OTLP_FILE_TRACES"),
        Some("file:///var/log/t.jsonl")
    );
    // Omitted or null: stdout.
    for exporter in ["otlp_file/development: {}", "otlp_file/development:"] {
        let config = parse(exporter).unwrap();
        assert_eq!(config.setting("TRACED_OTLP_FILE_TRACES"), Some("stdout"));
    }
    for bad in ["relative/t.jsonl", "http://collector/t.jsonl", "file://"] {
        let e = parse(&format!(
            "otlp_file/development: {{output_stream: \"{bad}\"}}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`output_stream`") && e.contains("file:///var/log/app.jsonl"),
            "{bad}: {e}"
        );
    }
    // Written from a batch processor only, as OTLP is sent.
    let e = traced::file_config::parse(
        "otel.yaml",
        "file_format: \"1.0\"\nlogger_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_file/development: {}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("OTLP file export behind a `simple` processor"),
        "{e}"
    );
    let e = parse("otlp_file/development: {output_stream: stdout, path: x}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`path`"), "{e}");
}
