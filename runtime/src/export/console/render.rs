//! Drawing a trace: the tree, the time axis, the bars and the detail lines.

use super::*;

/// Why a span is drawn at the top level of a tree although it has a parent.
#[derive(Clone, Copy)]
pub(super) enum ParentNote {
    /// The parent lives in another process: it is remote and did not arrive
    /// in time.
    Remote(SpanId),
    /// The parent was printed before this span ended.
    PrintedEarlier(SpanId),
    /// The parent has not ended (yet).
    NotSeen(SpanId),
}

impl ParentNote {
    /// Describes the parent of `span` if it were drawn at the top of a tree.
    pub(super) fn for_top(span: &SpanData, printed: &Printed) -> Option<Self> {
        let parent = span.parent_span_id;
        if parent == SpanId::INVALID {
            None
        } else if printed.contains(span.span_context.trace_id(), parent) {
            // A remote parent too: a client span of this process.
            Some(Self::PrintedEarlier(parent))
        } else if span.parent_span_is_remote {
            Some(Self::Remote(parent))
        } else {
            Some(Self::NotSeen(parent))
        }
    }

    /// Whether a span with this note waits for its parent: a remote parent
    /// may be a client span of this process that has not ended yet.
    pub(super) fn waits(self) -> bool {
        matches!(self, Self::NotSeen(_) | Self::Remote(_))
    }
}

impl fmt::Display for ParentNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remote(id) => write!(f, "(remote parent {id})"),
            Self::PrintedEarlier(id) => write!(f, "(parent {id} printed earlier)"),
            Self::NotSeen(id) => write!(f, "(parent {id} not seen)"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Branch {
    Top,
    Middle,
    Last,
}

impl Branch {
    /// Drawn before the span's name.
    pub(super) fn connector(self) -> &'static str {
        match self {
            Self::Top => "",
            Self::Middle => "├─ ",
            Self::Last => "└─ ",
        }
    }

    /// Drawn before the lines of the span's descendants.
    pub(super) fn continuation(self) -> &'static str {
        match self {
            Self::Top => "",
            Self::Middle => "│  ",
            Self::Last => "   ",
        }
    }
}

/// A span placed in the tree.
pub(super) struct Row<'a> {
    pub(super) span: &'a SpanData,
    pub(super) name: String,
    pub(super) guide: String,
    pub(super) branch: Branch,
    /// Drawn before the lines that describe the span.
    pub(super) detail_guide: String,
    pub(super) note: Option<ParentNote>,
}

impl Row<'_> {
    pub(super) fn label_width(&self) -> usize {
        let kind = kind_label(&self.span.span_kind).map_or(0, |kind| kind.len() + 1);
        self.guide.chars().count()
            + self.branch.connector().chars().count()
            + self.name.chars().count()
            + kind
    }
}

/// Places `spans` in a forest: children under their parents, ordered by start
/// time; spans whose parent is absent at the top, annotated by `note`.
pub(super) fn layout<'a>(
    spans: &'a [SpanData],
    mut note: impl FnMut(&SpanData) -> Option<ParentNote>,
) -> Vec<Row<'a>> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, span)| (span.span_context.span_id(), i))
        .collect();
    let mut children = vec![Vec::new(); spans.len()];
    for (i, span) in spans.iter().enumerate() {
        if span.parent_span_id == SpanId::INVALID {
            continue;
        }
        if let Some(&parent) = index.get(&span.parent_span_id) {
            if parent != i {
                children[parent].push(i);
            }
        }
    }
    // By start time; the rest only makes the order deterministic.
    let by_start = |&i: &usize| {
        let span = &spans[i];
        (
            span.start_time,
            span.end_time,
            span.span_context.span_id().to_bytes(),
        )
    };
    for siblings in &mut children {
        siblings.sort_by_key(by_start);
    }
    let mut candidates: Vec<usize> = (0..spans.len()).collect();
    candidates.sort_by_key(by_start);
    let is_top = |i: &usize| {
        let parent = spans[*i].parent_span_id;
        parent == SpanId::INVALID || index.get(&parent).is_none_or(|&p| p == *i)
    };
    let (tops, rest): (Vec<usize>, Vec<usize>) = candidates.into_iter().partition(is_top);

    let mut rows = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    // Spans in a parent cycle (malformed input) cannot be reached from a top;
    // trying `rest` after `tops` draws them as tops too.
    for start in tops.into_iter().chain(rest) {
        let mut stack = vec![(start, String::new(), Branch::Top, 0)];
        while let Some((i, guide, branch, depth)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            let span = &spans[i];
            let kids = &children[i];
            let mut child_guide = guide.clone();
            if depth < MAX_INDENT_DEPTH {
                child_guide.push_str(branch.continuation());
            }
            let detail_guide =
                format!("{child_guide}{}", if kids.is_empty() { "  " } else { "│ " });
            for (k, &kid) in kids.iter().enumerate().rev() {
                let kid_branch = if k + 1 == kids.len() {
                    Branch::Last
                } else {
                    Branch::Middle
                };
                stack.push((kid, child_guide.clone(), kid_branch, depth + 1));
            }
            rows.push(Row {
                span,
                name: one_line(&span.name, MAX_NAME_CHARS),
                note: if branch == Branch::Top {
                    note(span)
                } else {
                    None
                },
                guide,
                branch,
                detail_guide,
            });
        }
    }
    rows
}

/// The time axis shared by the spans of one printed trace.
pub(super) struct Axis {
    pub(super) start: SystemTime,
    pub(super) total_ns: u128,
}

impl Axis {
    /// Leading blank cells and bar cells for `span`; at least one bar cell.
    pub(super) fn cells(&self, span: &SpanData) -> (usize, usize) {
        let offset = elapsed(self.start, span.start_time).as_nanos();
        let length = elapsed(span.start_time, span.end_time).as_nanos();
        let width = BAR_WIDTH as u128;
        let first = (offset * width / self.total_ns).min(width - 1);
        let last = ((offset + length) * width)
            .div_ceil(self.total_ns)
            .clamp(first + 1, width);
        // Both are at most BAR_WIDTH, so the casts are lossless.
        (first as usize, (last - first) as usize)
    }
}

pub(super) struct Renderer<'a> {
    pub(super) color: bool,
    pub(super) service_name: Option<&'a str>,
    /// Log records to draw under each span, oldest first.
    pub(super) records: &'a HashMap<SpanId, Vec<HeldRecord>>,
}

impl Renderer<'_> {
    pub(super) fn line(&self) -> Line {
        Line::new(self.color)
    }

    /// Renders the spans of one trace, followed by a blank line.
    pub(super) fn trace(
        &self,
        out: &mut String,
        spans: &[SpanData],
        note: impl FnMut(&SpanData) -> Option<ParentNote>,
    ) {
        let Some(first) = spans.first() else {
            return;
        };
        let start = spans
            .iter()
            .map(|s| s.start_time)
            .min()
            .unwrap_or(first.start_time);
        let end = spans
            .iter()
            .map(|s| s.end_time.max(s.start_time))
            .max()
            .unwrap_or(first.end_time);
        let window = elapsed(start, end);
        let axis = Axis {
            start,
            total_ns: window.as_nanos().max(1),
        };
        let rows = layout(spans, note);
        let incomplete = rows
            .iter()
            .any(|row| matches!(row.note, Some(ParentNote::NotSeen(_))));

        self.header(out, first.span_context.trace_id(), window, incomplete);
        let label_width = rows.iter().map(Row::label_width).max().unwrap_or(0);
        for row in &rows {
            self.span_line(out, row, label_width, &axis);
            self.details(out, row);
        }
        out.push('\n');
    }

    pub(super) fn header(
        &self,
        out: &mut String,
        trace_id: TraceId,
        window: Duration,
        incomplete: bool,
    ) {
        let mut line = self.line();
        line.push(Style::DIM, "trace ");
        line.push(Style::BOLD, &trace_id.to_string());
        if let Some(service) = self.service_name {
            line.push(Style::DIM, " · ");
            line.push(Style::CYAN, service);
        }
        line.push(Style::DIM, " · ");
        line.push(Style::PLAIN, &fmt_duration(window));
        if incomplete {
            line.push(Style::DIM, " · ");
            line.push(Style::YELLOW, "incomplete");
        }
        line.end(out);
    }

    pub(super) fn span_line(
        &self,
        out: &mut String,
        row: &Row<'_>,
        label_width: usize,
        axis: &Axis,
    ) {
        let span = row.span;
        let mut line = self.line();
        line.push(Style::DIM, &row.guide);
        line.push(Style::DIM, row.branch.connector());
        line.push(Style::BOLD, &row.name);
        if let Some(kind) = kind_label(&span.span_kind) {
            line.push(Style::PLAIN, " ");
            line.push(Style::DIM, kind);
        }

        let duration = fmt_duration(elapsed(span.start_time, span.end_time));
        let duration_end = label_width + 2 + DURATION_WIDTH;
        line.pad_to(duration_end.saturating_sub(duration.chars().count()));
        line.push(Style::PLAIN, &duration);

        let bar_start = duration_end + 2;
        let (blank, bar) = axis.cells(span);
        let is_error = matches!(span.status, Status::Error { .. });
        line.pad_to(bar_start + blank);
        line.push(
            if is_error { Style::RED } else { Style::CYAN },
            &"━".repeat(bar),
        );

        match &span.status {
            Status::Error { description } => {
                line.pad_to(bar_start + BAR_WIDTH + 2);
                let mut marker = String::from("✗ ERROR");
                if !description.is_empty() {
                    marker.push_str(": ");
                    marker.push_str(&one_line(description, MAX_VALUE_CHARS));
                }
                line.push(Style::BOLD_RED, &marker);
            }
            Status::Ok => {
                line.pad_to(bar_start + BAR_WIDTH + 2);
                line.push(Style::GREEN, "✓");
            }
            Status::Unset => {}
        }
        line.end(out);
    }

    /// Renders the lines under a span: why it is a top, where it was
    /// recorded, its attributes, events and log records, and links.
    pub(super) fn details(&self, out: &mut String, row: &Row<'_>) {
        let span = row.span;
        let guide = row.detail_guide.as_str();
        if let Some(note) = row.note {
            self.dim_line(out, guide, &note.to_string());
        }

        let mut file = None;
        let mut line_number = None;
        let mut attributes = Vec::new();
        for kv in &span.attributes {
            match kv.key.as_str() {
                "code.file.path" | "code.filepath" => file = Some(&kv.value),
                "code.line.number" | "code.lineno" => line_number = Some(&kv.value),
                key if key.starts_with("code.") => {}
                _ => attributes.push(attribute(kv)),
            }
        }
        if let Some(file) = file {
            let mut location = format!("at {}", one_line(&file.to_string(), MAX_VALUE_CHARS));
            if let Some(number) = line_number {
                let _ = write!(
                    location,
                    ":{}",
                    one_line(&number.to_string(), MAX_VALUE_CHARS)
                );
            }
            self.dim_line(out, guide, &location);
        }
        if span.dropped_attributes_count > 0 {
            attributes.push(dropped(span.dropped_attributes_count, "attributes"));
        }
        self.wrapped(out, guide, &[], &attributes, 0);

        // Events and records each in their own order, merged by time.
        let mut records = self
            .records
            .get(&span.span_context.span_id())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .peekable();
        for event in span.events.iter() {
            while let Some(record) =
                records.next_if(|record| record.time.is_some_and(|time| time < event.timestamp))
            {
                self.record(out, guide, span, record);
            }
            let lead = vec![
                (Style::YELLOW, "• ".to_owned()),
                (Style::PLAIN, one_line(&event.name, MAX_NAME_CHARS)),
                (Style::PLAIN, " ".to_owned()),
                (Style::DIM, fmt_offset(span.start_time, event.timestamp)),
            ];
            let mut items: Vec<_> = event.attributes.iter().map(attribute).collect();
            if event.dropped_attributes_count > 0 {
                items.push(dropped(event.dropped_attributes_count, "attributes"));
            }
            self.wrapped(out, guide, &lead, &items, 2);
        }
        for record in records {
            self.record(out, guide, span, record);
        }
        if span.events.dropped_count > 0 {
            let lead = vec![(Style::YELLOW, "• ".to_owned())];
            let items = vec![dropped(span.events.dropped_count, "events")];
            self.wrapped(out, guide, &lead, &items, 2);
        }

        for link in span.links.iter() {
            let context = &link.span_context;
            let lead = vec![
                (Style::DIM, "↪ link ".to_owned()),
                (
                    Style::PLAIN,
                    format!("{}:{}", context.trace_id(), context.span_id()),
                ),
            ];
            let mut items: Vec<_> = link.attributes.iter().map(attribute).collect();
            if link.dropped_attributes_count > 0 {
                items.push(dropped(link.dropped_attributes_count, "attributes"));
            }
            self.wrapped(out, guide, &lead, &items, 2);
        }
        if span.links.dropped_count > 0 {
            let lead = vec![(Style::DIM, "↪ ".to_owned())];
            let items = vec![dropped(span.links.dropped_count, "links")];
            self.wrapped(out, guide, &lead, &items, 2);
        }
    }

    /// Renders a log record written in `span`.
    pub(super) fn record(
        &self,
        out: &mut String,
        guide: &str,
        span: &SpanData,
        record: &HeldRecord,
    ) {
        let level = Level::of(record.severity);
        let mut lead = vec![(Style::DIM, "▸ ".to_owned())];
        if let Some(time) = record.time {
            lead.push((Style::DIM, fmt_offset(span.start_time, time)));
            lead.push((Style::PLAIN, " ".to_owned()));
        }
        lead.push((level.style(), level.name().to_owned()));
        if let Some(target) = &record.target {
            lead.push((Style::PLAIN, " ".to_owned()));
            lead.push((
                Style::DIM,
                format!("{}:", one_line(target, MAX_VALUE_CHARS)),
            ));
        }
        if let Some(body) = &record.body {
            let text = match body {
                AnyValue::String(s) => s.as_str().replace(['\n', '\r'], " "),
                other => fmt_any(other),
            };
            lead.push((Style::PLAIN, " ".to_owned()));
            // The message is not cut: it is the point of the record.
            lead.push((Style::PLAIN, one_line(&text, usize::MAX)));
        }
        let items: Vec<_> = record
            .attributes
            .iter()
            .map(|(key, value)| vec![key_segment(key.as_str()), (Style::PLAIN, fmt_any(value))])
            .collect();
        self.wrapped(out, guide, &lead, &items, 2);
    }

    pub(super) fn dim_line(&self, out: &mut String, guide: &str, text: &str) {
        let mut line = self.line();
        line.push(Style::DIM, guide);
        line.push(Style::DIM, text);
        line.end(out);
    }

    /// Renders `lead` followed by `items` separated by spaces, starting a new
    /// line (indented by `indent`) when an item would pass [`WRAP_WIDTH`].
    pub(super) fn wrapped(
        &self,
        out: &mut String,
        guide: &str,
        lead: &[Segment],
        items: &[Vec<Segment>],
        indent: usize,
    ) {
        if lead.is_empty() && items.is_empty() {
            return;
        }
        let mut line = self.line();
        line.push(Style::DIM, guide);
        let start = line.width();
        let mut has_content = !lead.is_empty();
        line.extend(lead);
        for item in items {
            if has_content {
                if line.width() - start + 1 + width(item) > WRAP_WIDTH {
                    line.end(out);
                    line = self.line();
                    line.push(Style::DIM, guide);
                    line.pad_to(start + indent);
                } else {
                    line.push(Style::PLAIN, " ");
                }
            }
            line.extend(item);
            has_content = true;
        }
        line.end(out);
    }
}

pub(super) fn kind_label(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Client => Some("client"),
        SpanKind::Server => Some("server"),
        SpanKind::Producer => Some("producer"),
        SpanKind::Consumer => Some("consumer"),
        SpanKind::Internal => None,
    }
}

pub(super) fn attribute(kv: &KeyValue) -> Vec<Segment> {
    vec![
        key_segment(kv.key.as_str()),
        (Style::PLAIN, fmt_value(&kv.value)),
    ]
}

pub(super) fn dropped(count: u32, what: &str) -> Vec<Segment> {
    vec![(Style::DIM, format!("(+{count} {what} dropped)"))]
}

/// Formats a log attribute value like [`fmt_value`] does span attributes.
pub(super) fn fmt_any(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => quote(s.as_str()),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => one_line(&format!("{other:?}"), MAX_VALUE_CHARS),
    }
}

/// Time from `from` to `to`, zero if `to` is earlier.
pub(super) fn elapsed(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// Formats the signed offset of `to` from `from`, as in `+1.20ms`.
pub(super) fn fmt_offset(from: SystemTime, to: SystemTime) -> String {
    match to.duration_since(from) {
        Ok(after) => format!("+{}", fmt_duration(after)),
        Err(err) => format!("-{}", fmt_duration(err.duration())),
    }
}

/// Formats a duration with three significant digits: `850ns`, `12.3µs`,
/// `4.56ms`, `1.23s`; from a minute on `2m05s`, from an hour on `1h02m`.
pub(super) fn fmt_duration(duration: Duration) -> String {
    pub(super) fn three_digits(value: f64, unit: &str) -> String {
        if value < 9.995 {
            format!("{value:.2}{unit}")
        } else if value < 99.95 {
            format!("{value:.1}{unit}")
        } else {
            format!("{value:.0}{unit}")
        }
    }

    let nanos = duration.as_nanos();
    // The thresholds sit where rounding would otherwise print `1000µs`.
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 999_500 {
        three_digits(nanos as f64 / 1e3, "µs")
    } else if nanos < 999_500_000 {
        three_digits(nanos as f64 / 1e6, "ms")
    } else if nanos < 59_950_000_000 {
        three_digits(nanos as f64 / 1e9, "s")
    } else {
        let secs = (nanos + 500_000_000) / 1_000_000_000;
        if secs < 3600 {
            format!("{}m{:02}s", secs / 60, secs % 60)
        } else {
            let mins = (secs + 30) / 60;
            format!("{}h{:02}m", mins / 60, mins % 60)
        }
    }
}
