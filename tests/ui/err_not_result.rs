use traced::traced;

#[traced(err)]
fn count() -> u32 {
    1
}

fn main() {}
