//! What a program run with nothing configured prints on stderr, and when: the
//! console exporters of `traced::init()` in a process of their own.
#![cfg(all(feature = "enabled", feature = "log"))]

use std::process::Command;
use std::time::Duration;
use traced::traced;

#[traced(name = "GET /slow", metrics)]
fn slow_request() {
    log::warn!("stock is low");
    eprintln!("MARK logged");
    // A request that takes a while (the was 8 s).
    std::thread::sleep(Duration::from_millis(300));
    eprintln!("MARK ending");
}

/// The child side: with `TRACED_CONSOLE_CHILD` set, one traced request under
/// `traced::init()` with the environment's defaults; otherwise nothing.
#[test]
fn child_process() {
    if std::env::var_os("TRACED_CONSOLE_CHILD").is_none() {
        return;
    }
    let guard = traced::init();
    slow_request();
    eprintln!("MARK root ended");
    // Longer than nothing, shorter than the batch delay (5 s): a trace
    // printed at the batch interval would come after the next mark.
    std::thread::sleep(Duration::from_millis(200));
    eprintln!("MARK shutting down");
    drop(guard);
}

/// The stderr of `child_process` run in a new process of this test binary,
/// with the `OTEL_*` environment of a program with nothing configured.
fn run_child() -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TRACED_CONSOLE_CHILD", "1")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stderr}");
    stderr
}

/// Where `needle` first is in `haystack`.
fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in:\n{haystack}"))
}

#[test]
fn logs_print_when_written_and_traces_when_complete() {
    let stderr = run_child();
    let log_line = position(&stderr, "WARN  console: stock is low trace=");
    let logged = position(&stderr, "MARK logged");
    let ending = position(&stderr, "MARK ending");
    let trace = position(&stderr, "\ntrace ");
    let root_ended = position(&stderr, "MARK root ended");
    let shutting_down = position(&stderr, "MARK shutting down");
    // The log line is on stderr while its span still runs.
    assert!(log_line < logged, "{stderr}");
    // The trace prints when its root span ends, not at the batch interval
    // nor at shutdown.
    assert!(ending < trace && trace < root_ended, "{stderr}");
    assert!(root_ended < shutting_down, "{stderr}");
    // The waterfall still draws the line under its span, once.
    let waterfall = &stderr[trace..root_ended];
    assert!(waterfall.contains("GET /slow"), "{stderr}");
    assert_eq!(
        waterfall.matches(" WARN console: stock is low").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("\ntrace ").count(), 1, "{stderr}");
}

#[test]
fn console_metrics_leave_out_the_pipelines_own_unless_they_report_a_problem() {
    let stderr = run_child();
    let metrics = position(&stderr, "metrics · ");
    assert!(stderr[metrics..].contains("function.calls"), "{stderr}");
    // The SDK counts every span and record it processed (scope otel.sdk),
    // with zeros for the errors it did not have: none of it is shown.
    assert!(!stderr.contains("otel.sdk"), "{stderr}");
}
