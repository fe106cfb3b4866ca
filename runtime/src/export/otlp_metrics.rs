//! OTLP metric export with exemplars.
//!
//! The OpenTelemetry SDK 0.33 collects no exemplars and its `ResourceMetrics`
//! cannot be extended, so `traced` adds the exemplars of its own reservoirs
//! (see [`exemplars`](crate::metrics::exemplars)) to the OTLP protobuf messages,
//! at export time:
//!
//! - **OTLP/HTTP**: `opentelemetry-otlp`'s `MetricExporter` still resolves the
//!   endpoint, headers and timeout, but each request passes through
//!   [`with_exemplars`], which decodes its protobuf body, adds the exemplars and
//!   re-encodes it, before it is delivered.
//! - **OTLP/gRPC**: the tonic exporter has no hook into the message, so
//!   [`GrpcMetricExporter`] builds the `ExportMetricsServiceRequest` itself, adds
//!   the exemplars and sends it with the generated `MetricsServiceClient`.
//!
//! Each data point (sum, gauge, histogram) gets the exemplars its reservoir keeps
//! for the point's attribute set: one per histogram bucket that has one (the
//! OTLP exemplar carries no bucket index: its value places it), else the last
//! one. Only exemplars recorded within the point's time window
//! `[start_time_unix_nano, time_unix_nano]` are attached, so that with delta
//! temporality an exemplar is never repeated in an interval it does not belong to.

use super::otlp_grpc::GrpcClient;
use crate::choices::Protocol;
use crate::metrics::exemplars::{self, Exemplar, Num};
use crate::settings::{OtlpTarget, Settings};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_http::{Bytes, Request};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, Exemplar as ProtoExemplar, Metric as ProtoMetric,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use prost::Message;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::transport::Channel;

// ---------------------------------------------------------------------------
// The merge
// ---------------------------------------------------------------------------

/// Adds the exemplars of `traced`'s reservoirs to every data point of `request`;
/// returns how many it added.
pub(crate) fn add_exemplars(request: &mut ExportMetricsServiceRequest) -> usize {
    let mut added = 0;
    for scope_metrics in request
        .resource_metrics
        .iter_mut()
        .flat_map(|rm| rm.scope_metrics.iter_mut())
    {
        for m in &mut scope_metrics.metrics {
            added += add_to_metric(m);
        }
    }
    added
}

fn add_to_metric(m: &mut ProtoMetric) -> usize {
    let Some(data) = m.data.as_mut() else {
        return 0;
    };
    let Some(reservoir) = exemplars::lookup(&m.name) else {
        return 0;
    };
    let mut added = 0;
    let mut add =
        |attributes: &[ProtoKeyValue], (start, end): (u64, u64), out: &mut Vec<ProtoExemplar>| {
            let Some(attributes) = otel_attributes(attributes) else {
                return;
            };
            for e in reservoir.snapshot(&attributes).iter().flatten() {
                let time = unix_nanos(e.time);
                if (start == 0 || time >= start) && (end == 0 || time <= end) {
                    out.push(to_proto(e, time));
                    added += 1;
                }
            }
        };
    match data {
        metric::Data::Sum(sum) => {
            for p in &mut sum.data_points {
                add(
                    &p.attributes,
                    (p.start_time_unix_nano, p.time_unix_nano),
                    &mut p.exemplars,
                );
            }
        }
        metric::Data::Gauge(gauge) => {
            for p in &mut gauge.data_points {
                add(
                    &p.attributes,
                    (p.start_time_unix_nano, p.time_unix_nano),
                    &mut p.exemplars,
                );
            }
        }
        metric::Data::Histogram(histogram) => {
            for p in &mut histogram.data_points {
                add(
                    &p.attributes,
                    (p.start_time_unix_nano, p.time_unix_nano),
                    &mut p.exemplars,
                );
            }
        }
        metric::Data::ExponentialHistogram(histogram) => {
            for p in &mut histogram.data_points {
                add(
                    &p.attributes,
                    (p.start_time_unix_nano, p.time_unix_nano),
                    &mut p.exemplars,
                );
            }
        }
        metric::Data::Summary(_) => {}
    }
    added
}

fn to_proto(e: &Exemplar, time_unix_nano: u64) -> ProtoExemplar {
    let trace_id = if e.trace_id == TraceId::INVALID {
        Vec::new()
    } else {
        e.trace_id.to_bytes().to_vec()
    };
    let span_id = if e.span_id == SpanId::INVALID {
        Vec::new()
    } else {
        e.span_id.to_bytes().to_vec()
    };
    ProtoExemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano,
        span_id,
        trace_id,
        value: Some(match e.value {
            Num::Int(i) => exemplar::Value::AsInt(i),
            Num::Float(f) => exemplar::Value::AsDouble(f),
        }),
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A data point's attributes as the instruments recorded them; `None` when one
/// has a value no instrument can record (bytes, maps, mixed arrays): such a
/// series has no exemplars.
fn otel_attributes(attributes: &[ProtoKeyValue]) -> Option<Vec<KeyValue>> {
    attributes
        .iter()
        .map(|kv| {
            let value = otel_value(kv.value.as_ref()?)?;
            Some(KeyValue::new(kv.key.clone(), value))
        })
        .collect()
}

fn otel_value(value: &AnyValue) -> Option<Value> {
    Some(match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Value::from(s.clone()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::I64(*i),
        any_value::Value::DoubleValue(f) => Value::F64(*f),
        any_value::Value::ArrayValue(array) => Value::Array(otel_array(&array.values)?),
        _ => return None,
    })
}

fn otel_array(values: &[AnyValue]) -> Option<Array> {
    fn all<T>(values: &[AnyValue], f: impl Fn(&any_value::Value) -> Option<T>) -> Option<Vec<T>> {
        values.iter().map(|v| f(v.value.as_ref()?)).collect()
    }
    let Some(first) = values.first().and_then(|v| v.value.as_ref()) else {
        // Empty arrays of every type display (and so hash) alike.
        return Some(Array::String(Vec::new()));
    };
    Some(match first {
        any_value::Value::StringValue(_) => Array::String(all(values, |v| match v {
            any_value::Value::StringValue(s) => Some(StringValue::from(s.clone())),
            _ => None,
        })?),
        any_value::Value::BoolValue(_) => Array::Bool(all(values, |v| match v {
            any_value::Value::BoolValue(b) => Some(*b),
            _ => None,
        })?),
        any_value::Value::IntValue(_) => Array::I64(all(values, |v| match v {
            any_value::Value::IntValue(i) => Some(*i),
            _ => None,
        })?),
        any_value::Value::DoubleValue(_) => Array::F64(all(values, |v| match v {
            any_value::Value::DoubleValue(f) => Some(*f),
            _ => None,
        })?),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// The exporters
// ---------------------------------------------------------------------------

/// The OTLP metric exporter of either transport, exemplars included.
pub(crate) enum OtlpMetricExporter {
    /// `opentelemetry-otlp`'s exporter, its requests through [`with_exemplars`].
    Http(opentelemetry_otlp::MetricExporter),
    /// Ours.
    Grpc(GrpcMetricExporter),
}

impl fmt::Debug for OtlpMetricExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OtlpMetricExporter::Http(_) => f.write_str("OtlpMetricExporter(http/protobuf)"),
            OtlpMetricExporter::Grpc(g) => f
                .debug_tuple("OtlpMetricExporter")
                .field(&format_args!("grpc {}", g.grpc.target.endpoint))
                .finish(),
        }
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        match self {
            OtlpMetricExporter::Http(e) => e.export(metrics).await,
            OtlpMetricExporter::Grpc(e) => e.export(metrics).await,
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self {
            OtlpMetricExporter::Http(e) => e.force_flush(),
            OtlpMetricExporter::Grpc(e) => e.force_flush(),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            OtlpMetricExporter::Http(e) => e.shutdown_with_timeout(timeout),
            OtlpMetricExporter::Grpc(e) => e.shutdown_with_timeout(timeout),
        }
    }

    fn temporality(&self) -> Temporality {
        match self {
            OtlpMetricExporter::Http(e) => e.temporality(),
            OtlpMetricExporter::Grpc(e) => e.temporality(),
        }
    }
}

/// Builds the exporter `settings` describe. Call it inside the export runtime (the
/// gRPC channel's worker is spawned on the current runtime). Prints a warning on
/// stderr for an invalid temporality preference.
pub(crate) fn exporter(
    settings: &Settings,
    health: &std::sync::Arc<super::health::Health>,
) -> Result<OtlpMetricExporter, String> {
    let temporality = settings.metrics.temporality;
    if let Some(warning) = &settings.metrics.temporality_warning {
        eprintln!("traced: {warning}");
    }
    let target = &settings.metrics.otlp;
    match target.protocol {
        Protocol::HttpProtobuf => super::otlp::http_builder(
            opentelemetry_otlp::MetricExporter::builder()
                .with_temporality(temporality)
                .with_http(),
            "METRICS",
            settings,
            target,
            health,
            with_exemplars,
        )?
        .build()
        .map(OtlpMetricExporter::Http)
        .map_err(|e| e.to_string()),
        Protocol::Grpc => GrpcMetricExporter::new(
            target,
            temporality,
            Some(super::otlp::grpc_delivery(settings, target, health)?),
        )
        .map(OtlpMetricExporter::Grpc),
    }
}

/// Adds exemplars to an uncompressed protobuf export request of the OTLP/HTTP
/// metric exporter, before it is delivered.
///
/// It is only ever given to the metric exporter, so every protobuf body it sees
/// is an `ExportMetricsServiceRequest`, whatever the endpoint's path (a
/// signal-specific endpoint is used as configured, with any path). A body that
/// does not decode, or is compressed, is sent unchanged.
pub(crate) fn with_exemplars(request: Request<Bytes>) -> Request<Bytes> {
    let headers = request.headers();
    let protobuf = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-protobuf"));
    let plain = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim().is_empty() || v.trim().eq_ignore_ascii_case("identity"));
    if !protobuf || !plain {
        return request;
    }
    let Ok(mut message) = ExportMetricsServiceRequest::decode(request.body().as_ref()) else {
        return request;
    };
    if add_exemplars(&mut message) == 0 {
        return request;
    }
    let (mut parts, _) = request.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Request::from_parts(parts, Bytes::from(message.encode_to_vec()))
}

/// OTLP/gRPC metric export through `MetricsServiceClient`, with exemplars.
pub(crate) struct GrpcMetricExporter {
    grpc: GrpcClient<MetricsServiceClient<Channel>>,
    temporality: Temporality,
}

impl GrpcMetricExporter {
    /// To `target`'s endpoint (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://localhost:4317`), with its
    /// headers as metadata and its compression.
    fn new(
        target: &OtlpTarget,
        temporality: Temporality,
        delivery: Option<std::sync::Arc<super::delivery::Delivery>>,
    ) -> Result<Self, String> {
        Ok(GrpcMetricExporter {
            grpc: GrpcClient::new(target, delivery)?,
            temporality,
        })
    }
}

impl PushMetricExporter for GrpcMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut message = ExportMetricsServiceRequest::from(metrics);
        add_exemplars(&mut message);
        self.grpc.send(message).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.grpc.shutdown()
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Histogram, HistogramDataPoint, NumberDataPoint, ResourceMetrics as ProtoRM,
        ScopeMetrics, Sum,
    };
    use opentelemetry_sdk::error::OTelSdkError;

    fn span(n: u8) -> (TraceId, SpanId, bool) {
        (
            TraceId::from_bytes([n; 16]),
            SpanId::from_bytes([n; 8]),
            true,
        )
    }

    fn kv(key: &str, value: any_value::Value) -> ProtoKeyValue {
        ProtoKeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            key_strindex: 0,
        }
    }

    fn string(s: &str) -> any_value::Value {
        any_value::Value::StringValue(s.to_owned())
    }

    /// A window around now, as a cumulative point's.
    fn window() -> (u64, u64) {
        let now = unix_nanos(SystemTime::now());
        (now - 3_600_000_000_000, now + 3_600_000_000_000)
    }

    fn number_point(attributes: Vec<ProtoKeyValue>, value: i64) -> NumberDataPoint {
        let (start, end) = window();
        NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: end,
            exemplars: Vec::new(),
            flags: 0,
            value: Some(
                opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(value),
            ),
        }
    }

    fn histogram_point(attributes: Vec<ProtoKeyValue>, bounds: &[f64]) -> HistogramDataPoint {
        let (start, end) = window();
        HistogramDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: end,
            count: 0,
            sum: None,
            bucket_counts: vec![0; bounds.len() + 1],
            explicit_bounds: bounds.to_vec(),
            exemplars: Vec::new(),
            flags: 0,
            min: None,
            max: None,
        }
    }

    fn metric(name: &str, data: metric::Data) -> ProtoMetric {
        ProtoMetric {
            name: name.to_owned(),
            description: String::new(),
            unit: String::new(),
            metadata: Vec::new(),
            data: Some(data),
        }
    }

    fn request(metrics: Vec<ProtoMetric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ProtoRM {
                resource: None,
                scope_metrics: vec![ScopeMetrics {
                    scope: None,
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn sum(points: Vec<NumberDataPoint>) -> metric::Data {
        metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: 2,
            is_monotonic: true,
        })
    }

    fn sum_points(r: &ExportMetricsServiceRequest, i: usize) -> &[NumberDataPoint] {
        match &r.resource_metrics[0].scope_metrics[0].metrics[i].data {
            Some(metric::Data::Sum(s)) => &s.data_points,
            Some(metric::Data::Gauge(g)) => &g.data_points,
            other => panic!("not a sum or gauge: {other:?}"),
        }
    }

    #[test]
    fn sums_and_gauges_get_the_last_exemplar_of_their_series() {
        let counter = exemplars::reservoir("test.otlp.counter", None);
        let eu = [KeyValue::new("region", "eu"), KeyValue::new("tier", 2)];
        counter.offer_in(Num::Int(1), &eu, span(1));
        counter.offer_in(Num::Int(4), &eu, span(2));
        let gauge = exemplars::reservoir("test.otlp.gauge", None);
        gauge.offer_in(Num::Float(21.5), &[], span(3));

        let mut r = request(vec![
            metric(
                "test.otlp.counter",
                sum(vec![
                    // Attributes in another order than recorded: same series.
                    number_point(
                        vec![
                            kv("tier", any_value::Value::IntValue(2)),
                            kv("region", string("eu")),
                        ],
                        5,
                    ),
                    number_point(vec![kv("region", string("us"))], 7),
                ]),
            ),
            metric(
                "test.otlp.gauge",
                metric::Data::Gauge(Gauge {
                    data_points: vec![number_point(vec![], 21)],
                }),
            ),
            metric("test.otlp.unknown", sum(vec![number_point(vec![], 1)])),
        ]);
        assert_eq!(add_exemplars(&mut r), 2);

        let eu_point = &sum_points(&r, 0)[0];
        assert_eq!(eu_point.exemplars.len(), 1);
        let e = &eu_point.exemplars[0];
        assert_eq!(e.trace_id, vec![2; 16]);
        assert_eq!(e.span_id, vec![2; 8]);
        assert_eq!(e.value, Some(exemplar::Value::AsInt(4)));
        assert!(e.filtered_attributes.is_empty());
        let (start, end) = window();
        assert!(e.time_unix_nano > start && e.time_unix_nano < end);
        assert!(
            sum_points(&r, 0)[1].exemplars.is_empty(),
            "no measurement of this series was kept"
        );
        let g = &sum_points(&r, 1)[0].exemplars;
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].value, Some(exemplar::Value::AsDouble(21.5)));
        assert!(sum_points(&r, 2)[0].exemplars.is_empty());
    }

    #[test]
    fn histograms_get_one_exemplar_per_bucket_that_has_one_in_bucket_order() {
        let bounds = [1.0, 10.0, 100.0];
        let h = exemplars::reservoir("test.otlp.histogram", Some(bounds.to_vec()));
        let a = [KeyValue::new("route", "/cart")];
        h.offer_in(Num::Float(500.0), &a, span(4));
        h.offer_in(Num::Float(0.5), &a, span(5));
        h.offer_in(Num::Float(50.0), &a, span(6));
        h.offer_in(Num::Float(60.0), &a, span(7));

        let mut r = request(vec![metric(
            "test.otlp.histogram",
            metric::Data::Histogram(Histogram {
                data_points: vec![histogram_point(vec![kv("route", string("/cart"))], &bounds)],
                aggregation_temporality: 2,
            }),
        )]);
        assert_eq!(add_exemplars(&mut r), 3);
        let Some(metric::Data::Histogram(hist)) =
            &r.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!("histogram expected");
        };
        let got: Vec<(Option<exemplar::Value>, Vec<u8>)> = hist.data_points[0]
            .exemplars
            .iter()
            .map(|e| (e.value, e.span_id.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(exemplar::Value::AsDouble(0.5)), vec![5; 8]),
                (Some(exemplar::Value::AsDouble(60.0)), vec![7; 8]),
                (Some(exemplar::Value::AsDouble(500.0)), vec![4; 8]),
            ]
        );
    }

    #[test]
    fn exemplars_outside_the_points_time_window_are_left_out() {
        let r0 = exemplars::reservoir("test.otlp.window", None);
        r0.offer_in(Num::Int(1), &[], span(8));
        let now = unix_nanos(SystemTime::now());
        let mut later = number_point(vec![], 1);
        later.start_time_unix_nano = now + 1_000_000_000; // a delta interval that began after it
        let mut earlier = number_point(vec![], 1);
        earlier.time_unix_nano = now - 1_000_000_000; // collected before it
        let mut unknown = number_point(vec![], 1);
        unknown.start_time_unix_nano = 0; // no start: no lower bound
        let mut r = request(vec![metric(
            "test.otlp.window",
            sum(vec![later, earlier, unknown]),
        )]);
        assert_eq!(add_exemplars(&mut r), 1);
        assert_eq!(sum_points(&r, 0)[2].exemplars.len(), 1);
    }

    #[test]
    fn measurements_outside_a_span_carry_no_ids() {
        let e = Exemplar {
            value: Num::Int(3),
            time: SystemTime::now(),
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
        };
        let p = to_proto(&e, 1);
        assert!(p.trace_id.is_empty() && p.span_id.is_empty());
    }

    #[test]
    fn attribute_values_convert_back_to_what_was_recorded() {
        let recorded = [
            KeyValue::new("s", "x"),
            KeyValue::new("b", true),
            KeyValue::new("i", -3),
            KeyValue::new("f", 1.5),
            KeyValue::new("strings", Value::Array(vec![StringValue::from("a")].into())),
            KeyValue::new("ints", Value::Array(vec![1i64, 2].into())),
            KeyValue::new("floats", Value::Array(vec![0.5f64].into())),
            KeyValue::new("bools", Value::Array(vec![false, true].into())),
        ];
        let proto: Vec<ProtoKeyValue> = recorded.iter().map(ProtoKeyValue::from).collect();
        assert_eq!(otel_attributes(&proto).unwrap(), recorded.to_vec());

        let r = exemplars::reservoir("test.otlp.attributes", None);
        r.offer_in(Num::Int(1), &recorded, span(9));
        let mut req = request(vec![metric(
            "test.otlp.attributes",
            sum(vec![number_point(proto, 1)]),
        )]);
        assert_eq!(add_exemplars(&mut req), 1);

        let bytes = kv("raw", any_value::Value::BytesValue(vec![1]));
        assert_eq!(otel_attributes(&[bytes]), None);
        let mixed = kv(
            "mixed",
            any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(any_value::Value::IntValue(1)),
                    },
                    AnyValue {
                        value: Some(string("a")),
                    },
                ],
            }),
        );
        assert_eq!(otel_attributes(&[mixed]), None);
    }

    #[test]
    fn the_http_client_rewrites_plain_protobuf_bodies_only() {
        let r = exemplars::reservoir("test.otlp.http", None);
        r.offer_in(Num::Int(2), &[], span(10));
        let body = request(vec![metric(
            "test.otlp.http",
            sum(vec![number_point(vec![], 2)]),
        )])
        .encode_to_vec();
        let build = |encoding: Option<&str>, content_type: &str| {
            let mut b = Request::post("http://collector:4318/custom/path")
                .header(http::header::CONTENT_TYPE, content_type)
                .header(http::header::CONTENT_LENGTH, body.len());
            if let Some(e) = encoding {
                b = b.header(http::header::CONTENT_ENCODING, e);
            }
            b.body(Bytes::from(body.clone())).unwrap()
        };

        let rewritten = with_exemplars(build(None, "application/x-protobuf"));
        assert!(rewritten
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .is_none());
        let decoded = ExportMetricsServiceRequest::decode(rewritten.body().as_ref()).unwrap();
        assert_eq!(sum_points(&decoded, 0)[0].exemplars.len(), 1);
        assert_eq!(rewritten.uri().path(), "/custom/path");

        for unchanged in [
            with_exemplars(build(Some("gzip"), "application/x-protobuf")),
            with_exemplars(build(None, "application/json")),
        ] {
            assert_eq!(unchanged.body().as_ref(), body.as_slice());
        }
        let garbage = Request::post("http://collector:4318/v1/metrics")
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(Bytes::from_static(&[0xff, 0xff, 0xff]))
            .unwrap();
        assert_eq!(with_exemplars(garbage).body().as_ref(), &[0xff, 0xff, 0xff]);
    }

    use crate::settings::lookup as env;

    #[test]
    fn grpc_exporter_https_needs_tls_and_bad_endpoints_are_reported() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _enter = rt.enter();
        let target = |pairs: &[(&str, &str)], timeout: u64| {
            let timeout = timeout.to_string();
            let mut pairs = pairs.to_vec();
            pairs.push(("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"));
            pairs.push(("OTEL_EXPORTER_OTLP_TIMEOUT", &timeout));
            Settings::from_env(env(&pairs)).metrics.otlp
        };
        let https = target(
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317")],
            1000,
        );
        let built = GrpcMetricExporter::new(&https, Temporality::Delta, None).map(|_| ());
        assert_eq!(built.is_ok(), cfg!(feature = "tls"), "{built:?}");
        if let Err(e) = built {
            assert!(e.contains("enable the `tls` feature of `traced`"), "{e}");
        }
        let bad = target(
            &[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://bad host")],
            1000,
        );
        let e = GrpcMetricExporter::new(&bad, Temporality::Delta, None)
            .err()
            .unwrap();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), "{e}");
        // Nothing listens on port 9: retried, then reported, within the timeout.
        let closed = target(
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")],
            5000,
        );
        let timeout = Duration::from_secs(5);
        let down = GrpcMetricExporter::new(&closed, Temporality::Cumulative, None).unwrap();
        let started = std::time::Instant::now();
        let e = rt
            .block_on(down.export(&ResourceMetrics::default()))
            .unwrap_err();
        assert!(e.to_string().contains("UNAVAILABLE"), "{e}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(700) && took < timeout,
            "three retries after 100, 200 and 400 ms: {took:?}"
        );
        let ok = GrpcMetricExporter::new(&target(&[], 1000), Temporality::Delta, None).unwrap();
        assert_eq!(ok.temporality(), Temporality::Delta);
        assert!(ok.shutdown_with_timeout(Duration::from_secs(1)).is_ok());
        assert!(matches!(
            rt.block_on(ok.export(&ResourceMetrics::default())),
            Err(OTelSdkError::AlreadyShutdown)
        ));
    }
}
