use traced::traced;

#[traced(name = "a", name = "b")]
fn load() {}

fn main() {}
