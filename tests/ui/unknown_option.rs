use traced::traced;

#[traced(nmae = "load")]
fn load() {}

#[traced(sampled)]
fn other() {}

fn main() {}
