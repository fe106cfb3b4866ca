//! Log records on stderr, one line each, with the span they were written in.

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// Prints each log record as one line: level, target, message, attributes, and
/// the trace and span it belongs to.
///
/// ```
/// use traced_runtime::export::console_logs::ConsoleLogExporter;
/// let exporter = ConsoleLogExporter::with_writer(Vec::new(), false);
/// # drop(exporter);
/// ```
pub struct ConsoleLogExporter {
    out: Mutex<Box<dyn Write + Send>>,
    color: bool,
}

impl std::fmt::Debug for ConsoleLogExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLogExporter")
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

impl Default for ConsoleLogExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleLogExporter {
    /// Writes to stderr, in colour when it is a terminal and `NO_COLOR` is unset.
    pub fn new() -> Self {
        let color = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self::with_writer(std::io::stderr(), color)
    }

    /// Writes to `writer`.
    pub fn with_writer<W: Write + Send + 'static>(writer: W, color: bool) -> Self {
        ConsoleLogExporter {
            out: Mutex::new(Box::new(writer)),
            color,
        }
    }
}

fn value(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.as_str().to_owned(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn level(s: Option<Severity>) -> (&'static str, &'static str) {
    match s.map_or(9, |s| s as i32) {
        1..=4 => ("TRACE", "\x1b[2m"),
        5..=8 => ("DEBUG", "\x1b[34m"),
        9..=12 => ("INFO ", "\x1b[32m"),
        13..=16 => ("WARN ", "\x1b[33m"),
        _ => ("ERROR", "\x1b[31m"),
    }
}

impl LogExporter for ConsoleLogExporter {
    fn export(
        &self,
        batch: LogBatch<'_>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let mut text = String::new();
        for (record, _scope) in batch.iter() {
            let (name, paint) = level(record.severity_number());
            let (on, off) = if self.color {
                (paint, "\x1b[0m")
            } else {
                ("", "")
            };
            let _ = write!(text, "{on}{name}{off}");
            if let Some(target) = record.target() {
                let _ = write!(text, " {target}:");
            }
            if let Some(body) = record.body() {
                let body = value(body).replace(['\n', '\r'], " ");
                let _ = write!(text, " {}", body.replace('\x1b', "\\e"));
            }
            for (k, v) in record.attributes_iter() {
                let _ = write!(text, " {k}={}", value(v).replace('\x1b', "\\e"));
            }
            if let Some(cx) = record.trace_context() {
                let _ = write!(text, " trace={} span={}", cx.trace_id, cx.span_id);
            }
            text.push('\n');
        }
        let result = match self.out.lock() {
            Ok(mut out) => out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string())),
            Err(_) => Err(OTelSdkError::InternalFailure("poisoned".to_owned())),
        };
        std::future::ready(result)
    }
}
