use traced::traced;

// Misspelt.
#[traced(metrics(track_concurency))]
fn misspelt() {}

// A flag given a value.
#[traced(metrics(track_concurrency = true))]
fn with_a_value() {}

// Given twice.
#[traced(metrics(track_concurrency, track_concurrency))]
fn twice() {}

// Nothing like an option of `metrics`.
#[traced(metrics(buckets))]
fn unknown() {}

fn main() {
    misspelt();
    with_a_value();
    twice();
    unknown();
}
