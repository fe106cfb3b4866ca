use traced::traced;

#[traced(parent = 42)]
fn load() {}

fn main() {}
