//! Text helpers shared by the console exporters: colour detection, writing,
//! styled output lines, log levels, and cutting and escaping of values so that
//! they stay on one line and cannot emit terminal escape sequences.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use opentelemetry::logs::Severity;
use opentelemetry::{Array, Key, Value};
use opentelemetry_sdk::Resource;

/// Longest attribute value, description, status description or service name
/// shown before it is cut with `…`.
pub(super) const MAX_VALUE_CHARS: usize = 80;

/// Whether output to standard error is coloured: it is a terminal and the
/// `NO_COLOR` environment variable is unset or empty.
pub(super) fn stderr_color() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Writes `text` with a single `write_all` followed by `flush`; nothing at all
/// when `text` is empty.
pub(super) fn write_text<W: Write + ?Sized>(writer: &mut W, text: &str) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    writer
        .write_all(text.as_bytes())
        .and_then(|()| writer.flush())
}

/// An SGR parameter string; empty for unstyled text.
#[derive(Clone, Copy)]
pub(super) struct Style(&'static str);

impl Style {
    pub(super) const PLAIN: Self = Self("");
    pub(super) const BOLD: Self = Self("1");
    pub(super) const DIM: Self = Self("2");
    pub(super) const RED: Self = Self("31");
    pub(super) const BLUE: Self = Self("34");
    pub(super) const BOLD_RED: Self = Self("1;31");
    pub(super) const GREEN: Self = Self("32");
    pub(super) const YELLOW: Self = Self("33");
    pub(super) const CYAN: Self = Self("36");

    /// The SGR parameters of the style.
    pub(super) fn sgr(self) -> &'static str {
        self.0
    }
}

/// A run of styled text.
pub(super) type Segment = (Style, String);

/// The width in columns of `segments`.
pub(super) fn width(segments: &[Segment]) -> usize {
    segments.iter().map(|(_, text)| text.chars().count()).sum()
}

/// `key=`, dim, as attributes are shown before their value.
pub(super) fn key_segment(key: &str) -> Segment {
    (Style::DIM, format!("{}=", one_line(key, MAX_VALUE_CHARS)))
}

/// One output line under construction, tracking its width in columns.
pub(super) struct Line {
    text: String,
    width: usize,
    color: bool,
}

impl Line {
    /// An empty line, with ANSI colours if `color` is true.
    pub(super) fn new(color: bool) -> Self {
        Self {
            text: String::new(),
            width: 0,
            color,
        }
    }

    /// Columns written so far.
    pub(super) fn width(&self) -> usize {
        self.width
    }

    pub(super) fn push(&mut self, style: Style, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.color && !style.0.is_empty() {
            let _ = write!(self.text, "\x1b[{}m{text}\x1b[0m", style.0);
        } else {
            self.text.push_str(text);
        }
        self.width += text.chars().count();
    }

    pub(super) fn extend(&mut self, segments: &[Segment]) {
        for (style, text) in segments {
            self.push(*style, text);
        }
    }

    pub(super) fn pad_to(&mut self, column: usize) {
        if column > self.width {
            self.text
                .extend(std::iter::repeat_n(' ', column - self.width));
            self.width = column;
        }
    }

    pub(super) fn end(self, out: &mut String) {
        out.push_str(&self.text);
        out.push('\n');
    }
}

/// The level of a log record, from its severity number (INFO when it has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub(super) fn of(severity: Option<Severity>) -> Self {
        match severity.map_or(9, |s| s as i32) {
            1..=4 => Self::Trace,
            5..=8 => Self::Debug,
            9..=12 => Self::Info,
            13..=16 => Self::Warn,
            _ => Self::Error,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }

    /// The colour of the level.
    pub(super) fn style(self) -> Style {
        match self {
            Self::Trace => Style::DIM,
            Self::Debug => Style::BLUE,
            Self::Info => Style::GREEN,
            Self::Warn => Style::YELLOW,
            Self::Error => Style::RED,
        }
    }
}

/// The `service.name` of `resource`, on one line and cut.
pub(super) fn service_name(resource: &Resource) -> Option<String> {
    resource
        .get(&Key::from_static_str("service.name"))
        .map(|name| one_line(&name.as_str(), MAX_VALUE_CHARS))
}

/// Formats an attribute value: strings quoted and escaped, long values cut;
/// floats as [`Display`](std::fmt::Display) writes them.
pub(super) fn fmt_value(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s.as_str()),
        Value::Array(Array::String(items)) => list(items.iter().map(|s| quote(s.as_str()))),
        Value::Array(Array::Bool(items)) => list(items.iter().map(ToString::to_string)),
        Value::Array(Array::I64(items)) => list(items.iter().map(ToString::to_string)),
        Value::Array(Array::F64(items)) => list(items.iter().map(ToString::to_string)),
        other => one_line(&other.to_string(), MAX_VALUE_CHARS),
    }
}

/// `s` cut to [`MAX_VALUE_CHARS`], quoted and escaped.
pub(super) fn quote(s: &str) -> String {
    format!("{:?}", clip(s, MAX_VALUE_CHARS))
}

/// Joins `items` as `[a,b,c]`, leaving out the tail once it gets long.
pub(super) fn list(items: impl Iterator<Item = String>) -> String {
    let mut out = String::from("[");
    let mut width = 1;
    for (i, item) in items.enumerate() {
        let item_width = item.chars().count();
        if i > 0 {
            if width + 1 + item_width > MAX_VALUE_CHARS {
                out.push_str(",…");
                break;
            }
            out.push(',');
            width += 1;
        }
        out.push_str(&item);
        width += item_width;
    }
    out.push(']');
    out
}

/// Cuts `s` to at most `max` characters, ending with `…` if it was cut.
fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().nth(max).is_none() {
        return Cow::Borrowed(s);
    }
    let cut = s
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("{}…", &s[..cut]))
}

/// Cuts `s` like [`clip`] and escapes control characters, so that it stays on
/// one line and cannot emit terminal escape sequences.
pub(super) fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clip(s, max).chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Writers and helpers the tests of the console exporters share.
#[cfg(test)]
pub(super) mod test_support {
    use std::future::Future;
    use std::io::Write;
    use std::pin::pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    /// A writer whose output the test can read back.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        pub(crate) fn take(&self) -> String {
            let bytes = std::mem::take(&mut *self.0.lock().unwrap());
            String::from_utf8(bytes).unwrap()
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A writer that always fails.
    pub(crate) struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    /// Runs an export to completion; the console exporters never wait, so
    /// one poll completes it.
    pub(crate) fn complete<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(result) => result,
            Poll::Pending => panic!("the console exporters never wait"),
        }
    }
}
