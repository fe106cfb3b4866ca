use traced::traced;

#[traced]
struct Cart {
    items: Vec<u32>,
}

#[traced]
impl Cart {}

fn main() {}
