//! Captures metrics through the SDK's in-memory exporter, flattened for asserts.

use std::collections::BTreeMap;
use traced::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use traced::opentelemetry_sdk::metrics::InMemoryMetricExporter;

/// One data point of one metric, with what the tests look at.
#[derive(Debug, Clone)]
pub struct Point {
    pub name: String,
    pub unit: String,
    pub description: String,
    /// "sum", "gauge" or "histogram".
    pub kind: &'static str,
    pub monotonic: bool,
    /// The sum's or gauge's value, the histogram's sum.
    pub value: f64,
    pub count: u64,
    pub bounds: Vec<f64>,
    pub buckets: Vec<u64>,
    pub attrs: BTreeMap<String, String>,
}

pub struct Metrics(pub Vec<Point>);

impl Metrics {
    /// Every point of the metric `name`.
    pub fn named(&self, name: &str) -> Vec<&Point> {
        self.0.iter().filter(|p| p.name == name).collect()
    }

    /// The only point of `name`.
    pub fn one(&self, name: &str) -> &Point {
        let found = self.named(name);
        assert_eq!(
            found.len(),
            1,
            "expected one point of {name}, got {found:#?}\nall: {:?}",
            self.0.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
        found[0]
    }

    /// The point of `name` whose attributes include all of `attrs`.
    pub fn with(&self, name: &str, attrs: &[(&str, &str)]) -> &Point {
        let found: Vec<_> = self
            .named(name)
            .into_iter()
            .filter(|p| {
                attrs
                    .iter()
                    .all(|(k, v)| p.attrs.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {attrs:?}: {:#?}", self.named(name));
        found[0]
    }
}

/// The points of the last export (cumulative temporality: the totals).
pub fn last_export(exporter: &InMemoryMetricExporter) -> Metrics {
    let all = exporter.get_finished_metrics().expect("metrics");
    Metrics(all.last().map(flatten).unwrap_or_default())
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> BTreeMap<String, String> {
    kvs.map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
        .collect()
}

fn points<T: Copy>(data: &MetricData<T>, num: fn(T) -> f64, base: &Point, out: &mut Vec<Point>) {
    match data {
        MetricData::Sum(s) => {
            for p in s.data_points() {
                out.push(Point {
                    kind: "sum",
                    monotonic: s.is_monotonic(),
                    value: num(p.value()),
                    attrs: attrs(p.attributes()),
                    ..base.clone()
                });
            }
        }
        MetricData::Gauge(g) => {
            for p in g.data_points() {
                out.push(Point {
                    kind: "gauge",
                    value: num(p.value()),
                    attrs: attrs(p.attributes()),
                    ..base.clone()
                });
            }
        }
        MetricData::Histogram(h) => {
            for p in h.data_points() {
                out.push(Point {
                    kind: "histogram",
                    value: num(p.sum()),
                    count: p.count(),
                    bounds: p.bounds().collect(),
                    buckets: p.bucket_counts().collect(),
                    attrs: attrs(p.attributes()),
                    ..base.clone()
                });
            }
        }
        MetricData::ExponentialHistogram(_) => {}
    }
}

fn flatten(rm: &ResourceMetrics) -> Vec<Point> {
    let mut out = Vec::new();
    for scope in rm.scope_metrics() {
        for m in scope.metrics() {
            let base = Point {
                name: m.name().to_owned(),
                unit: m.unit().to_owned(),
                description: m.description().to_owned(),
                kind: "",
                monotonic: false,
                value: 0.0,
                count: 0,
                bounds: Vec::new(),
                buckets: Vec::new(),
                attrs: BTreeMap::new(),
            };
            match m.data() {
                AggregatedMetrics::F64(d) => points(d, |v| v, &base, &mut out),
                AggregatedMetrics::U64(d) => points(d, |v| v as f64, &base, &mut out),
                AggregatedMetrics::I64(d) => points(d, |v| v as f64, &base, &mut out),
            }
        }
    }
    out
}
