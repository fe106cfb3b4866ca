use traced::traced;

struct Secret;

#[traced(ret)]
fn load() -> Secret {
    Secret
}

#[traced(ret)]
async fn load_async() -> Secret {
    Secret
}

fn main() {}
