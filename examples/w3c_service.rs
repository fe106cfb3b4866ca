//! The service the official W3C Trace Context test suite drives
//! (`test/test.py` of github.com/w3c/trace-context), built as the README shows:
//! `traced::http::ServerLayer` on an axum router and `send_traced` on reqwest.
//!
//! ```sh
//! OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none \
//!     cargo run --example w3c_service --features tower,axum,reqwest
//! # in a checkout of w3c/trace-context, with aiohttp installed:
//! STRICT_LEVEL=2 SPEC_LEVEL=2 python test/test.py http://127.0.0.1:5000/test
//! ```
//!
//! The harness posts a JSON list of `{"url": ..., "arguments": ...}` to `/test`;
//! for each entry the service posts `arguments` to `url`. Each request gets a
//! SERVER span whose parent comes from the harness's headers, each call a CLIENT
//! span under it, so the harness sees the `traceparent` and `tracestate` that
//! `traced` sends on. The service listens on 127.0.0.1:5000 (or the port given as
//! the first argument) until stopped.

use axum::routing::post;
use axum::{Json, Router};
use std::time::Duration;
use traced::http::{RequestBuilderExt as _, ServerLayer};

/// One call the harness asks for.
#[derive(serde::Deserialize)]
struct Call {
    url: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

/// `POST /test`: makes the calls, in order.
async fn test(Json(calls): Json<Option<Vec<Call>>>) -> &'static str {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    for call in calls.unwrap_or_default() {
        let body = serde_json::to_vec(&call.arguments).expect("arguments");
        let sent = client
            .post(&call.url)
            .header("content-type", "application/json")
            .body(body)
            .send_traced()
            .await;
        if let Err(error) = sent {
            eprintln!("call to {} failed: {error}", call.url);
        }
    }
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _telemetry = traced::init!();
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse()?,
        None => 5000,
    };
    let app = Router::new()
        .route("/test", post(test))
        .layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("listening on http://{}/test", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
