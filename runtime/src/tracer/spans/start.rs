//! The start of a span on `traced`'s own path.

use super::pipeline::Pipeline;
use super::record::{code_attributes, code_limit, limit_links, FastSpan, Record};
use crate::site::{Attrs, CallSite};
use opentelemetry::trace::{
    Link, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample, SpanLimits};
use std::borrow::Cow;
use std::sync::Arc;

/// What `init` installed for `traced`'s own spans.
pub(crate) struct FastPath {
    pub(crate) pipeline: Arc<Pipeline>,
    decide: Decide,
    limits: SpanLimits,
}

/// How a span's sampling decision is made.
pub(crate) enum Decide {
    /// One of the specification's samplers, decided here as the SDK's
    /// `Sampler` decides it, without a call through `dyn ShouldSample` and
    /// without building a `SamplingResult`.
    Inline {
        /// The decision for a span without a valid parent.
        root: Root,
        /// `parentbased_*`: a span with a parent follows its sampled flag.
        parent_based: bool,
        /// Span metrics' `RecordAll`: a span not sampled is still recorded.
        record_all: bool,
    },
    /// Any other sampler (an SDK `ParentBased`, whose root it hides, or span
    /// metrics' `RecordAll` over one): asked.
    Sampler(Box<dyn ShouldSample>),
}

/// The root decisions [`Decide::Inline`] makes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Root {
    AlwaysOn,
    AlwaysOff,
    /// `traceidratio`: sampled when the trace id's low 63 bits (its lower 8
    /// bytes, shifted right by one) are below `ratio * 2^63`, as the SDK decides.
    Ratio {
        /// `ratio * 2^63`, or `None` for a ratio of 1 or more (always sampled).
        upper: Option<u64>,
    },
}

impl Root {
    /// The inline form of the SDK's `TraceIdRatioBased(ratio)`.
    pub(crate) fn ratio(ratio: f64) -> Self {
        Root::Ratio {
            upper: if ratio >= 1.0 {
                None
            } else {
                // NaN too: `max` makes it 0, never sampled (as the SDK's).
                Some((ratio.max(0.0) * (1u64 << 63) as f64) as u64)
            },
        }
    }

    fn sampled(self, trace_id: TraceId) -> bool {
        match self {
            Root::AlwaysOn | Root::Ratio { upper: None } => true,
            Root::AlwaysOff => false,
            Root::Ratio { upper: Some(upper) } => {
                let low = u128::from_be_bytes(trace_id.to_bytes()) as u64;
                (low >> 1) < upper
            }
        }
    }
}

impl Decide {
    /// The decision for a span of `trace_id` under `parent`, whose current
    /// span's context is `current` (valid or not).
    fn decide(
        &self,
        parent: &Context,
        current: &SpanContext,
        trace_id: TraceId,
        site: &'static CallSite,
        links: &[Link],
    ) -> Decision {
        match self {
            Decide::Inline {
                root,
                parent_based,
                record_all,
            } => {
                // As the SDK's `ParentBased`: a context with a current span
                // follows that span's flag, valid or not.
                let sampled = if *parent_based && parent.has_active_span() {
                    current.is_sampled()
                } else {
                    root.sampled(trace_id)
                };
                Decision {
                    decision: if sampled {
                        SamplingDecision::RecordAndSample
                    } else if *record_all {
                        SamplingDecision::RecordOnly
                    } else {
                        SamplingDecision::Drop
                    },
                    // The SDK's samplers carry the parent's trace state on.
                    trace_state: current.trace_state().clone(),
                    attributes: None,
                }
            }
            Decide::Sampler(sampler) => {
                let result = sampler.should_sample(
                    Some(parent),
                    trace_id,
                    site.name,
                    &site.kind,
                    &[],
                    links,
                );
                Decision {
                    decision: result.decision,
                    trace_state: result.trace_state,
                    attributes: Some(result.attributes).filter(|a| !a.is_empty()),
                }
            }
        }
    }
}

/// A sampling decision: the SDK's `SamplingResult`, with the sampler's
/// attributes only when it gave some (nothing to drop for the inline ones).
struct Decision {
    decision: SamplingDecision,
    trace_state: TraceState,
    attributes: Option<Vec<KeyValue>>,
}

impl FastPath {
    /// `decide` decides as the provider's sampler does; `limits` are the SDK's
    /// (`OTEL_SPAN_*_LIMIT`, as its provider reads them).
    pub(crate) fn new(pipeline: Arc<Pipeline>, decide: Decide) -> Self {
        FastPath {
            pipeline,
            decide,
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
    ) -> (Context, bool, Option<crate::redact::SpanSecrets>) {
        let parent_span = parent.span();
        let current = parent_span.span_context();
        let empty = SpanContext::empty_context();
        let psc = if current.is_valid() { current } else { &empty };
        let new_trace = !psc.is_valid();
        let (new_id, span_id) = super::ids::new_ids(new_trace);
        let trace_id = new_id.unwrap_or_else(|| psc.trace_id());
        let result = self.decide.decide(parent, current, trace_id, site, &links);
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
        let (code, attributes, dropped_attributes) = match result.attributes {
            // The sampler's attributes come first, as on the SDK's spans.
            Some(first) => {
                let all = first.into_iter().chain(code_attributes(site)).chain(user);
                let (attributes, dropped) = limited(all, limit);
                (None, attributes, dropped)
            }
            None => {
                let mut attributes = user;
                let keep = code_limit(limit);
                let dropped = attributes.len().saturating_sub(keep) as u32;
                attributes.truncate(keep);
                (Some(site), attributes, dropped)
            }
        };
        let record = super::pipeline::boxed(|| Record {
            span_context: span_context.clone(),
            parent_span_id: if psc.is_valid() {
                psc.span_id()
            } else {
                SpanId::INVALID
            },
            parent_span_is_remote: psc.is_valid() && psc.is_remote(),
            kind: site.kind.clone(),
            name: Cow::Borrowed(site.name),
            code,
            start: opentelemetry::time::now(),
            end: std::time::SystemTime::UNIX_EPOCH,
            attributes,
            dropped_attributes,
            events: Vec::new(),
            dropped_events: 0,
            links,
            dropped_links,
            status: Status::Unset,
        });
        (
            base.with_span(FastSpan::new(record, self.limits)),
            true,
            secrets,
        )
    }
}

/// At most `limit` of `attributes`, and how many were dropped.
fn limited(attributes: impl Iterator<Item = KeyValue>, limit: usize) -> (Vec<KeyValue>, u32) {
    let (mut kept, mut dropped) = (Vec::new(), 0);
    for kv in attributes {
        if kept.len() < limit {
            kept.push(kv);
        } else {
            dropped += 1;
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanKind, TraceState};
    use opentelemetry_sdk::trace::Sampler;

    static SITE: CallSite = CallSite {
        name: "decided",
        kind: SpanKind::Internal,
        function: "tests::decided",
        fn_name: "decided",
        module: "tests",
        file: file!(),
        line: line!(),
        objective: None,
    };

    /// The parents a span can start under: none, a current span that is not
    /// valid, sampled and unsampled, local and remote, with a trace state.
    fn parents() -> Vec<Context> {
        let state = TraceState::from_key_value([("vendor", "value")]).unwrap();
        let sc = |flags: TraceFlags, remote: bool, state: TraceState| {
            SpanContext::new(TraceId::from(7), SpanId::from(9), flags, remote, state)
        };
        let invalid = SpanContext::new(
            TraceId::INVALID,
            SpanId::INVALID,
            TraceFlags::SAMPLED,
            false,
            state.clone(),
        );
        let mut parents = vec![
            Context::new(),
            Context::new().with_remote_span_context(invalid),
        ];
        for flags in [TraceFlags::SAMPLED, TraceFlags::default()] {
            for remote in [false, true] {
                for state in [TraceState::NONE, state.clone()] {
                    parents.push(Context::new().with_remote_span_context(sc(flags, remote, state)));
                }
            }
        }
        parents
    }

    /// Trace ids spread over the whole range, and the ratio bounds' neighbours.
    fn trace_ids() -> Vec<TraceId> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut ids: Vec<TraceId> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                TraceId::from(u128::from(x) << 64 | u128::from(x.rotate_left(29)))
            })
            .collect();
        for low in [0, 1, u64::MAX, 1 << 62, (1 << 62) - 1, (1 << 63) + 1] {
            ids.push(TraceId::from(u128::from(low) | 5 << 64));
        }
        ids
    }

    #[test]
    fn the_inline_decisions_are_the_sdk_samplers() {
        let roots: Vec<(Root, Sampler)> = [0.0, 0.1, 0.25, 0.5, 0.999, 1.0, 1.5, -1.0, f64::NAN]
            .into_iter()
            .map(|r| (Root::ratio(r), Sampler::TraceIdRatioBased(r)))
            .chain([
                (Root::AlwaysOn, Sampler::AlwaysOn),
                (Root::AlwaysOff, Sampler::AlwaysOff),
            ])
            .collect();
        let parents = parents();
        let ids = trace_ids();
        let mut compared = 0;
        for (root, sdk) in roots {
            for parent_based in [false, true] {
                for record_all in [false, true] {
                    let sdk: Box<dyn ShouldSample> = match (parent_based, record_all) {
                        (false, false) => Box::new(sdk.clone()),
                        (true, false) => Box::new(Sampler::ParentBased(Box::new(sdk.clone()))),
                        (false, true) => {
                            Box::new(crate::process::span_metrics::RecordAll(sdk.clone()))
                        }
                        (true, true) => Box::new(crate::process::span_metrics::RecordAll(
                            Sampler::ParentBased(Box::new(sdk.clone())),
                        )),
                    };
                    let inline = Decide::Inline {
                        root,
                        parent_based,
                        record_all,
                    };
                    let asked = Decide::Sampler(sdk);
                    for parent in &parents {
                        let span = parent.span();
                        let current = span.span_context();
                        for &id in &ids {
                            let a = inline.decide(parent, current, id, &SITE, &[]);
                            let b = asked.decide(parent, current, id, &SITE, &[]);
                            assert_eq!(
                                (a.decision, &a.trace_state, &a.attributes),
                                (b.decision, &b.trace_state, &b.attributes),
                                "{root:?} parent_based={parent_based} record_all={record_all} \
                                 parent={current:?} trace={id}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert!(compared > 100_000);
    }
}
