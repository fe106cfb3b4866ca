use traced::traced;

#[traced(args(idd))]
fn load(id: u64, count: u32) -> u64 {
    id + u64::from(count)
}

#[traced(args(x))]
fn nothing() {}

fn main() {}
