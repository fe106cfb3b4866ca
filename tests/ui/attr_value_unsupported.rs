use traced::traced;

struct User {
    id: u64,
}

#[traced(attrs(user = user))]
fn load(user: &User) -> u64 {
    user.id
}

fn main() {}
