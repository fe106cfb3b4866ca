//! Renders OpenTelemetry metrics as Prometheus text (exposition format 0.0.4)
//! or as OpenMetrics 1.0, with exemplars linking samples to traces.
//!
//! The translation follows the OpenTelemetry specification "Prometheus and
//! OpenMetrics compatibility" (OTLP metric points to Prometheus):
//!
//! - **Names**: every character outside `[a-zA-Z0-9_:]` becomes `_`, runs of
//!   `_` collapse to one, trailing `_` are dropped and a leading digit gets a
//!   `_` prefix. The unit is appended as a suffix unless the name already ends
//!   with it: `s` → `seconds`, `ms` → `milliseconds`, `By` → `bytes`, `Cel` →
//!   `celsius`, `By/s` → `bytes_per_second`, `1` → `ratio` (gauges only),
//!   annotations such as `{request}` are dropped.
//! - **Types**: a gauge stays a gauge; a monotonic cumulative sum becomes a
//!   counter whose sample ends in `_total` (in the text format the family is
//!   named with `_total` too, in OpenMetrics it is not); a non-monotonic
//!   cumulative sum becomes a gauge; a cumulative histogram becomes a histogram
//!   with cumulative `_bucket{le=…}` samples ending in `+Inf`, then `_sum` and
//!   `_count`. Delta sums and histograms cannot be rendered by a stateless
//!   renderer and are dropped (the spec allows dropping them), as are
//!   exponential histograms (the text formats have no native histograms).
//! - **Labels**: attribute keys are sanitised like names (without `:`); a
//!   leading digit gets a `key_` prefix and a leading `_` a `key` prefix (names
//!   starting with `_` are reserved). Keys that end up equal have their values
//!   joined with `;` in the order of the original keys. Values are the
//!   attributes' string forms, escaped. Every sample carries the
//!   instrumentation scope as `otel_scope_name` and `otel_scope_version`; an
//!   attribute named like these or like `le` gets a `key_` prefix.
//! - **Resource**: its attributes are the labels of one `target_info` sample of
//!   value 1 (an `info` family named `target` in OpenMetrics, a gauge named
//!   `target_info` in the text format), rendered first.
//! - **Exemplars**: only in OpenMetrics, on the `_total` sample of counters and
//!   on the `_bucket` samples of histograms.
//!
//! Metrics of several scopes with the same translated name form one family
//! with a single `HELP`/`TYPE` (the first one seen, scopes taken in order of
//! name and version); a metric whose type conflicts with an earlier family of
//! the same name is dropped, as the spec requires. Families are sorted by name
//! and the series of a family by their labels, so equal data always renders
//! equally.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;

/// One exemplar: a measurement linked to the span it was recorded in.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) value: f64,
    pub(crate) time: SystemTime,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
}

/// Where exemplars come from (the runtime's reservoirs; tests use a map).
pub(crate) trait ExemplarLookup {
    /// The exemplar of a counter/gauge series (the metric's OpenTelemetry name and the point's attributes).
    fn series(&self, metric: &str, attributes: &[KeyValue]) -> Option<Exemplar>;
    /// One slot per histogram bucket (bounds.len() + 1 slots, the last is +Inf).
    fn buckets(&self, metric: &str, attributes: &[KeyValue]) -> Vec<Option<Exemplar>>;
}

/// No exemplars.
#[cfg(test)]
pub(crate) struct NoExemplars;

#[cfg(test)]
impl ExemplarLookup for NoExemplars {
    fn series(&self, _metric: &str, _attributes: &[KeyValue]) -> Option<Exemplar> {
        None
    }

    fn buckets(&self, _metric: &str, _attributes: &[KeyValue]) -> Vec<Option<Exemplar>> {
        Vec::new()
    }
}

/// The two exposition formats a scraper can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Prometheus text exposition format 0.0.4: no exemplars, no `UNIT`.
    Text,
    /// OpenMetrics 1.0 text format: `UNIT`, exemplars, `# EOF`.
    OpenMetrics,
}

const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Format {
    /// Picks the format from an HTTP `Accept` header: OpenMetrics when the scraper lists
    /// `application/openmetrics-text` (respecting q-values against `text/plain`), else Text.
    ///
    /// The q-value of `text/plain` is that of its most specific range
    /// (`text/plain`, else `text/*`, else `*/*`); OpenMetrics wins ties.
    pub(crate) fn from_accept(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut openmetrics: Option<f32> = None;
        // q-values of `text/plain`, `text/*` and `*/*`, most specific first.
        let mut text: [Option<f32>; 3] = [None; 3];
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let mut q = 1.0_f32;
            for parameter in parts {
                if let Some((name, value)) = parameter.split_once('=') {
                    if name.trim().eq_ignore_ascii_case("q") {
                        // A malformed q-value makes the range unacceptable.
                        q = value.trim().parse().unwrap_or(0.0_f32).clamp(0.0, 1.0);
                    }
                }
            }
            let slot = if media.eq_ignore_ascii_case("application/openmetrics-text") {
                &mut openmetrics
            } else if media.eq_ignore_ascii_case("text/plain") {
                &mut text[0]
            } else if media.eq_ignore_ascii_case("text/*") {
                &mut text[1]
            } else if media == "*/*" {
                &mut text[2]
            } else {
                continue;
            };
            *slot = Some(slot.map_or(q, |previous: f32| previous.max(q)));
        }
        let text = text.into_iter().flatten().next().unwrap_or(0.0);
        match openmetrics {
            Some(q) if q > 0.0 && q >= text => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// The `Content-Type` to answer with (`text/plain; version=0.0.4; charset=utf-8` or
    /// `application/openmetrics-text; version=1.0.0; charset=utf-8`).
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Renders every metric of `metrics`.
///
/// `exemplars` is asked only when rendering OpenMetrics, and only for
/// counters (monotonic sums) and histograms: the spec drops exemplars of
/// other points. A bucket shows only the exemplar of a measurement that fell
/// into it; an exemplar outside its bucket's range or without a valid trace id
/// is ignored.
pub(crate) fn render(
    metrics: &ResourceMetrics,
    format: Format,
    exemplars: &dyn ExemplarLookup,
) -> String {
    let context = Context {
        format,
        exemplars,
        scope_labels: Vec::new(),
    };
    let mut families = collect(metrics, context);
    families.sort_by(|a, b| {
        // The `target` info family comes first, as OpenMetrics recommends.
        (a.kind != Kind::Info)
            .cmp(&(b.kind != Kind::Info))
            .then_with(|| a.exposed_name(format).cmp(&b.exposed_name(format)))
    });
    let mut out = String::new();
    for family in &families {
        write_family(&mut out, family, format);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

mod encode;
#[cfg(test)]
mod tests;
mod translate;

use encode::*;
use translate::*;
