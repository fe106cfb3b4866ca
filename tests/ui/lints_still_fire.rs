// A warning the function deserves without the attribute still fires with it, on
// the user's code: here each is denied, so each is an error.
#![deny(dead_code, unused_variables, unused_mut, unreachable_code)]

use traced::traced;

#[traced]
fn never_called() {}

#[traced(ret)]
fn unused_argument(used: u64, unused: u64) -> u64 { used }

#[traced(metrics)]
fn needless_mut(mut x: u64) -> u64 { x }

#[traced(ret, err)]
fn after_return() -> Result<u64, String> {
    return Ok(1);
    Ok(2)
}

fn main() {
    let _ = unused_argument(1, 2);
    let _ = needless_mut(3);
    let _ = after_return();
}
