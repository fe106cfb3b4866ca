use traced::traced;

struct Config;

#[traced(attrs(shown = %config, debugged = ?config))]
fn load(config: &Config) {}

fn main() {}
