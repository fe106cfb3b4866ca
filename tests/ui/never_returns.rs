use traced::traced;

#[traced(err, ret)]
fn exits() -> ! {
    std::process::exit(1)
}

fn main() {}
