//! `traced::init()` follows the standard `OTEL_*` environment.
#![cfg(feature = "enabled")]

mod common;

use common::io::Buffer;
use std::sync::{Mutex, PoisonError};
use traced::export::console::ConsoleExporter;
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::traced;

/// The environment and the tracer provider are process-wide: tests take turns.
static LOCK: Mutex<()> = Mutex::new(());

const VARS: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_TRACES_EXPORTER",
];

fn with_env<R>(vars: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
    let _turn = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let out = f();
    for (k, _) in vars {
        std::env::remove_var(k);
    }
    out
}

#[traced]
fn work() -> u8 {
    child()
}

#[traced]
fn child() -> u8 {
    1
}

fn run_with(exporter: &InMemorySpanExporter) -> Vec<String> {
    let guard = traced::Builder::new()
        .simple_exporter(exporter.clone())
        .init();
    work();
    guard.flush().unwrap();
    let names = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    drop(guard);
    names
}

#[test]
fn sdk_disabled_installs_nothing() {
    with_env(&[("OTEL_SDK_DISABLED", "true")], || {
        let exporter = InMemorySpanExporter::default();
        let guard = traced::Builder::new()
            .simple_exporter(exporter.clone())
            .init();
        assert!(guard.tracer_provider().is_none());
        work();
        assert!(exporter.get_finished_spans().unwrap().is_empty());
    });
}

#[test]
fn always_off_sampler_records_nothing() {
    with_env(&[("OTEL_TRACES_SAMPLER", "always_off")], || {
        assert!(run_with(&InMemorySpanExporter::default()).is_empty());
    });
}

#[test]
fn default_sampler_records_everything() {
    with_env(&[], || {
        assert_eq!(
            run_with(&InMemorySpanExporter::default()),
            ["child", "work"]
        );
    });
}

#[test]
fn invalid_values_fall_back_to_defaults() {
    with_env(
        &[
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_SDK_DISABLED", "perhaps"),
        ],
        || {
            // parentbased_always_on and enabled: everything is recorded.
            assert_eq!(
                run_with(&InMemorySpanExporter::default()),
                ["child", "work"]
            );
        },
    );
}

#[test]
fn service_name_comes_from_the_environment_first() {
    with_env(&[("OTEL_SERVICE_NAME", "cart-service")], || {
        let guard = traced::Builder::new()
            .service_name("from-code")
            .traces_exporters([])
            .init();
        let provider = guard.tracer_provider().unwrap();
        let debug = format!("{provider:?}");
        assert!(debug.contains("cart-service"), "{debug}");
        assert!(!debug.contains("from-code"), "{debug}");
    });
    with_env(&[], || {
        let guard = traced::Builder::new()
            .service_name("from-code")
            .traces_exporters([])
            .init();
        let debug = format!("{:?}", guard.tracer_provider().unwrap());
        assert!(debug.contains("from-code"), "{debug}");
    });
}

#[traced(kind = server, name = "GET /cart", err)]
fn handler() -> Result<(), String> {
    traced::event!("cache.miss", key = "cart:7");
    child();
    Err("cart service unavailable".into())
}

#[test]
fn console_exporter_prints_the_trace_as_a_tree() {
    with_env(&[("OTEL_SERVICE_NAME", "shop")], || {
        let out = Buffer::default();
        let guard = traced::Builder::new()
            .batch_exporter(ConsoleExporter::with_writer(out.clone(), false))
            .init();
        let _ = handler();
        drop(guard);
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("trace ") && lines[0].contains("shop"),
            "{text}"
        );
        assert!(lines[1].starts_with("GET /cart server"), "{text}");
        assert!(text.contains("ERROR: cart service unavailable"), "{text}");
        assert!(text.contains("└─ child"), "{text}");
        assert!(text.contains("• cache.miss"), "{text}");
        assert!(!text.contains('\x1b'), "no colour was asked for");
    });
}
