use traced::Metrics;

#[derive(Metrics)]
enum Nope {
    A,
}

#[derive(Metrics)]
struct Tuple(traced::metrics::Counter<u64>);

fn main() {}
