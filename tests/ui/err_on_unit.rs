use traced::traced;

#[traced(err)]
fn save() {}

#[traced(ret)]
async fn flush() {}

fn main() {}
