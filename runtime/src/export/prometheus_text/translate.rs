//! OpenTelemetry metric points to Prometheus families: names, units, types,
//! labels and exemplars, as the module documentation lists them.

use super::*;

/// A value as the SDK aggregated it: integers print without a decimal point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    /// Whether the value cannot be a counter-like value (`_sum`).
    pub(super) fn is_negative_or_nan(self) -> bool {
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
pub(super) trait ToNumber: Copy {
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
pub(super) enum Kind {
    Gauge,
    Counter,
    Histogram,
    /// Only the `target` family: an info in OpenMetrics, a gauge in text.
    Info,
}

/// A metric family: the metrics of every scope with the same translated name.
#[derive(Debug)]
pub(super) struct Family {
    /// The name as OpenMetrics writes it in `# TYPE`: no `_total` or `_info`.
    pub(super) name: String,
    pub(super) kind: Kind,
    /// The translated unit, empty without one.
    pub(super) unit: String,
    pub(super) help: String,
    pub(super) series: Vec<Series>,
}

impl Family {
    /// The name of the family in the text format, where a counter's family is
    /// named like its sample.
    pub(super) fn text_name(&self) -> Cow<'_, str> {
        match self.kind {
            Kind::Counter => Cow::Owned(format!("{}_total", self.name)),
            Kind::Info => Cow::Owned(format!("{}_info", self.name)),
            Kind::Gauge | Kind::Histogram => Cow::Borrowed(&self.name),
        }
    }

    /// The name in the `# TYPE` line of `format`.
    pub(super) fn exposed_name(&self, format: Format) -> Cow<'_, str> {
        match format {
            Format::Text => self.text_name(),
            Format::OpenMetrics => Cow::Borrowed(&self.name),
        }
    }
}

/// One series: its labels, sorted by name, and its samples.
#[derive(Debug)]
pub(super) struct Series {
    pub(super) labels: Vec<(String, String)>,
    pub(super) points: Points,
}

#[derive(Debug)]
pub(super) enum Points {
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
pub(super) struct Bucket {
    pub(super) le: f64,
    pub(super) count: u64,
    pub(super) exemplar: Option<Exemplar>,
}

/// What translating a metric needs besides the metric.
pub(super) struct Context<'a> {
    pub(super) format: Format,
    pub(super) exemplars: &'a dyn ExemplarLookup,
    /// `otel_scope_name` and `otel_scope_version` of the current scope.
    pub(super) scope_labels: Vec<(String, String)>,
}

pub(super) const SCOPE_NAME_LABEL: &str = "otel_scope_name";
pub(super) const SCOPE_VERSION_LABEL: &str = "otel_scope_version";
pub(super) const BUCKET_LABEL: &str = "le";
/// Label names the renderer sets itself; attributes translating to them get a
/// `key_` prefix (`le` only matters to histograms, but is odd on any sample).
pub(super) const RESERVED_LABELS: [&str; 3] = [BUCKET_LABEL, SCOPE_NAME_LABEL, SCOPE_VERSION_LABEL];

/// Translates every metric and groups them into families, with their series
/// sorted by labels.
pub(super) fn collect(metrics: &ResourceMetrics, mut context: Context<'_>) -> Vec<Family> {
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

pub(super) fn scope_sort_key(scope: &InstrumentationScope) -> (&str, &str, &str) {
    (
        scope.name(),
        scope.version().unwrap_or_default(),
        scope.schema_url().unwrap_or_default(),
    )
}

/// The labels naming the scope; an empty name or version is left out.
pub(super) fn scope_labels(scope: &InstrumentationScope) -> Vec<(String, String)> {
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
pub(super) fn target_family(resource: &Resource) -> Option<Family> {
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

pub(super) fn translate_metric(metric: &Metric, context: &Context<'_>) -> Option<Family> {
    match metric.data() {
        AggregatedMetrics::F64(data) => translate_data(metric, data, context),
        AggregatedMetrics::U64(data) => translate_data(metric, data, context),
        AggregatedMetrics::I64(data) => translate_data(metric, data, context),
    }
}

pub(super) fn translate_data<T: ToNumber>(
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
pub(super) fn has_trace(exemplar: &Exemplar) -> bool {
    exemplar.trace_id != TraceId::INVALID && exemplar.span_id != SpanId::INVALID
}

/// Cumulative bucket counts with `+Inf` last, and their exemplars: each bucket
/// shows only the exemplar of a measurement that fell into it (above the
/// previous bound, at most its own), as the Prometheus client libraries do. A
/// bucket without one has none: the cumulative count of a higher bucket
/// includes the lower measurement, but repeating its exemplar there would
/// point every slow bucket at the same fast request.
pub(super) fn cumulative_buckets(
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
pub(super) fn point_labels<'a>(
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
pub(super) fn attribute_labels<'a>(
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
pub(super) fn sanitize(name: &str, keep: impl Fn(char) -> bool) -> String {
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
pub(super) fn metric_name(name: &str) -> String {
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
pub(super) fn label_name(key: &str) -> String {
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
pub(super) fn family_name(name: &str, unit: &str, kind: Kind) -> String {
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
pub(super) fn prometheus_unit(unit: &str, is_gauge: bool) -> String {
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
pub(super) fn unit_word(unit: &str) -> String {
    sanitize(unit, |c| c.is_ascii_alphanumeric())
        .trim_matches('_')
        .to_owned()
}
