//! The span `#[traced]` and the body macros record on the calling thread: a
//! compact record behind the OpenTelemetry API's `Span` trait, turned into the
//! SDK's `SpanData` only when it reaches the span processors.

use crate::site::CallSite;
use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLimits, SpanLinks};
use opentelemetry_semantic_conventions::attribute as semconv;
use std::borrow::Cow;
use std::time::SystemTime;

/// What a span recorded, from its start to its end.
pub(crate) struct Record {
    pub(crate) span_context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_span_is_remote: bool,
    pub(crate) kind: SpanKind,
    pub(crate) name: Cow<'static, str>,
    /// The call site whose `code.*` attributes come first, written when the
    /// span data is built (not on the calling thread when spans are buffered).
    pub(crate) code: Option<&'static CallSite>,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped_attributes: u32,
    pub(crate) events: Vec<Event>,
    pub(crate) dropped_events: u32,
    pub(crate) links: Vec<Link>,
    pub(crate) dropped_links: u32,
    pub(crate) status: Status,
}

/// The number of `code.*` attributes a call site writes.
const CODE_ATTRIBUTES: usize = 3;

impl Record {
    /// The span data the SDK's processors take: the same as the SDK's own span
    /// would have produced for the same calls.
    pub(crate) fn into_span_data(self: Box<Self>) -> SpanData {
        let this = *self;
        this.span_data()
    }

    /// The span data, leaving the record empty so that its box can be used
    /// for another span.
    pub(crate) fn take_span_data(&mut self) -> SpanData {
        std::mem::replace(self, Record::EMPTY).span_data()
    }

    /// Whether this is [`Record::EMPTY`] (it owns no memory).
    pub(crate) fn is_empty(&self) -> bool {
        self.attributes.capacity() == 0
            && self.events.capacity() == 0
            && self.links.capacity() == 0
            && matches!(self.name, Cow::Borrowed(""))
            && self.span_context == SpanContext::NONE
            && self.status == Status::Unset
    }

    /// A record of nothing: what a box holds between two spans.
    pub(crate) const EMPTY: Record = Record {
        span_context: SpanContext::NONE,
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        kind: SpanKind::Internal,
        name: Cow::Borrowed(""),
        code: None,
        start: SystemTime::UNIX_EPOCH,
        end: SystemTime::UNIX_EPOCH,
        attributes: Vec::new(),
        dropped_attributes: 0,
        events: Vec::new(),
        dropped_events: 0,
        links: Vec::new(),
        dropped_links: 0,
        status: Status::Unset,
    };

    fn span_data(self) -> SpanData {
        let attributes = match self.code {
            Some(site) => {
                let mut all = Vec::with_capacity(CODE_ATTRIBUTES + self.attributes.len());
                all.extend(code_attributes(site));
                all.extend(self.attributes);
                all
            }
            None => self.attributes,
        };
        let mut events = SpanEvents::default();
        events.events = self.events;
        events.dropped_count = self.dropped_events;
        let mut links = SpanLinks::default();
        links.links = self.links;
        links.dropped_count = self.dropped_links;
        SpanData {
            span_context: self.span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_span_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start,
            end_time: self.end,
            attributes,
            dropped_attributes_count: self.dropped_attributes,
            events,
            links,
            status: self.status,
            instrumentation_scope: crate::tracer::SCOPE.clone(),
        }
    }
}

/// The `code.*` attributes of a call site, in the order the span shows them.
pub(crate) fn code_attributes(site: &'static CallSite) -> [KeyValue; CODE_ATTRIBUTES] {
    [
        KeyValue::new(
            Key::from_static_str(semconv::CODE_FUNCTION_NAME),
            site.function,
        ),
        KeyValue::new(Key::from_static_str(semconv::CODE_FILE_PATH), site.file),
        KeyValue::new(
            Key::from_static_str(semconv::CODE_LINE_NUMBER),
            i64::from(site.line),
        ),
    ]
}

/// The limit of attributes a record keeps itself, of the span's `limit`: the
/// `code.*` attributes count towards it.
pub(crate) fn own_limit(limit: usize, record: &Record) -> usize {
    if record.code.is_some() {
        code_limit(limit)
    } else {
        limit
    }
}

/// The limit of attributes a record with a call site keeps itself.
pub(crate) fn code_limit(limit: usize) -> usize {
    limit.saturating_sub(CODE_ATTRIBUTES)
}

/// A recording span of `traced`'s own, as the current span of a context:
/// everything the OpenTelemetry API does on it (`set_attribute`, `add_event`,
/// `set_status`, `end`) lands in its record, within the SDK's span limits.
pub(crate) struct FastSpan {
    span_context: SpanContext,
    /// `None` once ended.
    record: Option<Box<Record>>,
    limits: SpanLimits,
}

impl FastSpan {
    pub(crate) fn new(record: Box<Record>, limits: SpanLimits) -> Self {
        FastSpan {
            span_context: record.span_context.clone(),
            record: Some(record),
            limits,
        }
    }
}

impl opentelemetry::trace::Span for FastSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        mut attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        let limits = self.limits;
        if let Some(record) = &mut self.record {
            if record.events.len() < limits.max_events_per_span as usize {
                let dropped = truncate(&mut attributes, limits.max_attributes_per_event);
                record
                    .events
                    .push(Event::new(name, timestamp, attributes, dropped));
            } else {
                record.dropped_events += 1;
            }
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.record.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        let limit = self.limits.max_attributes_per_span as usize;
        if let Some(record) = &mut self.record {
            if record.attributes.len() < own_limit(limit, record) {
                record.attributes.push(attribute);
            } else {
                record.dropped_attributes += 1;
            }
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(record) = &mut self.record {
            // As the SDK: Ok > Error > Unset, and a status never goes down.
            if status > record.status {
                record.status = status;
            }
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = &mut self.record {
            record.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let limits = self.limits;
        if let Some(record) = &mut self.record {
            if record.links.len() < limits.max_links_per_span as usize {
                let dropped = truncate(&mut attributes, limits.max_attributes_per_link);
                record
                    .links
                    .push(Link::new(span_context, attributes, dropped));
            } else {
                record.dropped_links += 1;
            }
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(mut record) = self.record.take() {
            record.end = timestamp;
            super::pipeline::deliver(record);
        }
    }
}

impl Drop for FastSpan {
    /// A span dropped without `end` ends now, as the SDK's does.
    fn drop(&mut self) {
        if self.record.is_some() {
            opentelemetry::trace::Span::end(self);
        }
    }
}

/// Links and their attributes within the span limits, as the SDK's span start
/// keeps them; returns the number of links dropped.
pub(crate) fn limit_links(links: &mut Vec<Link>, limits: &SpanLimits) -> u32 {
    let dropped = links
        .len()
        .saturating_sub(limits.max_links_per_span as usize);
    links.truncate(limits.max_links_per_span as usize);
    for link in links.iter_mut() {
        link.dropped_attributes_count =
            truncate(&mut link.attributes, limits.max_attributes_per_link);
    }
    dropped as u32
}

/// Keeps at most `limit` of `attributes`; returns how many were dropped.
fn truncate(attributes: &mut Vec<KeyValue>, limit: u32) -> u32 {
    let dropped = attributes.len().saturating_sub(limit as usize);
    attributes.truncate(limit as usize);
    dropped as u32
}
