//! A human-readable exporter that prints metrics to the console.
//!
//! [`ConsoleMetricsExporter`] prints every collection of a metric reader as a
//! block: a header naming the service, then per instrumentation scope one
//! entry per metric with its unit, kind and description, and one line per
//! series with its attributes and current value. Histograms add a line with
//! the count in each bucket, drawn as a small bar chart and listed by upper
//! bound.
//!
//! ```text
//! metrics · shop-api · 9 series
//! scope shop.orders 1.2.0
//!   orders.placed ({order}) counter  Orders accepted by the checkout
//!     {payment.method="card", region="eu"}    12
//!     {payment.method="paypal", region="us"}  3
//!   http.server.request.duration (s) histogram  Duration of HTTP server requests
//!     {http.response.status_code=200, http.route="/health"}       count=1 sum=0.0031 min=0.0031 max=0.0031
//!       █  ≤0.005:1
//!     {http.response.status_code=200, http.route="/orders/{id}"}  count=6 sum=0.3135 min=0.004 max=0.2
//!       ▄█▄ ▄▄  ≤0.005:1 ≤0.01:2 ≤0.025:1 ≤0.05:0 ≤0.1:1 ≤0.25:1
//!   db.client.connections.in_use ({connection}) updown  Connections currently checked out of the pool
//!     {pool="primary"}  3
//!     {pool="replica"}  -1
//!   process.cpu.utilization (1) gauge  Share of one CPU used by the process
//!     {}  0.437512
//!   process.memory.usage (By) gauge  Resident memory of the process
//!     {}  48234496
//! scope tokio
//!   tokio.tasks.spawned counter  Tasks spawned on the runtime
//!     {runtime.flavor="multi_thread"}  1250
//! ```
//!
//! Nothing is printed for a collection without any data point, so an idle
//! program stays quiet. No clock time is printed.
//!
//! The pipeline's own diagnostics (instrumentation scope `otel.sdk`, such as
//! `otel.sdk.processor.span.processed`) are left out unless they report a
//! problem: only their series with an `error.type` and a non-zero value (spans
//! dropped because a queue was full, failed exports) are printed. Other
//! exporters (OTLP, Prometheus) receive all of them.

use std::fmt::{self, Write as _};
use std::future::Future;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, Exemplar, ExponentialBucket, ExponentialHistogramDataPoint,
    HistogramDataPoint, Metric, MetricData, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use super::text::{
    key_segment, list, one_line, service_name, stderr_color, width, write_text, Line, Segment,
    Style, MAX_VALUE_CHARS,
};

/// Values of a metric line up after attributes up to this many columns wide.
const MAX_ATTRIBUTES_COLUMN: usize = 60;
/// Bucket lines wrap beyond this many columns.
const WRAP_WIDTH: usize = 100;
/// Most buckets an exponential histogram is shown with; finer ones are merged.
const MAX_EXPONENTIAL_BUCKETS: i64 = 16;
/// Coarsest scale of an exponential histogram: bounds at powers of 2^1024.
const MIN_SCALE: i32 = -10;
/// Bucket lines wrapped after a bar chart this wide start at the left again.
const MAX_BAR_INDENT: usize = 24;
/// Levels of the bucket bar chart, lowest first.
const BAR_LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A [`PushMetricExporter`] that prints each collection of metrics to a
/// terminal in a form meant for people rather than machines.
///
/// Put it behind a
/// [`PeriodicReader`](opentelemetry_sdk::metrics::PeriodicReader): every
/// interval, and on [`force_flush`](opentelemetry_sdk::metrics::SdkMeterProvider::force_flush)
/// and [`shutdown`](opentelemetry_sdk::metrics::SdkMeterProvider::shutdown) of
/// the provider, the reader collects the metrics and this exporter prints them.
///
/// Scopes are printed sorted by name, metrics in the order the SDK reports
/// them (the order their instruments were created in), and the series of a
/// metric sorted by their attributes, so that the same data always prints the
/// same way. Sums and gauges show their value; histograms their count, sum,
/// minimum and maximum and a line with the count of each bucket. Exemplars,
/// when present, are printed below their series. Sums and histograms of
/// [`Temporality::Delta`] are marked `delta`: their values cover the time since
/// the previous export rather than since the start of the program.
///
/// # Examples
///
/// ```
/// # use traced_runtime as traced;
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
/// use traced::export::console_metrics::ConsoleMetricsExporter;
///
/// let reader = PeriodicReader::builder(ConsoleMetricsExporter::new()).build();
/// let provider = SdkMeterProvider::builder().with_reader(reader).build();
///
/// let orders = provider.meter("shop").u64_counter("orders.placed").build();
/// orders.add(1, &[KeyValue::new("region", "eu")]);
///
/// provider.force_flush()?; // prints the metrics to stderr now, not only every minute
/// provider.shutdown()?;
/// # Ok::<(), opentelemetry_sdk::error::OTelSdkError>(())
/// ```
pub struct ConsoleMetricsExporter {
    state: Mutex<State>,
    color: bool,
    temporality: Temporality,
}

impl ConsoleMetricsExporter {
    /// Creates an exporter that writes to standard error, with cumulative
    /// temporality.
    ///
    /// Output is coloured when standard error is a terminal and the `NO_COLOR`
    /// environment variable is unset or empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use opentelemetry_sdk::metrics::SdkMeterProvider;
    /// use traced::export::console_metrics::ConsoleMetricsExporter;
    ///
    /// let provider = SdkMeterProvider::builder()
    ///     .with_periodic_exporter(ConsoleMetricsExporter::new())
    ///     .build();
    /// # drop(provider);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_writer(std::io::stderr(), stderr_color())
    }

    /// Creates an exporter that writes to `writer`, with ANSI colours if `color`
    /// is true and no escape sequences at all otherwise.
    ///
    /// Each export writes its text with a single `write_all` followed by
    /// `flush`; a failed write makes the export fail with
    /// [`OTelSdkError::InternalFailure`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use std::io::IsTerminal;
    /// use traced::export::console_metrics::ConsoleMetricsExporter;
    ///
    /// let stdout = std::io::stdout();
    /// let color = stdout.is_terminal();
    /// let exporter = ConsoleMetricsExporter::with_writer(stdout, color);
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn with_writer<W: Write + Send + 'static>(writer: W, color: bool) -> Self {
        Self {
            state: Mutex::new(State {
                writer: Box::new(writer),
                is_shutdown: false,
            }),
            color,
            temporality: Temporality::Cumulative,
        }
    }

    /// Sets the temporality the exporter asks the SDK for; the default is
    /// [`Temporality::Cumulative`].
    ///
    /// With [`Temporality::Delta`], counters and histograms show what was
    /// recorded since the previous export, and series without new
    /// measurements are left out.
    ///
    /// # Examples
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
    /// use opentelemetry_sdk::metrics::Temporality;
    /// use traced::export::console_metrics::ConsoleMetricsExporter;
    ///
    /// let exporter = ConsoleMetricsExporter::new().with_temporality(Temporality::Delta);
    /// assert_eq!(exporter.temporality(), Temporality::Delta);
    /// ```
    #[must_use]
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held unless the writer itself does;
        // the state is a writer and a flag, so carry on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn export_now(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut state = self.lock();
        if state.is_shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let text = Renderer { color: self.color }.resource_metrics(metrics);
        state.write(&text)
    }
}

/// Same as [`ConsoleMetricsExporter::new`].
///
/// # Examples
///
/// ```
/// # use traced_runtime as traced;
/// use traced::export::console_metrics::ConsoleMetricsExporter;
///
/// let exporter = ConsoleMetricsExporter::default();
/// # drop(exporter);
/// ```
impl Default for ConsoleMetricsExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ConsoleMetricsExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleMetricsExporter")
            .field("color", &self.color)
            .field("temporality", &self.temporality)
            .finish_non_exhaustive()
    }
}

/// Prints each collection; see [`ConsoleMetricsExporter`].
///
/// # Examples
///
/// A failed write is reported by the export that caused it:
///
/// ```
/// # use traced_runtime as traced;
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
/// use traced::export::console_metrics::ConsoleMetricsExporter;
///
/// struct Closed;
/// impl std::io::Write for Closed {
///     fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
///         Err(std::io::ErrorKind::BrokenPipe.into())
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
///
/// let exporter = ConsoleMetricsExporter::with_writer(Closed, false);
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter).build())
///     .build();
/// provider.meter("shop").u64_counter("orders.placed").build().add(1, &[]);
/// assert!(provider.force_flush().is_err());
/// ```
impl PushMetricExporter for ConsoleMetricsExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_now(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.lock().flush()
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        if state.is_shutdown {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.is_shutdown = true;
        state.flush()
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

struct State {
    writer: Box<dyn Write + Send>,
    is_shutdown: bool,
}

impl State {
    fn write(&mut self, text: &str) -> OTelSdkResult {
        write_text(&mut self.writer, text).map_err(write_error)
    }

    fn flush(&mut self) -> OTelSdkResult {
        self.writer.flush().map_err(write_error)
    }
}

fn write_error(err: std::io::Error) -> OTelSdkError {
    OTelSdkError::InternalFailure(format!("console metrics exporter failed to write: {err}"))
}

fn plain(text: impl Into<String>) -> Segment {
    (Style::PLAIN, text.into())
}

fn dim(text: impl Into<String>) -> Segment {
    (Style::DIM, text.into())
}

fn number(text: impl Into<String>) -> Segment {
    (Style::CYAN, text.into())
}

/// One series of a metric, rendered but not yet laid out.
struct Row {
    /// The attributes without styling, to sort the series by.
    sort_key: String,
    attributes: Vec<Segment>,
    value: Vec<Segment>,
    /// Lines below the series: bucket counts and exemplars.
    details: Vec<Vec<Segment>>,
}

/// A metric, rendered but not yet laid out.
struct Block {
    kind: &'static str,
    delta: bool,
    rows: Vec<Row>,
}

struct Renderer {
    color: bool,
}

impl Renderer {
    fn line(&self) -> Line {
        Line::new(self.color)
    }

    /// Renders one collection; empty if it holds no data point.
    fn resource_metrics(&self, metrics: &ResourceMetrics) -> String {
        let mut scopes: Vec<(&ScopeMetrics, Vec<(&Metric, Block)>)> = metrics
            .scope_metrics()
            .map(|scope| {
                let only_problems = scope.scope().name() == SELF_DIAGNOSTICS_SCOPE;
                let blocks = scope
                    .metrics()
                    .map(|metric| (metric, block(metric.data(), only_problems)))
                    .filter(|(_, block)| !block.rows.is_empty())
                    .collect::<Vec<_>>();
                (scope, blocks)
            })
            .filter(|(_, blocks)| !blocks.is_empty())
            .collect();
        let series: usize = scopes
            .iter()
            .flat_map(|(_, blocks)| blocks)
            .map(|(_, block)| block.rows.len())
            .sum();
        if series == 0 {
            return String::new();
        }
        scopes.sort_by(|(a, _), (b, _)| {
            let (a, b) = (a.scope(), b.scope());
            (a.name(), a.version()).cmp(&(b.name(), b.version()))
        });

        let mut out = String::new();
        let mut header = self.line();
        header.push(Style::BOLD, "metrics");
        if let Some(name) = service_name(metrics.resource()) {
            header.push(Style::PLAIN, " · ");
            header.push(Style::PLAIN, &name);
        }
        header.push(Style::PLAIN, " · ");
        header.push(Style::CYAN, &series.to_string());
        header.push(Style::PLAIN, " series");
        header.end(&mut out);

        for (scope_metrics, blocks) in scopes {
            let scope = scope_metrics.scope();
            let mut line = self.line();
            line.push(Style::DIM, "scope ");
            if scope.name().is_empty() {
                line.push(Style::DIM, "(unnamed)");
            } else {
                line.push(Style::PLAIN, &one_line(scope.name(), MAX_VALUE_CHARS));
            }
            if let Some(version) = scope.version().filter(|version| !version.is_empty()) {
                line.push(Style::PLAIN, " ");
                line.push(Style::DIM, &one_line(version, MAX_VALUE_CHARS));
            }
            line.end(&mut out);
            for (metric, block) in blocks {
                self.block(&mut out, metric, block);
            }
        }
        out
    }

    fn block(&self, out: &mut String, metric: &Metric, mut block: Block) {
        let mut line = self.line();
        line.push(Style::PLAIN, "  ");
        line.push(Style::BOLD, &one_line(metric.name(), MAX_VALUE_CHARS));
        if !metric.unit().is_empty() {
            line.push(Style::PLAIN, " (");
            line.push(Style::PLAIN, &one_line(metric.unit(), MAX_VALUE_CHARS));
            line.push(Style::PLAIN, ")");
        }
        line.push(Style::PLAIN, if block.delta { " delta " } else { " " });
        line.push(Style::PLAIN, block.kind);
        if !metric.description().is_empty() {
            line.push(Style::PLAIN, "  ");
            line.push(Style::DIM, &one_line(metric.description(), MAX_VALUE_CHARS));
        }
        line.end(out);

        block.rows.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        let column = block
            .rows
            .iter()
            .map(|row| width(&row.attributes))
            .filter(|&width| width <= MAX_ATTRIBUTES_COLUMN)
            .max()
            .unwrap_or(0);
        for row in &block.rows {
            let mut line = self.line();
            line.push(Style::PLAIN, "    ");
            line.extend(&row.attributes);
            line.pad_to(4 + column);
            line.push(Style::PLAIN, "  ");
            line.extend(&row.value);
            line.end(out);
            for detail in &row.details {
                let mut line = self.line();
                line.push(Style::PLAIN, "      ");
                line.extend(detail);
                line.end(out);
            }
        }
    }
}

/// The instrumentation scope of the SDK's self-diagnostics metrics.
const SELF_DIAGNOSTICS_SCOPE: &str = "otel.sdk";

/// Whether a self-diagnostics series with these attributes and this value (a
/// sum's, or a histogram's count) reports a problem: an `error.type`, non-zero.
fn reports_problem<'a>(mut attributes: impl Iterator<Item = &'a KeyValue>, zero: bool) -> bool {
    !zero && attributes.any(|kv| kv.key.as_str() == "error.type")
}

/// Whether a series is printed: always, unless `only_problems`.
fn shown<'a>(
    only_problems: bool,
    attributes: impl Iterator<Item = &'a KeyValue>,
    zero: bool,
) -> bool {
    !only_problems || reports_problem(attributes, zero)
}

/// Renders the series of one metric; with `only_problems`, only those that
/// report a problem (see [`reports_problem`]).
fn block(data: &AggregatedMetrics, only_problems: bool) -> Block {
    match data {
        AggregatedMetrics::F64(data) => metric_data(data, only_problems),
        AggregatedMetrics::U64(data) => metric_data(data, only_problems),
        AggregatedMetrics::I64(data) => metric_data(data, only_problems),
    }
}

fn metric_data<T: Number>(data: &MetricData<T>, only_problems: bool) -> Block {
    match data {
        MetricData::Gauge(gauge) => Block {
            kind: "gauge",
            delta: false,
            rows: gauge
                .data_points()
                .filter(|point| shown(only_problems, point.attributes(), point.value().is_zero()))
                .map(|point| simple_row(point.attributes(), point.value(), point.exemplars()))
                .collect(),
        },
        MetricData::Sum(sum) => Block {
            kind: if sum.is_monotonic() {
                "counter"
            } else {
                "updown"
            },
            delta: sum.temporality() == Temporality::Delta,
            rows: sum
                .data_points()
                .filter(|point| shown(only_problems, point.attributes(), point.value().is_zero()))
                .map(|point| simple_row(point.attributes(), point.value(), point.exemplars()))
                .collect(),
        },
        MetricData::Histogram(histogram) => Block {
            kind: "histogram",
            delta: histogram.temporality() == Temporality::Delta,
            rows: histogram
                .data_points()
                .filter(|point| shown(only_problems, point.attributes(), point.count() == 0))
                .map(histogram_row)
                .collect(),
        },
        MetricData::ExponentialHistogram(histogram) => Block {
            kind: "histogram",
            delta: histogram.temporality() == Temporality::Delta,
            rows: histogram
                .data_points()
                .filter(|point| shown(only_problems, point.attributes(), point.count() == 0))
                .map(exponential_histogram_row)
                .collect(),
        },
    }
}

fn simple_row<'a, T: Number + 'a>(
    attributes: impl Iterator<Item = &'a KeyValue>,
    value: T,
    exemplars: impl Iterator<Item = &'a Exemplar<T>>,
) -> Row {
    let (sort_key, attributes) = attribute_set(attributes);
    Row {
        sort_key,
        attributes,
        value: vec![number(value.render())],
        details: exemplars.map(exemplar).collect(),
    }
}

fn histogram_row<T: Number>(point: &HistogramDataPoint<T>) -> Row {
    let (sort_key, attributes) = attribute_set(point.attributes());
    let mut labels: Vec<String> = point
        .bounds()
        .map(|bound| format!("≤{}", fmt_f64(bound)))
        .collect();
    labels.push("+Inf".to_owned());
    let buckets = labels.into_iter().zip(point.bucket_counts()).collect();
    let mut details = bucket_lines(buckets);
    details.extend(point.exemplars().map(exemplar));
    Row {
        sort_key,
        attributes,
        value: summary(point.count(), point.sum(), point.min(), point.max()),
        details,
    }
}

fn exponential_histogram_row<T: Number>(point: &ExponentialHistogramDataPoint<T>) -> Row {
    let (sort_key, attributes) = attribute_set(point.attributes());
    let mut buckets = Vec::new();
    for (scale, index, count) in exponential_buckets(point.scale(), point.negative_bucket())
        .into_iter()
        .rev()
    {
        // |value| lies in (base^index, base^(index + 1)], so the value below -base^index.
        buckets.push((format!("<-{}", fmt_f64(power(scale, index))), count));
    }
    if point.zero_count() > 0 || !buckets.is_empty() {
        let label = if point.zero_threshold() > 0.0 {
            format!("±{}", fmt_f64(point.zero_threshold()))
        } else {
            "0".to_owned()
        };
        buckets.push((label, point.zero_count()));
    }
    for (scale, index, count) in exponential_buckets(point.scale(), point.positive_bucket()) {
        buckets.push((format!("≤{}", fmt_f64(power(scale, index + 1))), count));
    }
    let mut details = bucket_lines(buckets);
    details.extend(point.exemplars().map(exemplar));
    Row {
        sort_key,
        attributes,
        value: summary(
            u64::try_from(point.count()).unwrap_or(u64::MAX),
            point.sum(),
            point.min(),
            point.max(),
        ),
        details,
    }
}

/// The buckets of one side of an exponential histogram as `(scale, index,
/// count)`, smallest magnitude first. Finer buckets are merged until the
/// bounds are powers of two (scale 0) or coarser, and at most
/// [`MAX_EXPONENTIAL_BUCKETS`] remain between the first and the last
/// non-empty one.
fn exponential_buckets(scale: i8, bucket: &ExponentialBucket) -> Vec<(i32, i64, u64)> {
    let mut buckets: Vec<(i64, u64)> = bucket
        .counts()
        .enumerate()
        .filter(|&(_, count)| count > 0)
        .map(|(i, count)| {
            let index = i64::from(bucket.offset()) + i64::try_from(i).unwrap_or(i64::MAX);
            (index, count)
        })
        .collect();
    let mut scale = i32::from(scale);
    while let (Some(first), Some(last)) = (buckets.first(), buckets.last()) {
        let narrow = scale <= 0 && last.0 - first.0 < MAX_EXPONENTIAL_BUCKETS;
        if narrow || scale <= MIN_SCALE {
            break;
        }
        // One scale down, buckets 2i and 2i + 1 become bucket i.
        scale -= 1;
        let mut merged: Vec<(i64, u64)> = Vec::with_capacity(buckets.len());
        for (index, count) in buckets {
            let index = index.div_euclid(2);
            match merged.last_mut() {
                Some(last) if last.0 == index => last.1 = last.1.saturating_add(count),
                _ => merged.push((index, count)),
            }
        }
        buckets = merged;
    }
    let (Some(&(first, _)), Some(&(last, _))) = (buckets.first(), buckets.last()) else {
        return Vec::new();
    };
    let mut counts = buckets.into_iter().peekable();
    (first..=last)
        .map(|index| {
            let count = counts
                .next_if(|&(i, _)| i == index)
                .map_or(0, |(_, count)| count);
            (scale, index, count)
        })
        .collect()
}

/// `base^index` for the base of an exponential histogram of `scale`,
/// `2^(2^-scale)`.
fn power(scale: i32, index: i64) -> f64 {
    // Exact for the scales and indexes an f64 histogram can hold.
    #[allow(clippy::cast_precision_loss)]
    let exponent = index as f64 * (-f64::from(scale)).exp2();
    exponent.exp2()
}

/// `count=… sum=… min=… max=…`, leaving out what was not recorded.
fn summary<T: Number>(count: u64, sum: T, min: Option<T>, max: Option<T>) -> Vec<Segment> {
    let mut segments = vec![plain("count="), number(count.to_string())];
    if count > 0 {
        segments.extend([plain(" sum="), number(sum.render())]);
    }
    if let Some(min) = min {
        segments.extend([plain(" min="), number(min.render())]);
    }
    if let Some(max) = max {
        segments.extend([plain(" max="), number(max.render())]);
    }
    segments
}

/// The bucket line(s) of a histogram: a bar per bucket, then `label:count`
/// per bucket, without the empty buckets at either end. Nothing when all are
/// empty.
fn bucket_lines(buckets: Vec<(String, u64)>) -> Vec<Vec<Segment>> {
    let (Some(first), Some(last)) = (
        buckets.iter().position(|&(_, count)| count > 0),
        buckets.iter().rposition(|&(_, count)| count > 0),
    ) else {
        return Vec::new();
    };
    let buckets = &buckets[first..=last];
    let highest = buckets.iter().map(|&(_, count)| count).max().unwrap_or(1);
    let bars: String = buckets
        .iter()
        .map(|&(_, count)| bar(count, highest))
        .collect();

    // Wrapped lines start below the first bucket, unless the chart is wide.
    let indent = if buckets.len() <= MAX_BAR_INDENT {
        buckets.len() + 1
    } else {
        1
    };
    let mut lines = Vec::new();
    let mut line = vec![number(bars), plain(" ")];
    for (label, count) in buckets {
        let entry = [
            plain(" "),
            dim(format!("{label}:")),
            number(count.to_string()),
        ];
        if width(&line) + width(&entry) > WRAP_WIDTH - 6 && line.len() > 2 {
            lines.push(std::mem::take(&mut line));
            line.push(plain(" ".repeat(indent)));
        }
        line.extend(entry);
    }
    lines.push(line);
    lines
}

/// One column of the bucket bar chart: blank when empty, else one of eight
/// levels proportional to `count / highest`, never below the first.
fn bar(count: u64, highest: u64) -> char {
    if count == 0 || highest == 0 {
        return ' ';
    }
    let levels = BAR_LEVELS.len() as u128;
    let level = (u128::from(count) * levels).div_ceil(u128::from(highest));
    let level = usize::try_from(level).unwrap_or(BAR_LEVELS.len());
    BAR_LEVELS[level.clamp(1, BAR_LEVELS.len()) - 1]
}

/// `exemplar trace=… span=… value=…`, then the filtered attributes if any.
fn exemplar<T: Number>(exemplar: &Exemplar<T>) -> Vec<Segment> {
    let mut segments = vec![
        dim("exemplar trace="),
        plain(hex(exemplar.trace_id())),
        dim(" span="),
        plain(hex(exemplar.span_id())),
        dim(" value="),
        number(exemplar.value.render()),
    ];
    let mut filtered = exemplar.filtered_attributes().peekable();
    if filtered.peek().is_some() {
        segments.push(plain(" "));
        segments.extend(attribute_set(filtered).1);
    }
    segments
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// `{k="v", k2=3}` sorted by key, and the same text without styling.
fn attribute_set<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> (String, Vec<Segment>) {
    let mut attributes: Vec<&KeyValue> = attributes.collect();
    attributes.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let mut segments = vec![plain("{")];
    for (i, kv) in attributes.into_iter().enumerate() {
        if i > 0 {
            segments.push(plain(", "));
        }
        segments.push(key_segment(kv.key.as_str()));
        segments.push(plain(fmt_value(&kv.value)));
    }
    segments.push(plain("}"));
    let text = segments.iter().map(|(_, text)| text.as_str()).collect();
    (text, segments)
}

/// Formats an attribute value like [`text::fmt_value`](super::text::fmt_value),
/// but floats as [`fmt_f64`] does.
fn fmt_value(value: &Value) -> String {
    match value {
        Value::F64(f) => fmt_f64(*f),
        Value::Array(Array::F64(items)) => list(items.iter().map(|f| fmt_f64(*f))),
        other => super::text::fmt_value(other),
    }
}

/// A value type of metric data.
trait Number: Copy {
    fn render(self) -> String;
    fn is_zero(self) -> bool;
}

impl Number for u64 {
    fn render(self) -> String {
        self.to_string()
    }
    fn is_zero(self) -> bool {
        self == 0
    }
}

impl Number for i64 {
    fn render(self) -> String {
        self.to_string()
    }
    fn is_zero(self) -> bool {
        self == 0
    }
}

impl Number for f64 {
    fn render(self) -> String {
        fmt_f64(self)
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

/// Formats a float with up to six significant digits and no trailing zeros:
/// `0.3135`, `12`, `1234568`, `1.5e-7`. The integer part of values below
/// 10^15 is never rounded away.
fn fmt_f64(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs();
    if !(1e-4..1e15).contains(&magnitude) {
        let text = format!("{value:.5e}");
        return match text.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_fraction(mantissa)),
            None => text,
        };
    }
    // Within the range above, the exponent is between -4 and 14.
    #[allow(clippy::cast_possible_truncation)]
    let exponent = magnitude.log10().floor() as i32;
    let decimals = usize::try_from(5 - exponent).unwrap_or(0);
    trim_fraction(&format!("{value:.decimals$}")).to_owned()
}

fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::metrics::{
        Aggregation, InMemoryMetricExporter, Instrument, PeriodicReader, SdkMeterProvider, Stream,
    };
    use opentelemetry_sdk::Resource;

    use super::super::text::test_support::{complete, Broken, Buffer};
    use super::*;

    fn resource() -> Resource {
        Resource::builder_empty()
            .with_service_name("shop-api")
            .build()
    }

    /// A provider exporting to `exporter` only when flushed or shut down.
    fn provider_with<E: PushMetricExporter>(exporter: E) -> SdkMeterProvider {
        let reader = PeriodicReader::builder(exporter)
            .with_interval(Duration::from_secs(3600))
            .build();
        SdkMeterProvider::builder()
            .with_resource(resource())
            .with_reader(reader)
            .build()
    }

    fn provider(color: bool) -> (SdkMeterProvider, Buffer) {
        let buffer = Buffer::default();
        let provider = provider_with(ConsoleMetricsExporter::with_writer(buffer.clone(), color));
        (provider, buffer)
    }

    /// Records what a small web shop would: a counter with two series, a
    /// latency histogram, an up-down counter, a gauge and an observable gauge,
    /// in two scopes.
    fn record_realistic(provider: &SdkMeterProvider) {
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("shop.orders")
                .with_version("1.2.0")
                .build(),
        );

        let orders = meter
            .u64_counter("orders.placed")
            .with_unit("{order}")
            .with_description("Orders accepted by the checkout")
            .build();
        let card_eu = [
            KeyValue::new("region", "eu"),
            KeyValue::new("payment.method", "card"),
        ];
        let paypal_us = [
            KeyValue::new("payment.method", "paypal"),
            KeyValue::new("region", "us"),
        ];
        orders.add(10, &card_eu);
        orders.add(2, &card_eu);
        orders.add(3, &paypal_us);

        let duration = meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests")
            .with_boundaries(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
            .build();
        let order_page = [
            KeyValue::new("http.route", "/orders/{id}"),
            KeyValue::new("http.response.status_code", 200),
        ];
        for seconds in [0.004, 0.007, 0.009, 0.0125, 0.081, 0.2] {
            duration.record(seconds, &order_page);
        }
        duration.record(
            0.0031,
            &[
                KeyValue::new("http.route", "/health"),
                KeyValue::new("http.response.status_code", 200),
            ],
        );

        let in_use = meter
            .i64_up_down_counter("db.client.connections.in_use")
            .with_unit("{connection}")
            .with_description("Connections currently checked out of the pool")
            .build();
        let primary = [KeyValue::new("pool", "primary")];
        in_use.add(5, &primary);
        in_use.add(-2, &primary);
        in_use.add(-1, &[KeyValue::new("pool", "replica")]);

        let cpu = meter
            .f64_gauge("process.cpu.utilization")
            .with_unit("1")
            .with_description("Share of one CPU used by the process")
            .build();
        cpu.record(0.437_512_3, &[]);

        let _memory = meter
            .u64_observable_gauge("process.memory.usage")
            .with_unit("By")
            .with_description("Resident memory of the process")
            .with_callback(|observer| observer.observe(48_234_496, &[]))
            .build();

        let runtime = provider.meter("tokio");
        let tasks = runtime
            .u64_counter("tokio.tasks.spawned")
            .with_description("Tasks spawned on the runtime")
            .build();
        tasks.add(1_250, &[KeyValue::new("runtime.flavor", "multi_thread")]);
    }

    /// Runs an export to completion; the exporter never waits.
    fn export(exporter: &ConsoleMetricsExporter, metrics: &ResourceMetrics) -> OTelSdkResult {
        complete(exporter.export(metrics))
    }

    /// A real collection of the realistic metrics, to export by hand.
    fn realistic_metrics() -> ResourceMetrics {
        let memory = InMemoryMetricExporter::default();
        let provider = provider_with(memory.clone());
        record_realistic(&provider);
        provider.force_flush().unwrap();
        let mut collected = memory.get_finished_metrics().unwrap();
        provider.shutdown().unwrap();
        collected.remove(0)
    }

    #[test]
    fn renders_a_realistic_export() {
        let (provider, buffer) = provider(false);
        record_realistic(&provider);
        provider.force_flush().unwrap();
        let output = buffer.take();
        provider.shutdown().unwrap();
        insta::assert_snapshot!(output);
    }

    #[test]
    fn exports_are_repeatable() {
        let (provider, buffer) = provider(false);
        record_realistic(&provider);
        provider.force_flush().unwrap();
        let first = buffer.take();
        provider.force_flush().unwrap();
        let second = buffer.take();
        provider.shutdown().unwrap();
        let last = buffer.take();
        assert_eq!(first, second);
        assert_eq!(first, last);
    }

    #[test]
    fn no_escape_sequences_without_color() {
        let (provider, buffer) = provider(false);
        record_realistic(&provider);
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("evil\x1b[31m scope")
                .with_version("1\x1b[0m")
                .build(),
        );
        meter
            .u64_counter("evil.counter")
            .with_description("red \x1b[31m description\nwith a newline")
            .build()
            .add(
                1,
                &[KeyValue::new(
                    "evil\x1b[2J key",
                    "value \x1b]0;title\x07 with escapes",
                )],
            );
        provider.force_flush().unwrap();
        let output = buffer.take();
        provider.shutdown().unwrap();
        assert!(!output.contains('\x1b'), "{output}");
        assert!(!output.contains('\x07'), "{output}");
        assert!(output.contains("red \\u{1b}[31m description\\nwith a newline"));
        assert!(output.contains(r#"{evil\u{1b}[2J key="value \u{1b}]0;title\u{7} with escapes"}"#));
        assert!(output.contains("scope evil\\u{1b}[31m scope 1\\u{1b}[0m\n"));
    }

    #[test]
    fn escape_sequences_with_color() {
        let (provider, buffer) = provider(true);
        record_realistic(&provider);
        provider.force_flush().unwrap();
        let output = buffer.take();
        provider.shutdown().unwrap();
        assert!(output.contains("\x1b[1morders.placed\x1b[0m"), "{output}");
        assert!(output.contains("\x1b[2mOrders accepted by the checkout\x1b[0m"));
        assert!(output.contains("{\x1b[2mpool=\x1b[0m\"primary\"}  \x1b[36m3\x1b[0m\n"));
        assert!(output.contains("\x1b[2m≤0.01:\x1b[0m\x1b[36m2\x1b[0m"));
    }

    #[test]
    fn colors_change_nothing_but_escape_sequences() {
        let (plain_provider, plain) = provider(false);
        let (color_provider, color) = provider(true);
        record_realistic(&plain_provider);
        record_realistic(&color_provider);
        plain_provider.force_flush().unwrap();
        color_provider.force_flush().unwrap();
        let (plain, color) = (plain.take(), color.take());
        plain_provider.shutdown().unwrap();
        color_provider.shutdown().unwrap();

        let mut stripped = String::new();
        let mut rest = color.as_str();
        while let Some(start) = rest.find('\x1b') {
            stripped.push_str(&rest[..start]);
            let end = rest[start..].find('m').unwrap();
            rest = &rest[start + end + 1..];
        }
        stripped.push_str(rest);
        assert_eq!(stripped, plain);
    }

    #[test]
    fn an_idle_provider_prints_nothing() {
        let (provider, buffer) = provider(false);
        let meter = provider.meter("idle");
        let _counter = meter.u64_counter("never.added").build();
        let _histogram = meter.f64_histogram("never.recorded").build();
        provider.force_flush().unwrap();
        provider.shutdown().unwrap();
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn an_export_without_data_points_prints_nothing() {
        let buffer = Buffer::default();
        let exporter = ConsoleMetricsExporter::with_writer(buffer.clone(), false);
        export(&exporter, &ResourceMetrics::default()).unwrap();
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn delta_exports_show_only_new_measurements() {
        let buffer = Buffer::default();
        let exporter = ConsoleMetricsExporter::with_writer(buffer.clone(), false)
            .with_temporality(Temporality::Delta);
        assert_eq!(exporter.temporality(), Temporality::Delta);
        let provider = provider_with(exporter);
        let meter = provider.meter("shop");
        let orders = meter.u64_counter("orders.placed").build();
        let latency = meter
            .u64_histogram("checkout.latency")
            .with_unit("ms")
            .with_boundaries(vec![10.0, 100.0])
            .build();
        orders.add(4, &[]);
        latency.record(42, &[]);
        provider.force_flush().unwrap();
        let first = buffer.take();
        assert!(
            first.contains("  orders.placed delta counter\n    {}  4\n"),
            "{first}"
        );
        assert!(
            first.contains(
                "  checkout.latency (ms) delta histogram\n    \
                 {}  count=1 sum=42 min=42 max=42\n      █  ≤100:1\n"
            ),
            "{first}"
        );

        // Nothing recorded since: nothing to print.
        provider.force_flush().unwrap();
        assert_eq!(buffer.take(), "");
        provider.shutdown().unwrap();
    }

    #[test]
    fn exponential_histograms_show_merged_buckets() {
        let buffer = Buffer::default();
        let exporter = ConsoleMetricsExporter::with_writer(buffer.clone(), false);
        let reader = PeriodicReader::builder(exporter)
            .with_interval(Duration::from_secs(3600))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource())
            .with_reader(reader)
            .with_view(|instrument: &Instrument| {
                (instrument.name() == "payload.size").then(|| {
                    Stream::builder()
                        .with_aggregation(Aggregation::Base2ExponentialHistogram {
                            max_size: 160,
                            max_scale: 20,
                            record_min_max: true,
                        })
                        .build()
                        .unwrap()
                })
            })
            .build();
        let sizes = provider
            .meter("shop")
            .f64_histogram("payload.size")
            .with_unit("By")
            .build();
        for size in [0.0, 300.0, 700.0, 1_500.0, 1_600.0, 40_000.0, -2.0] {
            sizes.record(size, &[]);
        }
        provider.force_flush().unwrap();
        let output = buffer.take();
        provider.shutdown().unwrap();
        insta::assert_snapshot!(output);
    }

    #[test]
    fn write_errors_are_returned() {
        let metrics = realistic_metrics();
        let exporter = ConsoleMetricsExporter::with_writer(Broken, false);
        match export(&exporter, &metrics) {
            Err(OTelSdkError::InternalFailure(message)) => {
                assert!(message.contains("failed to write"), "{message}");
            }
            other => panic!("expected InternalFailure, got {other:?}"),
        }
        assert!(matches!(
            exporter.force_flush(),
            Err(OTelSdkError::InternalFailure(_))
        ));

        let provider = provider_with(ConsoleMetricsExporter::with_writer(Broken, false));
        record_realistic(&provider);
        assert!(provider.force_flush().is_err());
    }

    #[test]
    fn exports_after_shutdown_are_refused() {
        let metrics = realistic_metrics();
        let buffer = Buffer::default();
        let exporter = ConsoleMetricsExporter::with_writer(buffer.clone(), false);
        export(&exporter, &metrics).unwrap();
        assert!(buffer.take().starts_with("metrics · shop-api · 9 series\n"));

        exporter.shutdown().unwrap();
        assert!(matches!(
            export(&exporter, &metrics),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        assert!(matches!(
            exporter.shutdown(),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        assert_eq!(buffer.take(), "");
    }

    #[test]
    fn the_default_temporality_is_cumulative() {
        let exporter = ConsoleMetricsExporter::with_writer(Buffer::default(), false);
        assert_eq!(exporter.temporality(), Temporality::Cumulative);
        let debug = format!("{exporter:?}");
        assert!(debug.starts_with("ConsoleMetricsExporter {"), "{debug}");
    }

    #[test]
    fn floats_keep_six_significant_digits() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (12.5, "12.5"),
            (0.1 + 0.2, "0.3"),
            (0.437_512_3, "0.437512"),
            (0.000_123_456_78, "0.000123457"),
            (123_456.789, "123457"),
            (1_234_567.89, "1234568"),
            (-2.5, "-2.5"),
            (0.000_012_5, "1.25e-5"),
            (3e20, "3e20"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(fmt_f64(value), expected, "{value:?}");
        }
    }

    #[test]
    fn bucket_lines_drop_empty_ends_and_wrap() {
        let buckets = |counts: &[u64]| {
            counts
                .iter()
                .enumerate()
                .map(|(i, &count)| (format!("≤{}", i * 1000), count))
                .collect::<Vec<_>>()
        };
        let text = |lines: Vec<Vec<Segment>>| {
            lines
                .iter()
                .map(|line| {
                    line.iter()
                        .map(|(_, text)| text.as_str())
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
        };
        assert!(bucket_lines(buckets(&[0, 0, 0])).is_empty());
        assert_eq!(
            text(bucket_lines(buckets(&[0, 1, 0, 8, 0]))),
            ["▁ █  ≤1000:1 ≤2000:0 ≤3000:8"]
        );
        let lines = text(bucket_lines(buckets(&[1; 20])));
        assert!(lines.len() > 1, "{lines:?}");
        let label_column = |line: &String| line.chars().position(|c| c == '≤');
        assert_eq!(label_column(&lines[0]), Some(22), "{lines:?}");
        assert!(
            lines.iter().all(|line| label_column(line) == Some(22)),
            "{lines:?}"
        );
        assert!(lines
            .iter()
            .all(|line| line.chars().count() <= WRAP_WIDTH - 6));
    }

    #[test]
    fn self_diagnostics_show_only_problems() {
        let (provider, buffer) = provider(false);
        let sdk = provider.meter("otel.sdk");
        let processed = sdk
            .u64_counter("otel.sdk.processor.span.processed")
            .with_description("Spans processed")
            .build();
        processed.add(
            12,
            &[KeyValue::new(
                "otel.component.name",
                "batching_span_processor/0",
            )],
        );
        processed.add(0, &[KeyValue::new("error.type", "already_shutdown")]);
        let capacity = sdk
            .i64_up_down_counter("otel.sdk.processor.span.queue.capacity")
            .build();
        capacity.add(2048, &[]);
        let duration = sdk
            .f64_histogram("otel.sdk.exporter.operation.duration")
            .build();
        duration.record(0.25, &[]);

        // Nothing but successes and zeros: the self-diagnostics print nothing,
        // and neither does a collection that holds nothing else.
        provider.force_flush().unwrap();
        assert_eq!(buffer.take(), "");

        // A drop and a failure are printed, beside the application's metrics.
        processed.add(3, &[KeyValue::new("error.type", "queue_full")]);
        duration.record(0.5, &[KeyValue::new("error.type", "timeout")]);
        provider
            .meter("shop")
            .u64_counter("orders.placed")
            .build()
            .add(1, &[]);
        provider.force_flush().unwrap();
        let output = buffer.take();
        provider.shutdown().unwrap();
        assert_eq!(
            output,
            "metrics · shop-api · 3 series\n\
             scope otel.sdk\n\
             \x20 otel.sdk.processor.span.processed counter  Spans processed\n\
             \x20   {error.type=\"queue_full\"}  3\n\
             \x20 otel.sdk.exporter.operation.duration histogram\n\
             \x20   {error.type=\"timeout\"}  count=1 sum=0.5 min=0.5 max=0.5\n\
             \x20     █  ≤5:1\n\
             scope shop\n\
             \x20 orders.placed counter\n\
             \x20   {}  1\n"
        );
    }
}
