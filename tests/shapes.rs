//! `#[traced]` on every shape of function keeps its signature and behaviour and
//! produces one span per call, nested as the calls are.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::trace::SpanKind;
use opentelemetry::Value;
use std::future::Future;
use std::pin::Pin;
use traced::traced;

#[traced]
fn free(a: u32, b: u32) -> u32 {
    a + b
}

#[test]
fn free_function_gets_a_span_named_after_it() {
    let (out, spans) = capture(|| free(2, 3));
    assert_eq!(out, 5);
    let span = spans.one("free");
    assert_kind(span, SpanKind::Internal);
    assert_unset(span);
    assert_eq!(attr_str(span, "code.function.name"), "shapes::free");
    assert_eq!(attr_str(span, "code.file.path"), "tests/shapes.rs");
    assert!(matches!(attr(span, "code.line.number"), Some(Value::I64(n)) if n > 0));
    assert!(span.end_time >= span.start_time);
}

#[traced]
fn outer() -> u32 {
    inner() + inner()
}

#[traced]
fn inner() -> u32 {
    1
}

#[test]
fn nested_calls_are_parent_and_children() {
    let (out, spans) = capture(outer);
    assert_eq!(out, 2);
    assert_eq!(spans.len(), 3);
    spans.assert_root("outer");
    let outer = spans.one("outer");
    for child in spans.all("inner") {
        assert_eq!(child.parent_span_id, outer.span_context.span_id());
        assert!(child.start_time >= outer.start_time && child.end_time <= outer.end_time);
    }
}

struct Counter {
    n: u64,
}

impl Counter {
    #[traced]
    fn new() -> Self {
        Counter { n: 0 }
    }

    #[traced]
    fn get(&self) -> u64 {
        self.n
    }

    #[traced]
    fn bump(&mut self) -> u64 {
        self.n += 1;
        self.n
    }

    #[traced]
    fn into_inner(self) -> u64 {
        self.n
    }

    #[allow(clippy::boxed_local)]
    #[traced]
    fn boxed(self: Box<Self>) -> u64 {
        self.n
    }

    #[traced]
    fn pinned(self: Pin<&mut Self>) -> u64 {
        self.get_mut().n += 10;
        0
    }

    #[traced]
    fn returns_ref(&self) -> &u64 {
        &self.n
    }
}

#[test]
fn methods_with_every_receiver() {
    let (out, spans) = capture(|| {
        let mut c = Counter::new();
        c.bump();
        let mut p = Box::pin(Counter { n: 1 });
        p.as_mut().pinned();
        let pinned = p.n;
        let r = *c.returns_ref();
        let got = c.get();
        let boxed = Box::new(Counter { n: 7 }).boxed();
        (got, r, pinned, boxed, c.into_inner())
    });
    assert_eq!(out, (1, 1, 11, 7, 1));
    for name in [
        "new",
        "get",
        "bump",
        "into_inner",
        "boxed",
        "pinned",
        "returns_ref",
    ] {
        spans.one(name);
    }
}

trait Shape {
    fn area(&self) -> f64;
    #[traced]
    fn describe(&self) -> String {
        format!("area {}", self.area())
    }
}

struct Square(f64);

impl Shape for Square {
    #[traced]
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

#[test]
fn trait_impl_methods_and_default_methods() {
    let (out, spans) = capture(|| Square(2.0).describe());
    assert_eq!(out, "area 4");
    spans.assert_child_of("area", "describe");
}

// Named lifetimes are part of the shape under test; clippy would elide them, with
// or without the attribute.
#[allow(clippy::needless_lifetimes)]
#[traced]
fn generic<'a, T, const N: usize>(items: &'a [T; N]) -> Option<&'a T>
where
    T: std::fmt::Debug + Clone,
{
    items.first()
}

#[traced]
fn takes_impl(x: impl Into<u64>) -> impl std::fmt::Display {
    x.into() * 2
}

#[test]
fn generics_lifetimes_const_generics_and_impl_trait() {
    let (out, spans) = capture(|| (generic(&[1, 2, 3]).copied(), takes_impl(4u8).to_string()));
    assert_eq!(out, (Some(1), "8".to_owned()));
    spans.one("generic");
    spans.one("takes_impl");
}

/// # Safety
/// `p` must be valid.
#[traced]
unsafe fn read(p: *const u32) -> u32 {
    unsafe { *p }
}

#[traced]
extern "C" fn ffi(x: i32) -> i32 {
    x * 3
}

#[test]
fn unsafe_and_extern_functions() {
    let (out, spans) = capture(|| {
        let v = 9;
        (unsafe { read(&v) }, ffi(2))
    });
    assert_eq!(out, (9, 6));
    spans.one("read");
    spans.one("ffi");
}

struct Point {
    x: i64,
    y: i64,
}

#[traced(args(a, x))]
fn patterns((a, b): (u8, u8), Point { x, .. }: Point, mut m: u8) -> i64 {
    m += 1;
    i64::from(a) + i64::from(b) + x + i64::from(m)
}

#[test]
fn pattern_and_mut_arguments() {
    let (out, spans) = capture(|| patterns((1, 2), Point { x: 10, y: 0 }, 5));
    assert_eq!(out, 19);
    let span = spans.one("patterns");
    assert_eq!(attr(span, "a"), Some(Value::I64(1)));
    assert_eq!(attr(span, "x"), Some(Value::I64(10)));
    assert_eq!(
        attr(span, "b"),
        None,
        "unnamed arguments are never recorded"
    );
    let _ = Point { x: 0, y: 0 }.y;
}

#[traced(err)]
fn early(n: i32) -> Result<i32, String> {
    if n < 0 {
        return Err(format!("negative: {n}"));
    }
    let parsed: i32 = "12".parse().map_err(|_| "parse".to_owned())?;
    Ok(parsed + n)
}

#[traced]
fn question_mark(s: &str) -> Result<u8, std::num::ParseIntError> {
    let n: u8 = s.parse()?;
    Ok(n)
}

#[test]
fn early_return_and_question_mark() {
    let (out, spans) = capture(|| (early(1), early(-1), question_mark("x").is_err()));
    assert_eq!(out.0, Ok(13));
    assert_eq!(out.1, Err("negative: -1".to_owned()));
    assert!(out.2);
    assert_eq!(spans.all("early").len(), 2);
    assert_unset(spans.one("question_mark"));
}

#[traced]
fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn recursion_nests() {
    let (out, spans) = capture(|| fib(4));
    assert_eq!(out, 3);
    assert_eq!(spans.all("fib").len(), 9);
    let roots: Vec<_> = spans
        .all("fib")
        .into_iter()
        .filter(|s| s.parent_span_id == opentelemetry::trace::SpanId::INVALID)
        .collect();
    assert_eq!(roots.len(), 1);
}

#[traced]
fn boom(msg: &str) -> u8 {
    panic!("{}", msg)
}

#[traced]
fn calls_boom() -> u8 {
    boom("disk on fire") + 1
}

#[test]
fn panic_ends_spans_with_error_and_unwinds_unchanged() {
    let (out, spans) = capture(|| std::panic::catch_unwind(calls_boom));
    let payload = out.expect_err("the panic goes on");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("disk on fire")
    );
    for name in ["boom", "calls_boom"] {
        let span = spans.one(name);
        assert_error(span, "disk on fire");
        let ev = event(span, "exception");
        assert_eq!(
            event_attr(ev, "exception.message"),
            Some(Value::from("disk on fire"))
        );
        assert_eq!(event_attr(ev, "exception.type"), Some(Value::from("panic")));
    }
    spans.assert_child_of("boom", "calls_boom");
}

/// Documented, with other attributes around.
#[inline]
#[traced]
#[must_use]
#[allow(clippy::let_and_return)]
fn with_attributes() -> u8 {
    let x = 1;
    x
}

#[cfg(any())]
#[traced]
fn compiled_away() -> u8 {
    this_does_not_exist()
}

#[test]
fn other_attributes_and_cfg_are_kept() {
    let (out, spans) = capture(with_attributes);
    assert_eq!(out, 1);
    spans.one("with_attributes");
}

// ---- async ----

#[traced]
async fn leaf(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n * 2
}

#[traced]
async fn parent_async() -> u64 {
    let a = leaf(1).await;
    tokio::task::yield_now().await;
    let b = leaf(2).await;
    a + b + sync_in_async()
}

#[traced]
fn sync_in_async() -> u64 {
    100
}

#[test]
fn async_fn_span_covers_the_future_and_is_current_on_every_poll() {
    let (out, spans) = capture_async(parent_async());
    assert_eq!(out, 106);
    assert_eq!(spans.all("leaf").len(), 2);
    let parent = spans.one("parent_async");
    for child in spans.all("leaf") {
        assert_eq!(child.parent_span_id, parent.span_context.span_id());
    }
    spans.assert_child_of("sync_in_async", "parent_async");
}

#[test]
fn async_fn_on_a_multi_thread_runtime() {
    let (out, spans) = capture_multi_thread(async {
        let handles: Vec<_> = (0..4).map(|i| tokio::spawn(leaf(i))).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum + parent_async().await
    });
    assert_eq!(out, 12 + 106);
    assert_eq!(spans.all("leaf").len(), 6);
}

#[traced]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[test]
fn dropped_future_ends_its_span() {
    let (_, spans) = capture_async(async {
        let fut = never_finishes();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(5), fut).await;
    });
    spans.one("never_finishes");
}

#[traced]
async fn async_panics() -> u8 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[test]
fn panic_in_async_fn_marks_the_span() {
    let (out, spans) = capture_async(async { tokio::spawn(async_panics()).await });
    assert!(out.unwrap_err().is_panic());
    assert_error(spans.one("async_panics"), "async boom");
}

#[traced]
fn returns_impl_future(n: u8) -> impl Future<Output = u8> + Send {
    async move {
        tokio::task::yield_now().await;
        sync_in_async();
        n + 1
    }
}

#[traced]
fn returns_boxed_future(n: u8) -> Pin<Box<dyn Future<Output = u8> + Send>> {
    Box::pin(async move { n + 2 })
}

#[test]
fn functions_returning_futures() {
    let (out, spans) =
        capture_async(async { returns_impl_future(1).await + returns_boxed_future(1).await });
    assert_eq!(out, 5);
    spans.assert_child_of("sync_in_async", "returns_impl_future");
    spans.one("returns_boxed_future");
}

trait Store {
    async fn load(&self, key: u8) -> Option<u8>;
}

struct Memory;

impl Store for Memory {
    #[traced]
    async fn load(&self, key: u8) -> Option<u8> {
        tokio::task::yield_now().await;
        Some(key)
    }
}

#[async_trait::async_trait]
trait DynStore {
    async fn get(&self, key: u8) -> Result<u8, String>;
}

#[async_trait::async_trait]
impl DynStore for Memory {
    #[traced(err)]
    async fn get(&self, key: u8) -> Result<u8, String> {
        tokio::task::yield_now().await;
        leaf(1).await;
        if key == 0 {
            return Err("zero".into());
        }
        Ok(key)
    }
}

struct Other;

#[async_trait::async_trait]
impl DynStore for Other {
    #[allow(clippy::needless_return)]
    #[traced(name = "other.get")]
    async fn get(&self, key: u8) -> Result<u8, String> {
        return Ok(key);
    }
}

#[test]
fn async_fn_in_traits_native_and_async_trait() {
    let (out, spans) = capture_async(async {
        let dyn_store: Box<dyn DynStore> = Box::new(Memory);
        (
            Memory.load(3).await,
            dyn_store.get(4).await,
            dyn_store.get(0).await,
            Other.get(5).await,
        )
    });
    assert_eq!(out, (Some(3), Ok(4), Err("zero".to_owned()), Ok(5)));
    spans.one("load");
    let gets = spans.all("get");
    assert_eq!(gets.len(), 2);
    assert_eq!(
        gets.iter()
            .filter(|s| s.status != opentelemetry::trace::Status::Unset)
            .count(),
        1
    );
    for leaf in spans.all("leaf") {
        assert!(gets
            .iter()
            .any(|g| g.span_context.span_id() == leaf.parent_span_id));
    }
    spans.one("other.get");
}

#[test]
fn before_init_annotations_are_no_ops() {
    // No provider is installed: nothing is recorded, nothing breaks.
    without_telemetry(|| {
        assert_eq!(free(1, 1), 2);
        assert_eq!(fib(3), 2);
        assert!(!opentelemetry::trace::TraceContextExt::has_active_span(
            &opentelemetry::Context::current()
        ));
    });
}
