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

/// A value as the SDK aggregated it: integers print without a decimal point.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    /// Whether the value cannot be a counter-like value (`_sum`).
    fn is_negative_or_nan(self) -> bool {
        match self {
            Number::U64(_) => false,
            Number::I64(v) => v < 0,
            Number::F64(v) => v.is_nan() || v < 0.0,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::U64(v) => write!(f, "{v}"),
            Number::I64(v) => write!(f, "{v}"),
            Number::F64(v) => f.write_str(&float(v)),
        }
    }
}

/// The value types of the SDK's data points.
trait ToNumber: Copy {
    fn number(self) -> Number;
}

impl ToNumber for u64 {
    fn number(self) -> Number {
        Number::U64(self)
    }
}

impl ToNumber for i64 {
    fn number(self) -> Number {
        Number::I64(self)
    }
}

impl ToNumber for f64 {
    fn number(self) -> Number {
        Number::F64(self)
    }
}

/// The Prometheus type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Histogram,
    /// Only the `target` family: an info in OpenMetrics, a gauge in text.
    Info,
}

/// A metric family: the metrics of every scope with the same translated name.
#[derive(Debug)]
struct Family {
    /// The name as OpenMetrics writes it in `# TYPE`: no `_total` or `_info`.
    name: String,
    kind: Kind,
    /// The translated unit, empty without one.
    unit: String,
    help: String,
    series: Vec<Series>,
}

impl Family {
    /// The name of the family in the text format, where a counter's family is
    /// named like its sample.
    fn text_name(&self) -> Cow<'_, str> {
        match self.kind {
            Kind::Counter => Cow::Owned(format!("{}_total", self.name)),
            Kind::Info => Cow::Owned(format!("{}_info", self.name)),
            Kind::Gauge | Kind::Histogram => Cow::Borrowed(&self.name),
        }
    }

    /// The name in the `# TYPE` line of `format`.
    fn exposed_name(&self, format: Format) -> Cow<'_, str> {
        match format {
            Format::Text => self.text_name(),
            Format::OpenMetrics => Cow::Borrowed(&self.name),
        }
    }
}

/// One series: its labels, sorted by name, and its samples.
#[derive(Debug)]
struct Series {
    labels: Vec<(String, String)>,
    points: Points,
}

#[derive(Debug)]
enum Points {
    /// A gauge, counter or info sample.
    Value {
        value: Number,
        exemplar: Option<Exemplar>,
    },
    Histogram {
        /// Cumulative, the last one at `+Inf`.
        buckets: Vec<Bucket>,
        /// `_sum` and `_count`, left out when the sum cannot be a counter.
        sum_and_count: Option<(Number, u64)>,
    },
}

#[derive(Debug)]
struct Bucket {
    le: f64,
    count: u64,
    exemplar: Option<Exemplar>,
}

/// What translating a metric needs besides the metric.
struct Context<'a> {
    format: Format,
    exemplars: &'a dyn ExemplarLookup,
    /// `otel_scope_name` and `otel_scope_version` of the current scope.
    scope_labels: Vec<(String, String)>,
}

const SCOPE_NAME_LABEL: &str = "otel_scope_name";
const SCOPE_VERSION_LABEL: &str = "otel_scope_version";
const BUCKET_LABEL: &str = "le";
/// Label names the renderer sets itself; attributes translating to them get a
/// `key_` prefix (`le` only matters to histograms, but is odd on any sample).
const RESERVED_LABELS: [&str; 3] = [BUCKET_LABEL, SCOPE_NAME_LABEL, SCOPE_VERSION_LABEL];

/// Translates every metric and groups them into families, with their series
/// sorted by labels.
fn collect(metrics: &ResourceMetrics, mut context: Context<'_>) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    // Indexes of `families` by text name and by OpenMetrics name: a family
    // must not clash with another in either format.
    let mut by_text_name: HashMap<String, usize> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();

    let mut add = |family: Family, families: &mut Vec<Family>| {
        let text_name = family.text_name().into_owned();
        let existing = by_text_name
            .get(&text_name)
            .or_else(|| by_name.get(&family.name))
            .copied();
        match existing {
            Some(index) if families[index].kind == family.kind => {
                let existing = &mut families[index];
                if existing.help.is_empty() {
                    existing.help = family.help;
                }
                if existing.unit.is_empty() {
                    existing.unit = family.unit;
                }
                existing.series.extend(family.series);
            }
            // A conflicting TYPE: the spec says to drop the whole metric.
            Some(_) => {}
            None => {
                by_text_name.insert(text_name, families.len());
                by_name.insert(family.name.clone(), families.len());
                families.push(family);
            }
        }
    };

    if let Some(target) = target_family(metrics.resource()) {
        add(target, &mut families);
    }

    let mut scopes: Vec<_> = metrics.scope_metrics().collect();
    scopes.sort_by(|a, b| scope_sort_key(a.scope()).cmp(&scope_sort_key(b.scope())));
    for scope in scopes {
        context.scope_labels = scope_labels(scope.scope());
        for metric in scope.metrics() {
            if let Some(family) = translate_metric(metric, &context) {
                add(family, &mut families);
            }
        }
    }

    for family in &mut families {
        // Stable: of series with equal labels the first one seen stays.
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        family.series.dedup_by(|a, b| a.labels == b.labels);
    }
    families
}

fn scope_sort_key(scope: &InstrumentationScope) -> (&str, &str, &str) {
    (
        scope.name(),
        scope.version().unwrap_or_default(),
        scope.schema_url().unwrap_or_default(),
    )
}

/// The labels naming the scope; an empty name or version is left out.
fn scope_labels(scope: &InstrumentationScope) -> Vec<(String, String)> {
    let mut labels = Vec::with_capacity(2);
    if !scope.name().is_empty() {
        labels.push((SCOPE_NAME_LABEL.to_owned(), scope.name().to_owned()));
    }
    if let Some(version) = scope.version().filter(|version| !version.is_empty()) {
        labels.push((SCOPE_VERSION_LABEL.to_owned(), version.to_owned()));
    }
    labels
}

/// The `target` info family of the resource's attributes, none for an empty resource.
fn target_family(resource: &Resource) -> Option<Family> {
    if resource.is_empty() {
        return None;
    }
    let labels = attribute_labels(
        resource
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
        &[],
    );
    Some(Family {
        name: "target".to_owned(),
        kind: Kind::Info,
        unit: String::new(),
        help: "Target metadata".to_owned(),
        series: vec![Series {
            labels,
            points: Points::Value {
                value: Number::U64(1),
                exemplar: None,
            },
        }],
    })
}

fn translate_metric(metric: &Metric, context: &Context<'_>) -> Option<Family> {
    match metric.data() {
        AggregatedMetrics::F64(data) => translate_data(metric, data, context),
        AggregatedMetrics::U64(data) => translate_data(metric, data, context),
        AggregatedMetrics::I64(data) => translate_data(metric, data, context),
    }
}

fn translate_data<T: ToNumber>(
    metric: &Metric,
    data: &MetricData<T>,
    context: &Context<'_>,
) -> Option<Family> {
    let openmetrics = context.format == Format::OpenMetrics;
    let (kind, series) = match data {
        MetricData::Gauge(gauge) => {
            let series = gauge
                .data_points()
                .map(|point| Series {
                    labels: point_labels(point.attributes(), context),
                    points: Points::Value {
                        value: point.value().number(),
                        exemplar: None,
                    },
                })
                .collect();
            (Kind::Gauge, series)
        }
        MetricData::Sum(sum) => {
            if sum.temporality() != Temporality::Cumulative {
                return None;
            }
            let kind = if sum.is_monotonic() {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            let series = sum
                .data_points()
                .map(|point| {
                    let exemplar = if openmetrics && kind == Kind::Counter {
                        let attributes: Vec<KeyValue> = point.attributes().cloned().collect();
                        context
                            .exemplars
                            .series(metric.name(), &attributes)
                            .filter(has_trace)
                    } else {
                        None
                    };
                    Series {
                        labels: point_labels(point.attributes(), context),
                        points: Points::Value {
                            value: point.value().number(),
                            exemplar,
                        },
                    }
                })
                .collect();
            (kind, series)
        }
        MetricData::Histogram(histogram) => {
            if histogram.temporality() != Temporality::Cumulative {
                return None;
            }
            let series = histogram
                .data_points()
                .map(|point| {
                    let slots = if openmetrics {
                        let attributes: Vec<KeyValue> = point.attributes().cloned().collect();
                        context.exemplars.buckets(metric.name(), &attributes)
                    } else {
                        Vec::new()
                    };
                    let bounds: Vec<f64> = point.bounds().collect();
                    let buckets = cumulative_buckets(&bounds, point.bucket_counts(), slots);
                    // The spec reports `_sum` only when it is a counter: no
                    // negative bucket; OpenMetrics then forbids `_count` too.
                    let sum = point.sum().number();
                    let sum_and_count = (!sum.is_negative_or_nan()
                        && bounds.iter().all(|bound| *bound >= 0.0))
                    .then_some((sum, point.count()));
                    Series {
                        labels: point_labels(point.attributes(), context),
                        points: Points::Histogram {
                            buckets,
                            sum_and_count,
                        },
                    }
                })
                .collect();
            (Kind::Histogram, series)
        }
        // Prometheus' text formats have no native histograms; the spec allows
        // dropping exponential histograms where they are not supported.
        MetricData::ExponentialHistogram(_) => return None,
    };
    let is_gauge = matches!(data, MetricData::Gauge(_));
    let unit = prometheus_unit(metric.unit(), is_gauge);
    Some(Family {
        name: family_name(metric.name(), &unit, kind),
        kind,
        unit,
        help: metric.description().to_owned(),
        series,
    })
}

/// Whether an exemplar links to a trace at all.
fn has_trace(exemplar: &Exemplar) -> bool {
    exemplar.trace_id != TraceId::INVALID && exemplar.span_id != SpanId::INVALID
}

/// Cumulative bucket counts with `+Inf` last, and their exemplars: each bucket
/// shows only the exemplar of a measurement that fell into it (above the
/// previous bound, at most its own), as the Prometheus client libraries do. A
/// bucket without one has none: the cumulative count of a higher bucket
/// includes the lower measurement, but repeating its exemplar there would
/// point every slow bucket at the same fast request.
fn cumulative_buckets(
    bounds: &[f64],
    counts: impl Iterator<Item = u64>,
    slots: Vec<Option<Exemplar>>,
) -> Vec<Bucket> {
    let mut slots = slots.into_iter();
    let mut cumulative = 0_u64;
    let mut lower = f64::NEG_INFINITY;
    bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(counts)
        .map(|(le, count)| {
            cumulative = cumulative.saturating_add(count);
            let exemplar = slots.next().flatten().filter(|exemplar| {
                has_trace(exemplar) && exemplar.value > lower && exemplar.value <= le
            });
            lower = le;
            Bucket {
                le,
                count: cumulative,
                exemplar,
            }
        })
        .collect()
}

/// The labels of a data point: its attributes, then the scope's, sorted by name.
fn point_labels<'a>(
    attributes: impl Iterator<Item = &'a KeyValue>,
    context: &Context<'_>,
) -> Vec<(String, String)> {
    let mut labels = attribute_labels(
        attributes.map(|kv| (kv.key.as_str(), kv.value.as_str())),
        &RESERVED_LABELS,
    );
    labels.extend(context.scope_labels.iter().cloned());
    labels.sort();
    labels
}

/// Sanitised, sorted labels of attributes. Keys sanitising to the same name
/// get their values joined with `;`, ordered by the original keys; names in
/// `reserved` get a `key_` prefix.
fn attribute_labels<'a>(
    attributes: impl Iterator<Item = (&'a str, Cow<'a, str>)>,
    reserved: &[&str],
) -> Vec<(String, String)> {
    let mut named: Vec<(String, &str, Cow<'_, str>)> = attributes
        .map(|(key, value)| {
            let name = label_name(key);
            if reserved.contains(&name.as_str()) {
                (format!("key_{name}"), key, value)
            } else {
                (name, key, value)
            }
        })
        .collect();
    named.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut labels: Vec<(String, String)> = Vec::with_capacity(named.len());
    for (name, _, value) in named {
        match labels.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(';');
                joined.push_str(&value);
            }
            _ => labels.push((name, value.into_owned())),
        }
    }
    labels
}

/// Replaces every character `keep` rejects with `_` and collapses runs of `_`.
fn sanitize(name: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if keep(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out
}

/// A metric name without unit or type suffixes: `[a-zA-Z0-9_:]`, single `_`,
/// no trailing `_` (suffixes are appended with one), `_` before a leading digit.
fn metric_name(name: &str) -> String {
    let mut out = sanitize(name, |c| c.is_ascii_alphanumeric() || c == ':');
    while out.len() > 1 && out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label name: `[a-zA-Z0-9_]`, single `_`, `key_` before a leading digit,
/// `key` before a leading `_` (OpenMetrics reserves such names).
fn label_name(key: &str) -> String {
    let out = sanitize(key, |c| c.is_ascii_alphanumeric());
    if out.is_empty() {
        "key".to_owned()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{out}")
    } else if out.starts_with('_') {
        format!("key{out}")
    } else {
        out
    }
}

/// The family name of a metric: its sanitised name with the unit appended
/// unless already there, without the `_total` a counter's sample adds.
fn family_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut name = metric_name(name);
    if kind == Kind::Counter {
        if let Some(stripped) = name.strip_suffix("_total").filter(|s| !s.is_empty()) {
            name.truncate(stripped.len());
        }
    }
    if !unit.is_empty() && name != unit && !name.ends_with(&format!("_{unit}")) {
        name.push('_');
        name.push_str(unit);
    }
    name
}

/// The Prometheus unit of an OpenTelemetry (UCUM) unit; empty for none.
/// `is_gauge` is for OpenTelemetry gauges, the only ones whose `1` is `ratio`.
fn prometheus_unit(unit: &str, is_gauge: bool) -> String {
    // Drop `{…}` annotations: a count of things is unitless.
    let mut plain = String::with_capacity(unit.len());
    let mut depth = 0_usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.trim();
    if plain == "1" {
        return if is_gauge { "ratio" } else { "" }.to_owned();
    }
    let (main, per) = plain.split_once('/').unwrap_or((plain, ""));
    let main = match main.trim() {
        "d" => "days".into(),
        "h" => "hours".into(),
        "min" => "minutes".into(),
        "s" => "seconds".into(),
        "ms" => "milliseconds".into(),
        "us" => "microseconds".into(),
        "ns" => "nanoseconds".into(),
        "By" => "bytes".into(),
        "KiBy" => "kibibytes".into(),
        "MiBy" => "mebibytes".into(),
        "GiBy" => "gibibytes".into(),
        "TiBy" => "tibibytes".into(),
        "KBy" => "kilobytes".into(),
        "MBy" => "megabytes".into(),
        "GBy" => "gigabytes".into(),
        "TBy" => "terabytes".into(),
        "m" => "meters".into(),
        "V" => "volts".into(),
        "A" => "amperes".into(),
        "J" => "joules".into(),
        "W" => "watts".into(),
        "g" => "grams".into(),
        "Cel" => "celsius".into(),
        "Hz" => "hertz".into(),
        "%" => "percent".into(),
        "1" => String::new(),
        other => unit_word(other),
    };
    let per = match per.trim() {
        "s" => "second".into(),
        "m" => "minute".into(),
        "h" => "hour".into(),
        "d" => "day".into(),
        "w" => "week".into(),
        "mo" => "month".into(),
        "y" => "year".into(),
        other => unit_word(other),
    };
    match (main.is_empty(), per.is_empty()) {
        (_, true) => main,
        (true, false) => format!("per_{per}"),
        (false, false) => format!("{main}_per_{per}"),
    }
}

/// A unit without a translation, made fit for a name: `[a-zA-Z0-9_]`, no `_` at either end.
fn unit_word(unit: &str) -> String {
    sanitize(unit, |c| c.is_ascii_alphanumeric())
        .trim_matches('_')
        .to_owned()
}

fn write_family(out: &mut String, family: &Family, format: Format) {
    let name = family.exposed_name(format);
    match format {
        Format::Text => {
            if !family.help.is_empty() {
                out.push_str("# HELP ");
                out.push_str(&name);
                out.push(' ');
                escape(out, &family.help, false);
                out.push('\n');
            }
            let kind = match family.kind {
                Kind::Gauge | Kind::Info => "gauge",
                Kind::Counter => "counter",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
        Format::OpenMetrics => {
            let kind = match family.kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
                Kind::Histogram => "histogram",
                Kind::Info => "info",
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
            // OpenMetrics requires the unit to be the name's suffix.
            if !family.unit.is_empty() && name.ends_with(&format!("_{}", family.unit)) {
                let _ = writeln!(out, "# UNIT {name} {}", family.unit);
            }
            if !family.help.is_empty() {
                out.push_str("# HELP ");
                out.push_str(&name);
                out.push(' ');
                escape(out, &family.help, true);
                out.push('\n');
            }
        }
    }

    let exemplars = format == Format::OpenMetrics;
    for series in &family.series {
        match &series.points {
            Points::Value { value, exemplar } => {
                let suffix = match family.kind {
                    Kind::Counter => "_total",
                    Kind::Info => "_info",
                    Kind::Gauge | Kind::Histogram => "",
                };
                write_sample(
                    out,
                    &family.name,
                    suffix,
                    &series.labels,
                    None,
                    *value,
                    exemplar.as_ref().filter(|_| exemplars),
                );
            }
            Points::Histogram {
                buckets,
                sum_and_count,
            } => {
                for bucket in buckets {
                    let le = canonical_float(bucket.le);
                    write_sample(
                        out,
                        &family.name,
                        "_bucket",
                        &series.labels,
                        Some((BUCKET_LABEL, &le)),
                        Number::U64(bucket.count),
                        bucket.exemplar.as_ref().filter(|_| exemplars),
                    );
                }
                if let Some((sum, count)) = sum_and_count {
                    let labels = &series.labels;
                    write_sample(out, &family.name, "_sum", labels, None, *sum, None);
                    let count = Number::U64(*count);
                    write_sample(out, &family.name, "_count", labels, None, count, None);
                }
            }
        }
    }
}

/// One sample line: `name{labels} value`, then the exemplar if any.
fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    value: Number,
    exemplar: Option<&Exemplar>,
) {
    out.push_str(name);
    out.push_str(suffix);
    let all = labels
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain(extra);
    write_labels(out, all);
    let _ = write!(out, " {value}");
    if let Some(exemplar) = exemplar {
        out.push_str(" # ");
        let trace_id = exemplar.trace_id.to_string();
        let span_id = exemplar.span_id.to_string();
        write_labels(
            out,
            [
                ("trace_id", trace_id.as_str()),
                ("span_id", span_id.as_str()),
            ]
            .into_iter(),
        );
        let _ = write!(
            out,
            " {} {}",
            float(exemplar.value),
            timestamp(exemplar.time)
        );
    }
    out.push('\n');
}

/// `{a="x",b="y"}`, nothing for no labels.
fn write_labels<'a>(out: &mut String, labels: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut first = true;
    for (name, value) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape(out, value, true);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

/// Escapes `\` and line feeds, and `"` when `quotes` (label values, OpenMetrics `HELP`).
fn escape(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// A float value: Rust's shortest round-trip form (always with a `.` or an
/// exponent, so it reads as a float), and `+Inf`, `-Inf`, `NaN`.
fn float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{value:?}")
    }
}

/// The canonical form OpenMetrics wants for `le` values: Go's `%g` of the
/// shortest round-trip digits, with `.0` when it has no `.` or exponent
/// (`0.005`, `1.0`, `100000.0`, `1e+06`, `1e-05`).
fn canonical_float(value: f64) -> String {
    if !value.is_finite() {
        return float(value);
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: `-1.2345e-6`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` of a finite float has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(mantissa) => ("-", mantissa),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = sign.to_owned();
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exponent_sign}{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        // 0 <= exponent < 6: at most six integer digits.
        let integer_digits = usize::try_from(exponent).unwrap_or_default() + 1;
        if digits.len() > integer_digits {
            out.push_str(&digits[..integer_digits]);
            out.push('.');
            out.push_str(&digits[integer_digits..]);
        } else {
            out.push_str(&digits);
            for _ in digits.len()..integer_digits {
                out.push('0');
            }
            out.push_str(".0");
        }
    }
    out
}

/// Unix seconds with up to nine fractional digits, at least one: `1700000000.5`.
fn timestamp(time: SystemTime) -> String {
    let (sign, since) = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => ("", since),
        Err(before) => ("-", before.duration()),
    };
    let mut out = format!("{sign}{}.{:09}", since.as_secs(), since.subsec_nanos());
    while out.ends_with('0') && !out.ends_with(".0") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::metrics::{
        InMemoryMetricExporterBuilder, PeriodicReader, SdkMeterProvider,
    };
    use opentelemetry_sdk::Resource;

    use super::*;

    /// Exemplars by metric name and `key=value` attributes, sorted.
    #[derive(Default)]
    struct MapLookup {
        series: HashMap<(String, Vec<String>), Exemplar>,
        buckets: HashMap<(String, Vec<String>), Vec<Option<Exemplar>>>,
    }

    fn lookup_key(metric: &str, attributes: &[KeyValue]) -> (String, Vec<String>) {
        let mut attributes: Vec<String> = attributes
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        attributes.sort();
        (metric.to_owned(), attributes)
    }

    impl ExemplarLookup for MapLookup {
        fn series(&self, metric: &str, attributes: &[KeyValue]) -> Option<Exemplar> {
            self.series.get(&lookup_key(metric, attributes)).cloned()
        }

        fn buckets(&self, metric: &str, attributes: &[KeyValue]) -> Vec<Option<Exemplar>> {
            self.buckets
                .get(&lookup_key(metric, attributes))
                .cloned()
                .unwrap_or_default()
        }
    }

    fn exemplar(value: f64, nanos_after: u64, trace: u128, span: u64) -> Exemplar {
        Exemplar {
            value,
            time: UNIX_EPOCH
                + Duration::from_secs(1_700_000_000)
                + Duration::from_nanos(nanos_after),
            trace_id: TraceId::from(trace),
            span_id: SpanId::from(span),
        }
    }

    fn shop_resource() -> Resource {
        Resource::builder_empty()
            .with_service_name("shop-api")
            .with_attribute(KeyValue::new("service.version", "0.9.1"))
            .build()
    }

    /// The metrics `record` makes, collected once by a cumulative reader.
    fn collect_metrics(record: impl FnOnce(&SdkMeterProvider)) -> ResourceMetrics {
        collect_with(Temporality::Cumulative, shop_resource(), record)
    }

    fn collect_with(
        temporality: Temporality,
        resource: Resource,
        record: impl FnOnce(&SdkMeterProvider),
    ) -> ResourceMetrics {
        let exporter = InMemoryMetricExporterBuilder::new()
            .with_temporality(temporality)
            .build();
        let reader = PeriodicReader::builder(exporter.clone())
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        record(&provider);
        provider.force_flush().expect("flush");
        let metrics = exporter
            .get_finished_metrics()
            .expect("finished metrics")
            .pop()
            .expect("one export");
        provider.shutdown().expect("shutdown");
        metrics
    }

    /// A small web shop: a counter in two scopes, a latency histogram, an
    /// up-down counter and gauges with the common units.
    fn record_shop(provider: &SdkMeterProvider) {
        let http = provider.meter_with_scope(
            InstrumentationScope::builder("shop.http")
                .with_version("1.2.0")
                .build(),
        );
        let requests = http
            .u64_counter("http.server.requests")
            .with_description("Requests served")
            .with_unit("{request}")
            .build();
        requests.add(
            3,
            &[
                KeyValue::new("http.route", "/orders"),
                KeyValue::new("http.request.method", "GET"),
            ],
        );
        requests.add(
            1,
            &[
                KeyValue::new("http.route", "/orders/{id}"),
                KeyValue::new("http.request.method", "POST"),
            ],
        );
        let duration = http
            .f64_histogram("http.server.request.duration")
            .with_description("Duration of HTTP server requests")
            .with_unit("s")
            .with_boundaries(vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0])
            .build();
        for seconds in [0.003, 0.007, 0.02, 0.02, 0.3, 2.5] {
            duration.record(seconds, &[KeyValue::new("http.route", "/orders")]);
        }
        let in_use = http
            .i64_up_down_counter("db.client.connections.in_use")
            .with_description("Connections checked out of the pool")
            .with_unit("{connection}")
            .build();
        in_use.add(3, &[KeyValue::new("db.pool", "primary")]);
        in_use.add(-1, &[KeyValue::new("db.pool", "replica")]);
        http.f64_gauge("process.cpu.utilization")
            .with_description("Share of one CPU used by the process")
            .with_unit("1")
            .build()
            .record(0.4375, &[]);
        http.u64_gauge("process.memory.usage")
            .with_description("Resident memory of the process")
            .with_unit("By")
            .build()
            .record(48_234_496, &[]);
        http.f64_gauge("net.throughput")
            .with_unit("By/s")
            .build()
            .record(1536.5, &[KeyValue::new("net.interface", "eth0")]);

        let jobs = provider.meter_with_scope(InstrumentationScope::builder("shop.jobs").build());
        jobs.u64_counter("http.server.requests")
            .with_description("Requests served")
            .with_unit("{request}")
            .build()
            .add(
                7,
                &[
                    KeyValue::new("http.route", "/jobs/run"),
                    KeyValue::new("http.request.method", "POST"),
                ],
            );
        jobs.f64_counter("queue.items.processed")
            .with_description("Items taken off the queue")
            .with_unit("{item}")
            .build()
            .add(2.5, &[KeyValue::new("queue.name", "emails")]);
    }

    /// One counter exemplar and two bucket exemplars for [`record_shop`].
    fn shop_exemplars() -> MapLookup {
        let mut lookup = MapLookup::default();
        lookup.series.insert(
            lookup_key(
                "http.server.requests",
                &[
                    KeyValue::new("http.route", "/orders"),
                    KeyValue::new("http.request.method", "GET"),
                ],
            ),
            exemplar(
                1.0,
                250_000_000,
                0x4bf92f3577b34da6a3ce929d0e0e4736,
                0x00f067aa0ba902b7,
            ),
        );
        let mut slots = vec![None; 7];
        slots[1] = Some(exemplar(
            0.007,
            500_000_000,
            0x0af7651916cd43dd8448eb211c80319c,
            0xb7ad6b7169203331,
        ));
        slots[4] = Some(exemplar(
            0.3,
            0,
            0x5b8efff798038103d269b633813fc60c,
            0xeee19b7ec3c1b174,
        ));
        lookup.buckets.insert(
            lookup_key(
                "http.server.request.duration",
                &[KeyValue::new("http.route", "/orders")],
            ),
            slots,
        );
        lookup
    }

    /// Writes `text` to `$TRACED_PROMETHEUS_DUMP_DIR/name` when that is set, to
    /// check the output with other parsers by hand.
    fn dump(name: &str, text: &str) {
        if let Some(dir) = std::env::var_os("TRACED_PROMETHEUS_DUMP_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(name), text).expect("dump");
        }
    }

    #[test]
    fn renders_a_realistic_export_as_text() {
        let metrics = collect_metrics(record_shop);
        let text = render(&metrics, Format::Text, &shop_exemplars());
        dump("shop.prom", &text);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn renders_a_realistic_export_as_openmetrics() {
        let metrics = collect_metrics(record_shop);
        let text = render(&metrics, Format::OpenMetrics, &shop_exemplars());
        dump("shop.om", &text);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn exemplars_only_in_openmetrics() {
        let metrics = collect_metrics(record_shop);
        let text = render(&metrics, Format::Text, &shop_exemplars());
        assert!(!text.contains("# {"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");

        let openmetrics = render(&metrics, Format::OpenMetrics, &shop_exemplars());
        assert!(openmetrics.ends_with("\n# EOF\n"), "{openmetrics}");
        let with_exemplar: Vec<&str> = openmetrics
            .lines()
            .filter(|line| line.contains(" # {"))
            .collect();
        // The counter's, and the buckets the two measurements fell into (0.007
        // in `le="0.01"`, 0.3 in `le="0.5"`), none above them.
        assert_eq!(with_exemplar.len(), 3, "{openmetrics}");
        assert!(with_exemplar[0].starts_with(
            "http_server_request_duration_seconds_bucket{http_route=\"/orders\",otel_scope_name=\"shop.http\",otel_scope_version=\"1.2.0\",le=\"0.01\"} 2 # {"
        ), "{openmetrics}");
        assert!(with_exemplar[1].starts_with(
            "http_server_request_duration_seconds_bucket{http_route=\"/orders\",otel_scope_name=\"shop.http\",otel_scope_version=\"1.2.0\",le=\"0.5\"} 5 # {"
        ), "{openmetrics}");
        assert!(with_exemplar.iter().any(|line| line.starts_with(
            "http_server_requests_total{http_request_method=\"GET\",http_route=\"/orders\""
        ) && line.ends_with(
            " # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 1.0 1700000000.25"
        )));

        // Without a lookup OpenMetrics has none either.
        let plain = render(&metrics, Format::OpenMetrics, &NoExemplars);
        assert!(!plain.contains("# {"), "{plain}");
    }

    #[test]
    fn two_scopes_share_one_family() {
        let metrics = collect_metrics(record_shop);
        for (format, type_line) in [
            (Format::Text, "# TYPE http_server_requests_total counter"),
            (Format::OpenMetrics, "# TYPE http_server_requests counter"),
        ] {
            let text = render(&metrics, format, &NoExemplars);
            assert_eq!(text.matches(type_line).count(), 1, "{text}");
            assert_eq!(text.matches("# HELP http_server_requests").count(), 1);
            assert_eq!(text.matches("http_server_requests_total{").count(), 3);
            assert!(text.contains(
                "http_server_requests_total{http_request_method=\"POST\",http_route=\"/jobs/run\",otel_scope_name=\"shop.jobs\"} 7\n"
            ), "{text}");
        }
    }

    #[test]
    fn translates_names_and_units() {
        use Kind::{Counter, Gauge, Histogram};
        for (kind, name, unit, expected) in [
            (
                Histogram,
                "http.server.request.duration",
                "s",
                "http_server_request_duration_seconds",
            ),
            (
                Counter,
                "http.server.requests",
                "{request}",
                "http_server_requests",
            ),
            (Counter, "requests_total", "", "requests"),
            (Counter, "io.bytes_total", "By", "io_bytes"),
            (Counter, "io.written_total", "By", "io_written_bytes"),
            (Histogram, "latency_seconds", "s", "latency_seconds"),
            (Gauge, "latency.ms", "ms", "latency_ms_milliseconds"),
            (
                Gauge,
                "process.memory.usage",
                "By",
                "process_memory_usage_bytes",
            ),
            (
                Gauge,
                "process.cpu.utilization",
                "1",
                "process_cpu_utilization_ratio",
            ),
            (Gauge, "net.io", "By/s", "net_io_bytes_per_second"),
            (Gauge, "packets", "{packet}/s", "packets_per_second"),
            (Gauge, "room.temperature", "Cel", "room_temperature_celsius"),
            (Gauge, "disk.size", "KiBy", "disk_size_kibibytes"),
            (Gauge, "speed", "m/s", "speed_meters_per_second"),
            (Counter, "widgets.made", "widget-s", "widgets_made_widget_s"),
            (Gauge, "my-app/queue..depth", "", "my_app_queue_depth"),
            (Counter, "2xx.responses", "", "_2xx_responses"),
            (Gauge, "ns:metric.name", "", "ns:metric_name"),
            (Gauge, "caf\u{e9}.ouvert", "", "caf_ouvert"),
            (Gauge, "trailing.", "s", "trailing_seconds"),
            (Gauge, "seconds", "s", "seconds"),
        ] {
            let unit = prometheus_unit(unit, kind == Gauge);
            assert_eq!(family_name(name, &unit, kind), expected, "{name}");
        }

        let requests = Family {
            name: "requests".to_owned(),
            kind: Counter,
            unit: String::new(),
            help: String::new(),
            series: Vec::new(),
        };
        assert_eq!(requests.exposed_name(Format::Text), "requests_total");
        assert_eq!(requests.exposed_name(Format::OpenMetrics), "requests");
    }

    #[test]
    fn translates_units() {
        for (unit, gauge, expected) in [
            ("1", true, "ratio"),
            ("1", false, ""),
            ("{item}", true, ""),
            ("{item}", false, ""),
            ("s", false, "seconds"),
            ("ms", false, "milliseconds"),
            ("us", false, "microseconds"),
            ("By", false, "bytes"),
            ("By/s", false, "bytes_per_second"),
            ("1/s", false, "per_second"),
            ("{request}/min", false, "per_min"),
            ("Cel", true, "celsius"),
            ("%", true, "percent"),
            ("Hz", true, "hertz"),
            ("", true, ""),
        ] {
            assert_eq!(
                prometheus_unit(unit, gauge),
                expected,
                "{unit} gauge={gauge}"
            );
        }
    }

    #[test]
    fn translates_label_names() {
        for (key, expected) in [
            ("http.route", "http_route"),
            ("http.response.status_code", "http_response_status_code"),
            ("service.name", "service_name"),
            ("1st.place", "key_1st_place"),
            ("a..b", "a_b"),
            ("_private", "key_private"),
            ("\u{ff}es", "key_es"),
            ("ns:key", "ns_key"),
            ("", "key"),
        ] {
            assert_eq!(label_name(key), expected, "{key:?}");
        }
    }

    #[test]
    fn colliding_and_reserved_label_names() {
        let labels = attribute_labels(
            [
                ("a_b", Cow::Borrowed("second")),
                ("a.b", Cow::Borrowed("first")),
                ("le", Cow::Borrowed("renamed")),
                ("key.le", Cow::Borrowed("joined")),
                ("z", Cow::Borrowed("last")),
            ]
            .into_iter(),
            &RESERVED_LABELS,
        );
        assert_eq!(
            labels,
            [
                ("a_b".to_owned(), "first;second".to_owned()),
                ("key_le".to_owned(), "joined;renamed".to_owned()),
                ("z".to_owned(), "last".to_owned()),
            ]
        );
    }

    #[test]
    fn escapes_help_and_label_values() {
        let metrics = collect_metrics(|provider| {
            provider
                .meter("escapes")
                .u64_counter("jobs")
                .with_description("Jobs \"done\"\\total\nsecond line")
                .build()
                .add(
                    1,
                    &[
                        KeyValue::new("path", "C:\\tmp\\\"x\"\nend"),
                        KeyValue::new("count", 5_i64),
                        KeyValue::new("ok", true),
                    ],
                );
        });
        let text = render(&metrics, Format::Text, &NoExemplars);
        assert!(
            text.contains("# HELP jobs_total Jobs \"done\"\\\\total\\nsecond line\n"),
            "{text}"
        );
        assert!(text.contains(
            "jobs_total{count=\"5\",ok=\"true\",otel_scope_name=\"escapes\",path=\"C:\\\\tmp\\\\\\\"x\\\"\\nend\"} 1\n"
        ), "{text}");

        let openmetrics = render(&metrics, Format::OpenMetrics, &NoExemplars);
        assert!(
            openmetrics.contains("# HELP jobs Jobs \\\"done\\\"\\\\total\\nsecond line\n"),
            "{openmetrics}"
        );
        assert!(openmetrics.contains("path=\"C:\\\\tmp\\\\\\\"x\\\"\\nend\""));
    }

    #[test]
    fn target_info_carries_the_resource() {
        // The reader exports nothing without a metric; a delta one is dropped.
        let metrics = collect_with(Temporality::Delta, shop_resource(), |provider| {
            provider.meter("m").u64_counter("c").build().add(1, &[]);
        });
        assert_eq!(
            render(&metrics, Format::Text, &NoExemplars),
            "# HELP target_info Target metadata\n\
             # TYPE target_info gauge\n\
             target_info{service_name=\"shop-api\",service_version=\"0.9.1\"} 1\n"
        );
        assert_eq!(
            render(&metrics, Format::OpenMetrics, &NoExemplars),
            "# TYPE target info\n\
             # HELP target Target metadata\n\
             target_info{service_name=\"shop-api\",service_version=\"0.9.1\"} 1\n\
             # EOF\n"
        );
    }

    #[test]
    fn renders_nothing_for_nothing() {
        let metrics = ResourceMetrics::default();
        assert_eq!(render(&metrics, Format::Text, &NoExemplars), "");
        assert_eq!(
            render(&metrics, Format::OpenMetrics, &NoExemplars),
            "# EOF\n"
        );
    }

    #[test]
    fn drops_delta_sums_and_histograms() {
        let metrics = collect_with(
            Temporality::Delta,
            Resource::builder_empty().build(),
            |provider| {
                let meter = provider.meter("delta");
                meter.u64_counter("sent").build().add(1, &[]);
                meter.f64_histogram("latency").build().record(1.0, &[]);
                meter.f64_gauge("level").build().record(0.5, &[]);
            },
        );
        assert_eq!(
            render(&metrics, Format::Text, &NoExemplars),
            "# TYPE level gauge\nlevel{otel_scope_name=\"delta\"} 0.5\n"
        );
    }

    #[test]
    fn drops_a_metric_whose_type_conflicts() {
        let metrics = collect_metrics(|provider| {
            // Both are `jobs_total` in the text format.
            let first = provider.meter("a.first");
            first.u64_counter("jobs").build().add(1, &[]);
            let second = provider.meter("b.second");
            second.u64_gauge("jobs_total").build().record(9, &[]);
            // Both are `tasks` in OpenMetrics.
            first.u64_gauge("tasks").build().record(2, &[]);
            second.u64_counter("tasks").build().add(3, &[]);
        });
        let text = render(&metrics, Format::Text, &NoExemplars);
        assert!(
            text.contains("jobs_total{otel_scope_name=\"a.first\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("b.second"), "{text}");
        assert!(text.contains("# TYPE tasks gauge\ntasks{otel_scope_name=\"a.first\"} 2\n"));
    }

    #[test]
    fn histogram_with_negative_bounds_has_no_sum() {
        let metrics = collect_with(
            Temporality::Cumulative,
            Resource::builder_empty().build(),
            |provider| {
                provider
                    .meter("t")
                    .f64_histogram("temperature.delta")
                    .with_boundaries(vec![-10.0, 0.0, 10.0])
                    .build()
                    .record(-3.0, &[]);
            },
        );
        assert_eq!(
            render(&metrics, Format::Text, &NoExemplars),
            "# TYPE temperature_delta histogram\n\
             temperature_delta_bucket{otel_scope_name=\"t\",le=\"-10.0\"} 0\n\
             temperature_delta_bucket{otel_scope_name=\"t\",le=\"0.0\"} 1\n\
             temperature_delta_bucket{otel_scope_name=\"t\",le=\"10.0\"} 1\n\
             temperature_delta_bucket{otel_scope_name=\"t\",le=\"+Inf\"} 1\n"
        );
    }

    #[test]
    fn bucket_exemplars_stay_in_their_bucket() {
        let bounds = [1.0, 2.0, 3.0];
        let low = exemplar(0.5, 0, 1, 1);
        let too_big = exemplar(5.0, 0, 2, 2);
        let untraced = Exemplar {
            trace_id: TraceId::INVALID,
            ..exemplar(2.5, 0, 3, 3)
        };
        let too_small = exemplar(2.0, 0, 4, 4);
        let buckets = cumulative_buckets(
            &bounds,
            [1, 0, 2, 4].into_iter(),
            vec![
                Some(low.clone()),
                Some(too_big),
                Some(untraced),
                Some(too_small),
            ],
        );
        let counts: Vec<u64> = buckets.iter().map(|bucket| bucket.count).collect();
        assert_eq!(counts, [1, 1, 3, 7]);
        assert_eq!(buckets[3].le, f64::INFINITY);
        assert_eq!(buckets[0].exemplar.as_ref(), Some(&low));
        for bucket in &buckets[1..] {
            assert_eq!(bucket.exemplar, None, "le={}", bucket.le);
        }

        // A bound is the top of its bucket: 2.0 belongs to `le="2.0"`, and
        // `+Inf` takes what is above the last bound.
        let at_bound = exemplar(2.0, 0, 5, 5);
        let above = exemplar(7.5, 0, 6, 6);
        let buckets = cumulative_buckets(
            &bounds,
            [0, 1, 0, 1].into_iter(),
            vec![None, Some(at_bound.clone()), None, Some(above.clone())],
        );
        let shown: Vec<Option<&Exemplar>> = buckets
            .iter()
            .map(|bucket| bucket.exemplar.as_ref())
            .collect();
        assert_eq!(shown, [None, Some(&at_bound), None, Some(&above)]);
    }

    #[test]
    fn picks_the_format_from_accept() {
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        for (accept, expected) in [
            (Some(prometheus_2), Format::OpenMetrics),
            (Some(prometheus_3), Format::OpenMetrics),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            (
                Some("Application/OpenMetrics-Text; Version=1.0.0"),
                Format::OpenMetrics,
            ),
            (Some("text/plain"), Format::Text),
            (Some("text/plain;version=0.0.4"), Format::Text),
            (Some("*/*"), Format::Text),
            (Some(""), Format::Text),
            (None, Format::Text),
            (
                Some("text/plain,application/openmetrics-text;q=0.5"),
                Format::Text,
            ),
            (
                Some("text/plain;q=0.2,application/openmetrics-text;q=0.5,*/*"),
                Format::OpenMetrics,
            ),
            (Some("application/openmetrics-text;q=0.3,*/*"), Format::Text),
            (Some("application/openmetrics-text;q=0"), Format::Text),
            (
                Some("application/openmetrics-text;q=oops,text/plain;q=0.1"),
                Format::Text,
            ),
        ] {
            assert_eq!(Format::from_accept(accept), expected, "{accept:?}");
        }
        assert_eq!(
            Format::Text.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            Format::OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(Number::U64(48_234_496).to_string(), "48234496");
        assert_eq!(Number::I64(-1).to_string(), "-1");
        assert_eq!(Number::F64(2.0).to_string(), "2.0");
        assert_eq!(Number::F64(0.1 + 0.2).to_string(), "0.30000000000000004");
        assert_eq!(Number::F64(1e21).to_string(), "1e21");
        assert_eq!(Number::F64(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Number::F64(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Number::F64(f64::NAN).to_string(), "NaN");
    }

    #[test]
    fn formats_le_canonically() {
        for (value, expected) in [
            (0.0, "0.0"),
            (0.001, "0.001"),
            (0.005, "0.005"),
            (0.95, "0.95"),
            (1.0, "1.0"),
            (1.7, "1.7"),
            (10.0, "10.0"),
            (2500.0, "2500.0"),
            (100_000.0, "100000.0"),
            (123_456.5, "123456.5"),
            (1e6, "1e+06"),
            (2.5e6, "2.5e+06"),
            (1e10, "1e+10"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-10, "1.5e-10"),
            (1.5e300, "1.5e+300"),
            (-2.5, "-2.5"),
            (-1e7, "-1e+07"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(canonical_float(value), expected, "{value}");
        }
    }

    #[test]
    fn formats_timestamps() {
        let at = |secs: u64, nanos: u32| UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(timestamp(at(1_700_000_000, 0)), "1700000000.0");
        assert_eq!(timestamp(at(1_700_000_000, 500_000_000)), "1700000000.5");
        assert_eq!(
            timestamp(at(1_700_000_000, 123_456_789)),
            "1700000000.123456789"
        );
        assert_eq!(timestamp(at(1, 1_000)), "1.000001");
        assert_eq!(timestamp(UNIX_EPOCH - Duration::from_millis(1500)), "-1.5");
    }
}
