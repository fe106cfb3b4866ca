//! The start of a span on `traced`'s own path.

use super::pipeline::Pipeline;
use super::record::{code_attributes, limit_links, own_limit, FastSpan, Record};
use crate::site::{Attrs, CallSite};
use opentelemetry::trace::{Link, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample, SpanLimits};
use std::borrow::Cow;
use std::sync::Arc;

/// What `init` installed for `traced`'s own spans.
pub(crate) struct FastPath {
    pub(crate) pipeline: Arc<Pipeline>,
    sampler: Box<dyn ShouldSample>,
    limits: SpanLimits,
}

impl FastPath {
    /// `sampler` decides as the provider's does; `limits` are the SDK's
    /// (`OTEL_SPAN_*_LIMIT`, as its provider reads them).
    pub(crate) fn new(pipeline: Arc<Pipeline>, sampler: Box<dyn ShouldSample>) -> Self {
        FastPath {
            pipeline,
            sampler,
            limits: opentelemetry_sdk::trace::Config::default().span_limits,
        }
    }

    /// Starts the span of `site` under `parent`; returns `base` with it as the
    /// current span, whether it records, and the secrets among its call-site
    /// attributes.
    pub(crate) fn start(
        &self,
        site: &'static CallSite,
        parent: &Context,
        base: &Context,
        mut links: Vec<Link>,
        fill: &mut dyn FnMut(&mut Attrs),
    ) -> (Context, bool, Option<crate::process::redact::SpanSecrets>) {
        let parent_span = parent.span();
        let psc = parent_span.span_context();
        let empty = SpanContext::empty_context();
        let psc = if psc.is_valid() { psc } else { &empty };
        let new_trace = !psc.is_valid();
        let (new_id, span_id) = super::ids::new_ids(new_trace);
        let trace_id = new_id.unwrap_or_else(|| psc.trace_id());
        let result =
            self.sampler
                .should_sample(Some(parent), trace_id, site.name, &site.kind, &[], &links);
        // A new trace's id is random (W3C Level 2): its flags say so, and the
        // spans under it inherit the flag with the trace.
        let flags = if new_trace {
            TraceFlags::new(crate::propagation::RANDOM)
        } else {
            psc.trace_flags()
        };
        let sampled = match result.decision {
            SamplingDecision::Drop => {
                // Not sampled, still random: headers sent under it say so.
                let flags = TraceFlags::new(flags.to_u8() & crate::propagation::RANDOM);
                let sc = SpanContext::new(trace_id, span_id, flags, false, result.trace_state);
                return (base.with_remote_span_context(sc), false, None);
            }
            SamplingDecision::RecordOnly => false,
            SamplingDecision::RecordAndSample => true,
        };
        let span_context = SpanContext::new(
            trace_id,
            span_id,
            flags.with_sampled(sampled),
            false,
            result.trace_state,
        );
        let dropped_links = limit_links(&mut links, &self.limits);
        let limit = self.limits.max_attributes_per_span as usize;
        let (user, secrets) = crate::site::site_attributes(fill);
        let mut record = Box::new(Record {
            span_context: span_context.clone(),
            parent_span_id: if psc.is_valid() {
                psc.span_id()
            } else {
                SpanId::INVALID
            },
            parent_span_is_remote: psc.is_valid() && psc.is_remote(),
            kind: site.kind.clone(),
            name: Cow::Borrowed(site.name),
            code: Some(site),
            start: opentelemetry::time::now(),
            end: std::time::SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links,
            dropped_links,
            status: Status::Unset,
        });
        if result.attributes.is_empty() {
            record.attributes = user;
            let keep = own_limit(limit, &record);
            if record.attributes.len() > keep {
                record.dropped_attributes = (record.attributes.len() - keep) as u32;
                record.attributes.truncate(keep);
            }
        } else {
            // The sampler's attributes come first, as on the SDK's spans.
            record.code = None;
            let all = result
                .attributes
                .into_iter()
                .chain(code_attributes(site))
                .chain(user);
            push_limited(&mut record, all, limit);
        }
        (
            base.with_span(FastSpan::new(record, self.limits)),
            true,
            secrets,
        )
    }
}

fn push_limited(record: &mut Record, attributes: impl Iterator<Item = KeyValue>, limit: usize) {
    for kv in attributes {
        if record.attributes.len() < limit {
            record.attributes.push(kv);
        } else {
            record.dropped_attributes += 1;
        }
    }
}
