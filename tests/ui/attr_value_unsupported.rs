use traced::traced;

struct User {
    id: u64,
}

struct Config;

#[traced(attrs(user = user))]
fn load(user: &User) -> u64 {
    user.id
}

#[traced(attrs(config = config))]
fn owned(config: Config) {}

fn main() {
    traced::event!("loaded", config = Config);
}
