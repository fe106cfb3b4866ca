use traced::metrics::{Counter, Histogram, ObservableGauge, UpDownCounter};
use traced::Metrics;

#[derive(Metrics)]
#[metrics(prefix = "9shop")]
struct Bad {
    a: Counter<i64>,
    b: UpDownCounter<u64>,
    c: ObservableGauge<u64>,
    #[metric(buckets = [1.0, 0.5])]
    d: Histogram<f64>,
    #[metric(buckets = [1.0])]
    e: Counter<u64>,
    #[metric(unit = "microseconds-but-far-too-long-for-a-unit-name-of-opentelemetry-ok")]
    f: Counter<u64>,
    #[metric(name = "has space")]
    g: Counter<u64>,
    #[metric(colour = "red")]
    h: Counter<u64>,
    i: Countr<u64>,
    j: String,
}

fn main() {
    let m = Bad::global();
    m.e.add(1, &[]);
    let _ = Bad::new(&traced::opentelemetry::global::meter("shop"));
}
