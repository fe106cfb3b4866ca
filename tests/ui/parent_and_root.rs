use traced::traced;

#[traced(root, parent = opentelemetry::Context::new())]
fn load() {}

fn main() {}
