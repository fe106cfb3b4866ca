//! One trace across HTTP client and server: a small axum service traced with
//! `traced::http::ServerLayer`, whose `/checkout` endpoint calls the service's own
//! `/price/{sku}` endpoint with `send_traced`.
//!
//! ```sh
//! cargo run --example http --features tower,axum,reqwest
//! ```
//!
//! The service listens on 127.0.0.1 (a free port), takes one order, and stops. The
//! trace prints on stderr: `shop` → `GET` (client) → `GET /checkout` (server) →
//! `checkout` → `GET` (client) → `GET /price/{sku}` (server) → `price`, for each item,
//! as one tree: the console exporter nests each server span, whose parent came over
//! HTTP, under the client span of this same process.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use traced::http::{RequestBuilderExt as _, ServerLayer};
use traced::traced;

/// What the handlers share: a client, and where the service itself listens.
#[derive(Clone)]
struct Shop {
    client: reqwest::Client,
    base: String,
}

/// `GET /price/{sku}`: a price in cents.
#[traced]
async fn price(Path(sku): Path<String>) -> String {
    traced::attr!(sku = sku.as_str());
    (sku.len() * 100).to_string()
}

/// `GET /checkout`: asks `/price/{sku}` for every item, over HTTP.
#[traced]
async fn checkout(State(shop): State<Shop>) -> String {
    let mut total = 0;
    for sku in ["apple", "pear"] {
        let response = shop
            .client
            .get(format!("{}/price/{sku}", shop.base))
            .send_traced()
            .await
            .expect("price");
        total += response
            .text()
            .await
            .expect("body")
            .parse::<usize>()
            .unwrap_or(0);
    }
    traced::attr!(order.total = total);
    total.to_string()
}

/// The customer: one request to `/checkout`.
#[traced]
async fn shop(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .get(format!("{base}/checkout?coupon=not-recorded"))
        .send_traced()
        .await
        .expect("checkout");
    response.text().await.expect("body")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = traced::init!();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let app = Router::new()
        .route("/checkout", get(checkout))
        .route("/price/{sku}", get(price))
        .with_state(Shop {
            client: client.clone(),
            base: base.clone(),
        })
        .layer(ServerLayer::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let total = shop(&client, &base).await;
    println!("order total: {total} cents");

    drop(client);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server).await???;
    drop(telemetry); // flushes: the waterfall prints on stderr
    Ok(())
}
