//! The shop: three services, three processes, one trace.
//!
//! ```sh
//! cargo run --example shop --features tower,axum,reqwest,log
//! ```
//!
//! The example starts `frontend`, `cart` and `payments` as three processes of its
//! own binary (each with its own `OTEL_SERVICE_NAME`, on 127.0.0.1 and a free port),
//! sends a few orders to the frontend, and stops them. Each process prints its part
//! of the traces as a waterfall on stderr, with the log lines written inside its
//! spans, and its metrics when it stops:
//!
//! - spans: `#[traced]` handlers behind `traced::http::ServerLayer`, calls between
//!   services with `send_traced` (one trace id across the three processes);
//! - metrics: `#[derive(Metrics)]` business metrics, `#[traced(metrics)]` call metrics,
//!   span metrics (RED metrics from every span), exemplars pointing at the spans;
//! - logs: `log` records correlated with their spans;
//! - redaction: the card number a customer sends is masked before export.
//!
//! Point all three at an OpenTelemetry Collector instead, with no code change:
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example shop ...`;
//! or let Prometheus scrape them: `OTEL_METRICS_EXPORTER=prometheus` (each service
//! then serves `/metrics` on `OTEL_EXPORTER_PROMETHEUS_PORT` + its index).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use traced::http::{RequestBuilderExt as _, ServerLayer};
use traced::metrics::{Counter, Histogram, UpDownCounter};
use traced::process::{Redaction, SpanMetrics};
use traced::{traced, Attributes, Metrics};

/// The shop's business metrics.
#[derive(Metrics)]
#[metrics(prefix = "shop")]
struct ShopMetrics {
    /// Orders paid.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Carts being checked out right now.
    #[metric(unit = "{cart}")]
    checkouts_in_flight: UpDownCounter<i64>,
    /// Order totals.
    #[metric(unit = "{cent}", buckets = [500.0, 1000.0, 2500.0, 5000.0, 10000.0])]
    order_total: Histogram<u64>,
}

#[derive(Attributes)]
struct OrderLabels {
    #[attr(name = "payment.method")]
    payment: &'static str,
}

/// What a service needs to call the others.
#[derive(Clone)]
struct Peers {
    client: reqwest::Client,
    cart: String,
    payments: String,
}

// ---- cart ----

#[traced(attrs(cart.id = id))]
async fn cart_total(Path(id): Path<u64>) -> String {
    log::info!(cart_id = id; "pricing cart");
    tokio::time::sleep(Duration::from_millis(3)).await;
    (id * 1250).to_string()
}

// ---- payments ----

#[derive(serde::Deserialize)]
struct Charge {
    cents: u64,
    card: String,
}

#[traced(metrics, attrs(payment.amount = charge.cents, payment.card = charge.card.as_str()))]
async fn charge(
    Json(charge): Json<Charge>,
) -> Result<&'static str, (axum::http::StatusCode, String)> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if charge.cents > 4000 {
        log::warn!(cents = charge.cents; "amount above the fraud threshold");
        traced::status!(error, "declined: {} cents needs review", charge.cents);
        return Err((axum::http::StatusCode::PAYMENT_REQUIRED, "declined".into()));
    }
    Ok("paid")
}

// ---- frontend ----

#[traced(metrics, err)]
async fn checkout(State(peers): State<Peers>, Path(cart): Path<u64>) -> Result<String, String> {
    let metrics = ShopMetrics::global();
    metrics.checkouts_in_flight.add(1, &[]);
    let total: u64 = peers
        .client
        .get(format!("{}/carts/{cart}/total", peers.cart))
        .send_traced()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?
        .parse()
        .map_err(|_| "bad total".to_owned())?;
    let paid = peers
        .client
        .post(format!("{}/charges", peers.payments))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "cents": total, "card": "4111 1111 1111 1111" }).to_string())
        .send_traced()
        .await
        .map_err(|e| e.to_string())?;
    metrics.checkouts_in_flight.add(-1, &[]);
    if !paid.status().is_success() {
        log::error!(cart; "payment declined");
        return Err(format!("payment declined for cart {cart}"));
    }
    metrics
        .orders
        .add(1, &OrderLabels { payment: "card" }.attributes());
    metrics.order_total.record(total, &[]);
    Ok(format!("order for cart {cart}: {total} cents"))
}

async fn serve(service: &str, listener: tokio::net::TcpListener, peers: Peers) {
    let app = match service {
        "cart" => Router::new().route("/carts/{id}/total", get(cart_total)),
        "payments" => Router::new().route("/charges", post(charge)),
        _ => Router::new()
            .route("/checkout/{cart}", post(checkout))
            .with_state(peers),
    };
    let app = app.layer(ServerLayer::new());
    let _ = axum::serve(listener, app).await;
}

/// One service process: `shop serve <name> <cart url> <payments url>`; prints its
/// address on stdout and serves until stdin closes.
async fn run_service(service: String, cart: String, payments: String) {
    let _telemetry = traced::Builder::new()
        .service_name(service.clone())
        .service_version(env!("CARGO_PKG_VERSION"))
        .span_metrics(SpanMetrics::new().dimension("http.route"))
        .redact(Redaction::default_rules())
        .init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{}", listener.local_addr().expect("addr"));
    let peers = Peers {
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        cart,
        payments,
    };
    let server = tokio::spawn({
        let service = service.clone();
        async move { serve(&service, listener, peers).await }
    });
    // Stop when the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let _ = std::io::stdin().read_line(&mut sink);
    })
    .await
    .ok();
    server.abort();
    log::info!("{service} stopping");
}

fn start(service: &str, cart: &str, payments: &str, index: u16) -> (Child, String) {
    let mut command = Command::new(std::env::current_exe().expect("own binary"));
    command
        .args(["serve", service, cart, payments])
        .env("OTEL_SERVICE_NAME", service)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Ok(port) = std::env::var("OTEL_EXPORTER_PROMETHEUS_PORT") {
        let port: u16 = port.parse().unwrap_or(9464);
        command.env("OTEL_EXPORTER_PROMETHEUS_PORT", (port + index).to_string());
    }
    let mut child = command.spawn().expect("start a service");
    let mut line = String::new();
    let stdout = child.stdout.as_mut().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("address");
    (child, format!("http://{}", line.trim()))
}

#[traced(kind = client, name = "customer")]
async fn customer(client: &reqwest::Client, frontend: &str) {
    for cart in [1, 2, 4] {
        let response = client
            .post(format!("{frontend}/checkout/{cart}"))
            .send_traced()
            .await
            .expect("frontend");
        println!("cart {cart}: {}", response.status());
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        let [_, _, service, cart, payments] = <[String; 5]>::try_from(args).expect("serve args");
        return run_service(service, cart, payments).await;
    }
    let _telemetry = traced::init!();
    let (mut cart, cart_url) = start("cart", "", "", 1);
    let (mut payments, payments_url) = start("payments", "", "", 2);
    let (mut frontend, frontend_url) = start("frontend", &cart_url, &payments_url, 0);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    customer(&client, &frontend_url).await;
    // Closing their stdin stops the services; each flushes its telemetry.
    for child in [&mut frontend, &mut payments, &mut cart] {
        drop(child.stdin.take());
        let _ = child.wait();
    }
}
