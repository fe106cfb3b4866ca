//! Log lines written with `log` inside traced functions appear under their spans
//! in the console waterfall (and carry the trace and span ids in OTLP).
//!
//! ```text
//! cargo run --example logs --features log
//! RUST_LOG=debug cargo run --example logs --features log
//! ```

use traced::traced;

#[traced(err)]
fn charge(cents: u64) -> Result<(), String> {
    log::debug!("contacting the payment provider");
    if cents > 10_000 {
        log::warn!(cents; "amount above the review threshold");
        return Err("needs review".into());
    }
    Ok(())
}

#[traced(kind = server, name = "POST /pay")]
fn pay(cents: u64) {
    log::info!(cents; "payment requested");
    let _ = charge(cents);
}

fn main() {
    let _telemetry = traced::init!();
    log::info!("service started");
    pay(2_500);
    pay(25_000);
}
