//! Every OpenTelemetry instrument kind with `#[derive(Metrics)]`, typed attributes
//! with `#[derive(Attributes)]`, and call metrics with `#[traced(metrics)]`.
//!
//! ```text
//! cargo run --example metrics
//! ```
//!
//! With nothing configured the metrics print on stderr when the program ends;
//! `OTEL_METRICS_EXPORTER=otlp` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) sends them to a collector.

use std::time::Duration;
use traced::metrics::{
    AsyncInstrument, Counter, Gauge, Histogram, ObservableCounter, ObservableGauge,
    ObservableUpDownCounter, UpDownCounter,
};
use traced::{traced, Attributes, Metrics};

/// The shop's business metrics: one field per instrument.
#[derive(Metrics)]
#[metrics(prefix = "shop")]
struct ShopMetrics {
    /// Orders placed.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Carts open right now.
    #[metric(unit = "{cart}")]
    open_carts: UpDownCounter<i64>,
    /// Stock left of the item last sold.
    #[metric(unit = "{item}")]
    stock: Gauge<i64>,
    /// Time to check out.
    #[metric(unit = "s", buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25])]
    checkout_duration: Histogram<f64>,
    /// CPU time used by the process.
    #[metric(unit = "s", callback = cpu_time)]
    cpu_time: ObservableCounter<f64>,
    /// Connections held by the database pool.
    #[metric(unit = "{connection}", callback = pool_connections)]
    db_connections: ObservableUpDownCounter<i64>,
    /// Orders waiting for a courier.
    #[metric(unit = "{order}", callback = courier_queue)]
    courier_queue: ObservableGauge<u64>,
}

fn cpu_time(obs: &dyn AsyncInstrument<f64>) {
    obs.observe(0.42, &[]);
}

fn pool_connections(obs: &dyn AsyncInstrument<i64>) {
    obs.observe(4, &[opentelemetry::KeyValue::new("pool", "primary")]);
}

fn courier_queue(obs: &dyn AsyncInstrument<u64>) {
    obs.observe(3, &[]);
}

/// Attribute keys checked by the compiler.
#[derive(Attributes)]
struct OrderLabels {
    #[attr(name = "shop.region")]
    region: &'static str,
    #[attr(name = "payment.method")]
    payment: &'static str,
}

#[traced(metrics, err)]
fn charge(amount_cents: u64) -> Result<(), String> {
    std::thread::sleep(Duration::from_millis(2));
    if amount_cents == 0 {
        return Err("nothing to charge".into());
    }
    Ok(())
}

#[traced(kind = server, metrics)]
fn checkout(region: &'static str, amount_cents: u64) {
    let metrics = ShopMetrics::global();
    let started = std::time::Instant::now();
    metrics.open_carts.add(1, &[]);
    if charge(amount_cents).is_ok() {
        let labels = OrderLabels {
            region,
            payment: "card",
        };
        metrics.orders.add(1, &labels.attributes());
        metrics.stock.record(41, &[]);
    }
    metrics.open_carts.add(-1, &[]);
    metrics
        .checkout_duration
        .record(started.elapsed().as_secs_f64(), &[]);
}

fn main() {
    let _telemetry = traced::init!();
    checkout("eu", 1999);
    checkout("us", 500);
    checkout("eu", 0);
}
