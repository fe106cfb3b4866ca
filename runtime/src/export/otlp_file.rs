//! The OTLP file exporter of the specification (`otlp_file/development`):
//! spans, metrics and log records as JSON lines, one
//! `ExportTraceServiceRequest`, `ExportMetricsServiceRequest` or
//! `ExportLogsServiceRequest` per line, in the OTLP/JSON encoding (lowerCamelCase
//! field names, trace and span ids as lowercase hex, enums as numbers, 64-bit
//! integers as decimal strings), to standard output or a file.
//!
//! The messages are the ones the OTLP exporters send, built by
//! `opentelemetry-proto`'s transforms (the metric ones with `traced`'s
//! exemplars), and encoded by its `with-serde` mapping. That mapping writes an
//! absent optional field as `null` (a histogram's `sum`, `min` and `max`, a
//! key without a value); such entries are left out, as the OTLP/JSON encoding
//! leaves out absent fields (see [`line`]). A NaN or infinite double is
//! written as the mapping's string (`"NaN"`, `"Infinity"`, `"-Infinity"`).
//!
//! Each export writes its line with one `write` on the thread of the batch
//! processor (spans, log records) or of the periodic reader (metrics), never
//! on the application's: a destination that is slow or blocked holds that
//! thread back, and the processor's bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BLRP_MAX_QUEUE_SIZE`) drops what does not fit, counting it. Lines are
//! not buffered in the process, so what an export returned is in the file;
//! flushing the providers (the guard's drop) exports what the queues hold.
//!
//! A file is opened in append mode. Before a line would take it past
//! `max_bytes` it is rotated: `path` becomes `path.1`, `path.1` becomes
//! `path.2`, and so on up to `path.<keep_files>`, the oldest, which is
//! replaced; a line is never split across files. A file that cannot be opened
//! or written (its directory is missing, the disk is full) is reported once on
//! stderr with its path, its lines are dropped and counted, and every later
//! export tries again; when one works, a line says so with the count lost.
//!
//! Each signal should have a file of its own (the specification's format holds
//! one kind of data per file, and each writer rotates its file on its own
//! count). Two signals whose settings name one file are said once, when the
//! second exporter is built at `init`, naming both settings (see [`Shared`]).

use crate::settings::OutputStream;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// When a file is rotated and how many rotated files are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rotation {
    pub(crate) max_bytes: u64,
    pub(crate) keep_files: usize,
}

/// The destination of one exporter: writes whole lines, rotates files,
/// reports failures.
pub(crate) struct Writer {
    /// `spans`, `metrics` or `log records`, for messages.
    what: &'static str,
    stream: OutputStream,
    rotation: Rotation,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The open file (none for stdout, or after a failure).
    file: Option<File>,
    /// Its size, counting what this writer appended.
    size: u64,
    /// Whether the last write failed (reported once until one works).
    failing: bool,
    /// Lines lost since the failure was reported.
    lost: u64,
    shut_down: bool,
    /// Its entry among the files open (none for stdout, or once shut down).
    shared: Option<Shared>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Writer({} to {})", self.what, self.stream)
    }
}

impl Writer {
    /// A writer of `what` to `stream`. A file is opened now, so that a
    /// destination that cannot be written is reported at `init`; it is tried
    /// again at every export.
    pub(crate) fn new(what: &'static str, stream: OutputStream, rotation: Rotation) -> Self {
        let shared = match &stream {
            OutputStream::File(path) => {
                let (shared, warning) = Shared::open(what, path);
                if let Some(warning) = warning {
                    eprintln!("traced: {warning}");
                }
                Some(shared)
            }
            OutputStream::Stdout => None,
        };
        let writer = Writer {
            what,
            stream,
            rotation,
            state: Mutex::new(State {
                shared,
                ..State::default()
            }),
        };
        if let OutputStream::File(path) = &writer.stream {
            let mut state = writer.lock();
            if let Err(e) = open(path, &mut state) {
                writer.failed(&mut state, &e, 0);
            }
        }
        writer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `line` (which ends with `\n`).
    pub(crate) fn write(&self, line: &[u8]) -> OTelSdkResult {
        let mut state = self.lock();
        if state.shut_down {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = match &self.stream {
            OutputStream::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(line).and_then(|()| out.flush())
            }
            OutputStream::File(path) => self.append(path, &mut state, line),
        };
        match result {
            Ok(()) => {
                if state.failing {
                    state.failing = false;
                    eprintln!(
                        "traced: OTLP file export of {} to {} works again ({} line{} lost)",
                        self.what,
                        self.stream,
                        state.lost,
                        if state.lost == 1 { "" } else { "s" }
                    );
                    state.lost = 0;
                }
                Ok(())
            }
            Err(e) => {
                self.failed(&mut state, &e, 1);
                Err(OTelSdkError::InternalFailure(format!(
                    "OTLP file export of {} to {} failed: {e}",
                    self.what, self.stream
                )))
            }
        }
    }

    /// Opens the file if needed, rotates it if `line` would take it past the
    /// size, then appends `line`.
    fn append(&self, path: &Path, state: &mut State, line: &[u8]) -> io::Result<()> {
        if state.file.is_none() {
            open(path, state)?;
        }
        let len = line.len() as u64;
        if state.size > 0 && state.size.saturating_add(len) > self.rotation.max_bytes {
            state.file = None;
            rotate(path, self.rotation.keep_files)?;
            open(path, state)?;
        }
        let file = state.file.as_mut().expect("opened above");
        match file.write_all(line) {
            Ok(()) => {
                state.size += len;
                Ok(())
            }
            Err(e) => {
                // Reopened (and its size read again) at the next export.
                state.file = None;
                Err(e)
            }
        }
    }

    /// Reports the first failure of a run of them, counting `lost` lines.
    fn failed(&self, state: &mut State, e: &io::Error, lost: u64) {
        state.lost += lost;
        if state.failing {
            return;
        }
        state.failing = true;
        let hint = match (&self.stream, e.kind()) {
            (OutputStream::File(path), io::ErrorKind::NotFound) => {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                format!(" (does the directory {} exist?)", dir.display())
            }
            (OutputStream::File(_), io::ErrorKind::PermissionDenied) => {
                " (is it writable by this process?)".to_owned()
            }
            _ => String::new(),
        };
        eprintln!(
            "traced: OTLP file export of {} to {} failed: {e}{hint}; they are dropped until \
             it works again, tried at every export",
            self.what, self.stream
        );
    }

    fn flush(&self) -> OTelSdkResult {
        // Lines are written whole by each export; only stdout has a buffer.
        if self.stream == OutputStream::Stdout {
            let _ = io::stdout().lock().flush();
        }
        Ok(())
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.flush()?;
        let mut state = self.lock();
        if std::mem::replace(&mut state.shut_down, true) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.shared = None;
        if let Some(file) = state.file.take() {
            let _ = file.sync_data();
        }
        if state.failing && state.lost > 0 {
            eprintln!(
                "traced: OTLP file export of {} to {}: {} line{} (export requests) lost to write failures",
                self.what,
                self.stream,
                state.lost,
                if state.lost == 1 { "" } else { "s" }
            );
        }
        Ok(())
    }
}

/// The files the OTLP file writers of this process have open, so that two
/// signals set to write one file are said when the second is built.
///
/// A writer's entry lives until it shuts down (or is dropped): a program that
/// calls `init` again after dropping the guard starts afresh. Writers of one
/// signal are not reported against each other.
#[derive(Debug)]
struct Shared {
    id: u64,
}

/// (entry id, signal, the file as an absolute path).
static OPEN_FILES: Mutex<Vec<(u64, &'static str, PathBuf)>> = Mutex::new(Vec::new());

impl Shared {
    /// Registers the file `path` of the `what` writer; with the warning that
    /// names both settings when a writer of another signal has it open.
    fn open(what: &'static str, path: &Path) -> (Shared, Option<String>) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = same_file_key(path);
        let mut open = OPEN_FILES.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<&'static str> = open
            .iter()
            .filter(|(_, other, f)| *other != what && *f == file)
            .map(|(_, other, _)| setting(other))
            .collect();
        let warning = (!names.is_empty()).then(|| {
            names.push(setting(what));
            // In the order traces, metrics, logs.
            names.sort_unstable_by_key(|name| {
                ["TRACES", "METRICS", "LOGS"]
                    .iter()
                    .position(|s| name.ends_with(s))
            });
            names.dedup();
            format!(
                "{} name the same file, {}: the OTLP file exporter writes one signal per \
                 file (the Collector's otlpjsonfile receiver reads one kind of export request \
                 per file, and each exporter rotates the file on its own count); give each \
                 signal a file of its own",
                and_list(&names),
                path.display()
            )
        });
        open.push((id, what, file));
        (Shared { id }, warning)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        OPEN_FILES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _, _)| *id != self.id);
    }
}

/// The setting that names the file of the `what` writer (the pipeline file's
/// `output_stream` of that provider's `otlp_file/development` exporter sets it).
fn setting(what: &str) -> &'static str {
    match what {
        "spans" => "TRACED_OTLP_FILE_TRACES",
        "metrics" => "TRACED_OTLP_FILE_METRICS",
        _ => "TRACED_OTLP_FILE_LOGS",
    }
}

/// `a and b`, `a, b and c`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What tells two paths of one file apart from two files: the canonical path
/// when it exists (links resolved), else the absolute path with `.` and `..`
/// resolved by name.
fn same_file_key(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    // The directory may exist while the file does not yet.
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|dir| dir.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
}

/// Opens `path` for appending (created if missing) and reads its size.
fn open(path: &Path, state: &mut State) -> io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    state.size = file.metadata()?.len();
    state.file = Some(file);
    Ok(())
}

/// `path.<n>`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shifts `path.1` … `path.<keep-1>` up by one (`path.<keep>` is replaced) and
/// moves `path` to `path.1`.
fn rotate(path: &Path, keep: usize) -> io::Result<()> {
    for n in (1..keep).rev() {
        match std::fs::rename(numbered(path, n), numbered(path, n + 1)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::rename(path, numbered(path, 1))
}

/// `message` as one OTLP/JSON line, ending with `\n`.
///
/// `opentelemetry-proto`'s serde mapping is the OTLP/JSON encoding, except that
/// it writes absent optional fields as `null` (a histogram's `sum`, `min`,
/// `max`; a key-value without a value; a log record without a body): those
/// entries are removed. A NaN or infinite double is written as the protobuf
/// JSON mapping writes it, the string `"NaN"`, `"Infinity"` or `"-Infinity"`
/// (see [`super::otlp_json`]), not as the `null` of `serde_json`.
pub(crate) fn line<T: serde::Serialize>(message: &T) -> Result<Vec<u8>, String> {
    let mut value = super::otlp_json::to_value(message).map_err(|e| e.to_string())?;
    drop_nulls(&mut value);
    let mut out = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn encode<T: serde::Serialize>(writer: &Writer, message: &T) -> OTelSdkResult {
    let line = line(message).map_err(|e| {
        OTelSdkError::InternalFailure(format!("OTLP/JSON encoding of {} failed: {e}", writer.what))
    })?;
    writer.write(&line)
}

/// Spans as `ExportTraceServiceRequest` lines.
#[derive(Debug)]
pub(crate) struct OtlpFileSpanExporter {
    writer: Writer,
    resource: ResourceAttributesWithSchema,
}

impl OtlpFileSpanExporter {
    pub(crate) fn new(stream: OutputStream, rotation: Rotation) -> Self {
        OtlpFileSpanExporter {
            writer: Writer::new("spans", stream, rotation),
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl opentelemetry_sdk::trace::SpanExporter for OtlpFileSpanExporter {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
        if batch.is_empty() {
            return Ok(());
        }
        let message = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        encode(&self.writer, &message)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.writer.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.writer.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Metrics as `ExportMetricsServiceRequest` lines, with `traced`'s exemplars.
#[derive(Debug)]
pub(crate) struct OtlpFileMetricExporter {
    writer: Writer,
    temporality: Temporality,
}

impl OtlpFileMetricExporter {
    pub(crate) fn new(stream: OutputStream, rotation: Rotation, temporality: Temporality) -> Self {
        OtlpFileMetricExporter {
            writer: Writer::new("metrics", stream, rotation),
            temporality,
        }
    }
}

impl PushMetricExporter for OtlpFileMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut message = ExportMetricsServiceRequest::from(metrics);
        if message
            .resource_metrics
            .iter()
            .all(|r| r.scope_metrics.iter().all(|s| s.metrics.is_empty()))
        {
            return Ok(());
        }
        super::otlp_metrics::add_exemplars(&mut message);
        encode(&self.writer, &message)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.writer.flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.writer.shutdown()
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

/// Log records as `ExportLogsServiceRequest` lines.
#[derive(Debug)]
pub(crate) struct OtlpFileLogExporter {
    writer: Writer,
    resource: ResourceAttributesWithSchema,
}

impl OtlpFileLogExporter {
    pub(crate) fn new(stream: OutputStream, rotation: Rotation) -> Self {
        OtlpFileLogExporter {
            writer: Writer::new("log records", stream, rotation),
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl opentelemetry_sdk::logs::LogExporter for OtlpFileLogExporter {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
        let message = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
        };
        if message.resource_logs.is_empty() {
            return Ok(());
        }
        encode(&self.writer, &message)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.writer.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// The exporters `init` builds from the settings.
pub(crate) mod from_env {
    use super::*;
    use crate::settings::Settings;

    fn rotation(settings: &Settings) -> Rotation {
        Rotation {
            max_bytes: settings.otlp_file.max_bytes,
            keep_files: settings.otlp_file.keep_files,
        }
    }

    pub(crate) fn spans(settings: &Settings) -> Result<OtlpFileSpanExporter, String> {
        Ok(OtlpFileSpanExporter::new(
            settings.traces.otlp_file.clone(),
            rotation(settings),
        ))
    }

    pub(crate) fn metrics(settings: &Settings) -> Result<OtlpFileMetricExporter, String> {
        if let Some(warning) = &settings.metrics.temporality_warning {
            eprintln!("traced: {warning}");
        }
        Ok(OtlpFileMetricExporter::new(
            settings.metrics.otlp_file.clone(),
            rotation(settings),
            settings.metrics.temporality,
        ))
    }

    pub(crate) fn logs(settings: &Settings) -> Result<OtlpFileLogExporter, String> {
        Ok(OtlpFileLogExporter::new(
            settings.logs.otlp_file.clone(),
            rotation(settings),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        metric, number_data_point, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
        ResourceMetrics as ProtoResourceMetrics, ScopeMetrics, Sum,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
    use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn text(line: Vec<u8>) -> String {
        let text = String::from_utf8(line).unwrap();
        assert!(text.ends_with('\n') && !text[..text.len() - 1].contains('\n'));
        text.trim_end().to_owned()
    }

    fn resource() -> Option<ProtoResource> {
        Some(ProtoResource {
            attributes: vec![kv(
                "service.name",
                any_value::Value::StringValue("shop".into()),
            )],
            dropped_attributes_count: 0,
            entity_refs: vec![],
        })
    }

    fn scope() -> Option<InstrumentationScope> {
        Some(InstrumentationScope {
            name: "traced".into(),
            ..Default::default()
        })
    }

    /// The OTLP/JSON encoding: hex ids, enums as numbers, 64-bit integers as
    /// strings, lowerCamelCase names.
    #[test]
    fn spans_are_written_in_the_otlp_json_encoding() {
        let span = Span {
            trace_id: vec![
                0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
                0x47, 0x36,
            ],
            span_id: vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
            parent_span_id: vec![],
            name: "checkout".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: 1_581_452_772_000_000_321,
            end_time_unix_nano: 1_581_452_773_000_000_789,
            attributes: vec![
                kv(
                    "order.id",
                    any_value::Value::IntValue(-9_007_199_254_740_993),
                ),
                kv("ratio", any_value::Value::DoubleValue(0.5)),
                kv("cache.hit", any_value::Value::BoolValue(false)),
                kv(
                    "tags",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(any_value::Value::IntValue(7)),
                        }],
                    }),
                ),
                kv("blob", any_value::Value::BytesValue(vec![0xff, 0x00])),
                KeyValue {
                    key: "empty".into(),
                    value: None,
                    ..Default::default()
                },
            ],
            status: Some(Status {
                message: "boom".into(),
                code: 2,
            }),
            ..Default::default()
        };
        let message = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: resource(),
                scope_spans: vec![ScopeSpans {
                    scope: scope(),
                    spans: vec![span],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        // Compared as JSON values: the order of keys is not part of the encoding.
        let written: serde_json::Value =
            serde_json::from_str(&text(line(&message).unwrap())).unwrap();
        let expected: serde_json::Value = serde_json::from_str(concat!(
                r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}],"droppedAttributesCount":0,"entityRefs":[]},"#,
                r#""schemaUrl":"","scopeSpans":[{"schemaUrl":"","scope":{"attributes":[],"droppedAttributesCount":0,"name":"traced","version":""},"#,
                r#""spans":[{"attributes":[{"key":"order.id","value":{"intValue":"-9007199254740993"}},{"key":"ratio","value":{"doubleValue":0.5}},"#,
                r#"{"key":"cache.hit","value":{"boolValue":false}},{"key":"tags","value":{"arrayValue":{"values":[{"intValue":"7"}]}}},"#,
                r#"{"key":"blob","value":{"bytesValue":"/wA="}},{"key":"empty"}],"#,
                r#""droppedAttributesCount":0,"droppedEventsCount":0,"droppedLinksCount":0,"endTimeUnixNano":"1581452773000000789","events":[],"flags":0,"#,
                r#""kind":2,"links":[],"name":"checkout","parentSpanId":"","spanId":"00f067aa0ba902b7","startTimeUnixNano":"1581452772000000321","#,
                r#""status":{"code":2,"message":"boom"},"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","traceState":""}]}]}]}"#,
        ))
        .unwrap();
        assert_eq!(written, expected);
    }

    #[test]
    fn metrics_are_written_in_the_otlp_json_encoding() {
        let point = NumberDataPoint {
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            value: Some(number_data_point::Value::AsInt(123)),
            ..Default::default()
        };
        let histogram = HistogramDataPoint {
            count: 3,
            sum: None,
            bucket_counts: vec![1, 2],
            explicit_bounds: vec![5.0],
            min: Some(1.5),
            max: None,
            ..Default::default()
        };
        let message = ExportMetricsServiceRequest {
            resource_metrics: vec![ProtoResourceMetrics {
                resource: None,
                scope_metrics: vec![ScopeMetrics {
                    scope: None,
                    metrics: vec![
                        Metric {
                            name: "calls".into(),
                            unit: "1".into(),
                            data: Some(metric::Data::Sum(Sum {
                                data_points: vec![point],
                                aggregation_temporality: 2,
                                is_monotonic: true,
                            })),
                            ..Default::default()
                        },
                        Metric {
                            name: "duration".into(),
                            data: Some(metric::Data::Histogram(Histogram {
                                data_points: vec![histogram],
                                aggregation_temporality: 1,
                            })),
                            ..Default::default()
                        },
                    ],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let text = text(line(&message).unwrap());
        let written: serde_json::Value = serde_json::from_str(&text).unwrap();
        let metrics = &written["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
        for (i, expected) in [
            r#"{"name":"calls","unit":"1","description":"","metadata":[],"sum":{"aggregationTemporality":2,"dataPoints":[{"asInt":"123","attributes":[],"exemplars":[],"flags":0,"startTimeUnixNano":"1","timeUnixNano":"2"}],"isMonotonic":true}}"#,
            r#"{"name":"duration","unit":"","description":"","metadata":[],"histogram":{"aggregationTemporality":1,"dataPoints":[{"attributes":[],"bucketCounts":["1","2"],"count":"3","exemplars":[],"explicitBounds":[5.0],"flags":0,"min":1.5,"startTimeUnixNano":"0","timeUnixNano":"0"}]}}"#,
        ]
        .into_iter()
        .enumerate()
        {
            let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
            assert_eq!(metrics[i], expected);
        }
        // The absent `sum` and `max` of the histogram, and the absent resource
        // and scope, are left out rather than written as null.
        assert!(!text.contains("null"), "{text}");
    }

    #[test]
    fn logs_are_written_in_the_otlp_json_encoding() {
        let message = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: None,
                scope_logs: vec![ScopeLogs {
                    scope: None,
                    log_records: vec![LogRecord {
                        time_unix_nano: 1_581_452_773_000_000_789,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue("paid".into())),
                        }),
                        trace_id: vec![
                            0x08, 0x04, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab,
                        ],
                        span_id: vec![0x01, 0x02, 0x04, 0x08, 0, 0, 0, 0xcd],
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let text = text(line(&message).unwrap());
        for part in [
            r#""body":{"stringValue":"paid"}"#,
            r#""severityNumber":9"#,
            r#""severityText":"INFO""#,
            r#""timeUnixNano":"1581452773000000789""#,
            r#""observedTimeUnixNano":"0""#,
            r#""traceId":"080402010000000000000000000000ab""#,
            r#""spanId":"01020408000000cd""#,
        ] {
            assert!(text.contains(part), "{part}\nnot in\n{text}");
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "traced-otlp-file-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_rotate_at_line_boundaries_and_keep_a_bounded_number() {
        let dir = temp_dir("rotate");
        let path = dir.join("spans.jsonl");
        let writer = Writer::new(
            "spans",
            OutputStream::File(path.clone()),
            Rotation {
                max_bytes: 25,
                keep_files: 2,
            },
        );
        for i in 0..7 {
            writer
                .write(format!("line {i} of ten bytes\n").as_bytes())
                .unwrap();
        }
        writer.shutdown().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        // 20 bytes a line, 25 at most a file: one line each; 2 rotated kept.
        assert_eq!(read(&path), "line 6 of ten bytes\n");
        assert_eq!(read(&numbered(&path, 1)), "line 5 of ten bytes\n");
        assert_eq!(read(&numbered(&path, 2)), "line 4 of ten bytes\n");
        assert!(!numbered(&path, 3).exists());
        assert!(matches!(
            writer.write(b"x\n"),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_existing_file_is_appended_to_and_its_size_counts() {
        let dir = temp_dir("append");
        let path = dir.join("logs.jsonl");
        std::fs::write(&path, "old line, 20 bytes.\n").unwrap();
        let writer = Writer::new(
            "log records",
            OutputStream::File(path.clone()),
            Rotation {
                max_bytes: 30,
                keep_files: 1,
            },
        );
        writer.write(b"new\n").unwrap();
        writer.write(b"newer line\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(numbered(&path, 1)).unwrap(),
            "old line, 20 bytes.\nnew\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "newer line\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_directory_fails_then_works_once_it_exists() {
        let dir = temp_dir("missing");
        let path = dir.join("later").join("metrics.jsonl");
        let writer = Writer::new(
            "metrics",
            OutputStream::File(path.clone()),
            Rotation {
                max_bytes: 1 << 20,
                keep_files: 1,
            },
        );
        let e = writer.write(b"lost\n").unwrap_err();
        assert!(
            format!("{e:?}").contains(&path.display().to_string()),
            "{e:?}"
        );
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        writer.write(b"kept\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
        assert!(!writer.lock().failing);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn two_signals_naming_one_file_are_said_with_both_settings() {
        let dir = temp_dir("shared");
        let path = dir.join("all.jsonl");
        let (spans, warning) = Shared::open("spans", &path);
        assert_eq!(warning, None, "the first writer of a file");
        // The same file spelt another way, before and after it exists.
        let (metrics, warning) = Shared::open("metrics", &dir.join(".").join("all.jsonl"));
        let warning = warning.expect("a second signal to the same file");
        assert!(
            warning.starts_with(&format!(
                "TRACED_OTLP_FILE_TRACES and TRACED_OTLP_FILE_METRICS name the same file, {}:",
                dir.join(".").join("all.jsonl").display()
            )),
            "{warning}"
        );
        std::fs::write(&path, "").unwrap();
        let (logs, warning) = Shared::open("log records", &path);
        let warning = warning.expect("a third signal to the same file");
        assert!(
            warning.starts_with(
                "TRACED_OTLP_FILE_TRACES, TRACED_OTLP_FILE_METRICS and TRACED_OTLP_FILE_LOGS name the same file"
            ),
            "{warning}"
        );
        drop((spans, metrics, logs));
        // Gone with its writers: a new init starts afresh.
        let (_spans, warning) = Shared::open("spans", &path);
        assert_eq!(warning, None);
        let (_logs, warning) = Shared::open("log records", &path);
        assert!(warning.is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn files_of_their_own_and_one_signal_twice_are_not_said() {
        let dir = temp_dir("own");
        let (_spans, first) = Shared::open("spans", &dir.join("traces.jsonl"));
        let (_logs, second) = Shared::open("log records", &dir.join("logs.jsonl"));
        let (_again, third) = Shared::open("spans", &dir.join("traces.jsonl"));
        assert_eq!((first, second, third), (None, None, None));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_writer_leaves_the_open_files_when_it_shuts_down() {
        let dir = temp_dir("shutdown");
        let path = dir.join("one.jsonl");
        let rotation = Rotation {
            max_bytes: 1 << 20,
            keep_files: 1,
        };
        let writer = Writer::new("spans", OutputStream::File(path.clone()), rotation);
        assert!(Shared::open("metrics", &path).1.is_some());
        writer.shutdown().unwrap();
        assert_eq!(Shared::open("metrics", &path).1, None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
