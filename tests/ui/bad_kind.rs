use traced::traced;

#[traced(kind = sever)]
fn a() {}

#[traced(kind = "server")]
fn b() {}

fn main() {}
