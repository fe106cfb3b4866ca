use traced::traced;

struct Opaque;

#[traced(err)]
fn load() -> Result<(), Opaque> {
    Ok(())
}

fn main() {}
