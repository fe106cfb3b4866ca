use traced::traced;

#[traced(name = load)]
fn load() {}

fn main() {}
