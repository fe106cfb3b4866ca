//! Nested sync and async traced functions, an error and an event: run it and read
//! the waterfall on stderr.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::time::Duration;
use traced::traced;

#[derive(Debug)]
struct OutOfStock {
    sku: &'static str,
}

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.sku)
    }
}

impl std::error::Error for OutOfStock {}

#[traced(attrs(sku = sku))]
fn price(sku: &str) -> u64 {
    std::thread::sleep(Duration::from_millis(3));
    sku.len() as u64 * 100
}

#[traced(kind = client, err, args(sku))]
async fn reserve(sku: &'static str) -> Result<(), OutOfStock> {
    tokio::time::sleep(Duration::from_millis(8)).await;
    if sku == "umbrella" {
        return Err(OutOfStock { sku });
    }
    Ok(())
}

#[traced(kind = server, name = "POST /checkout", attrs(cart.size = items.len()))]
async fn checkout(items: &[&'static str]) -> u64 {
    let mut total = 0;
    for sku in items {
        total += price(sku);
        if reserve(sku).await.is_err() {
            traced::event!("item.skipped", sku = *sku);
        }
    }
    traced::attr!(order.total = total);
    total
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _telemetry = traced::init!();
    let total = checkout(&["apple", "umbrella", "pear"]).await;
    println!("total: {total}");
}
