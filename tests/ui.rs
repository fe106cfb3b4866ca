//! Misused options are compile errors that point at the mistake and say what to do.
//! The expected messages live in `tests/ui/*.stderr`.

#[cfg(feature = "enabled")]
#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
