//! Each `#[traced(...)]` option, and the body macros, as a span shows them.
#![cfg(feature = "enabled")]

mod common;

use common::*;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, Context, StringValue, Value};
use traced::traced;

#[traced(name = "GET /cart")]
fn named() {}

#[test]
fn name_sets_the_span_name() {
    let (_, spans) = capture(named);
    spans.one("GET /cart");
}

#[traced(kind = server)]
fn server() {}
#[traced(kind = client)]
fn client() {}
#[traced(kind = producer)]
fn producer() {}
#[traced(kind = consumer)]
fn consumer() {}
#[traced(kind = internal)]
fn internal() {}

#[test]
fn kind_sets_every_span_kind() {
    let (_, spans) = capture(|| {
        server();
        client();
        producer();
        consumer();
        internal();
    });
    assert_kind(spans.one("server"), SpanKind::Server);
    assert_kind(spans.one("client"), SpanKind::Client);
    assert_kind(spans.one("producer"), SpanKind::Producer);
    assert_kind(spans.one("consumer"), SpanKind::Consumer);
    assert_kind(spans.one("internal"), SpanKind::Internal);
}

struct User {
    id: u64,
    name: String,
}

#[derive(Debug)]
struct Opaque {
    #[allow(dead_code)]
    inner: u8,
}

#[traced(attrs(
    user.id = user.id,
    "http.route" = "/cart/{id}",
    flag = true,
    ratio = 0.5,
    small = -3i8,
    big = u64::MAX,
    text = user.name.clone(),
    borrowed = user.name.as_str(),
    display = %std::net::Ipv4Addr::LOCALHOST,
    debug = ?Opaque { inner: 1 },
    list = [1, 2, 3],
    names = vec!["a", "b"],
    floats = &[0.5f64, 1.5][..],
    flags = [true, false],
    missing = None::<u8>,
    present = Some("here"),
    exception.type = "keywords work in keys",
    %user_name,
))]
fn attrs(user: &User, user_name: &str) {}

#[test]
fn attrs_records_every_value_type() {
    let user = User {
        id: 42,
        name: "ada".into(),
    };
    let (_, spans) = capture(|| attrs(&user, "ada"));
    let s = spans.one("attrs");
    assert_eq!(attr(s, "user.id"), Some(Value::I64(42)));
    assert_eq!(attr(s, "http.route"), Some(Value::from("/cart/{id}")));
    assert_eq!(attr(s, "flag"), Some(Value::Bool(true)));
    assert_eq!(attr(s, "ratio"), Some(Value::F64(0.5)));
    assert_eq!(attr(s, "small"), Some(Value::I64(-3)));
    assert_eq!(attr(s, "big"), Some(Value::from(u64::MAX.to_string())));
    assert_eq!(attr(s, "text"), Some(Value::from("ada")));
    assert_eq!(attr(s, "borrowed"), Some(Value::from("ada")));
    assert_eq!(attr(s, "display"), Some(Value::from("127.0.0.1")));
    assert_eq!(attr(s, "debug"), Some(Value::from("Opaque { inner: 1 }")));
    assert_eq!(
        attr(s, "list"),
        Some(Value::Array(Array::I64(vec![1, 2, 3])))
    );
    assert_eq!(
        attr(s, "names"),
        Some(Value::Array(Array::String(vec![
            StringValue::from("a"),
            StringValue::from("b")
        ])))
    );
    assert_eq!(
        attr(s, "floats"),
        Some(Value::Array(Array::F64(vec![0.5, 1.5])))
    );
    assert_eq!(
        attr(s, "flags"),
        Some(Value::Array(Array::Bool(vec![true, false])))
    );
    assert_eq!(attr(s, "missing"), None);
    assert_eq!(attr(s, "present"), Some(Value::from("here")));
    assert_eq!(
        attr(s, "exception.type"),
        Some(Value::from("keywords work in keys"))
    );
    assert_eq!(attr(s, "user_name"), Some(Value::from("ada")));
}

#[traced(args(id, password))]
fn login(id: u32, password: &str, secret_token: &str) -> bool {
    !password.is_empty() && !secret_token.is_empty() && id > 0
}

#[traced]
fn sign_in(password: &str) -> bool {
    !password.is_empty()
}

#[test]
fn only_named_arguments_are_recorded() {
    let (_, spans) = capture(|| {
        login(7, "hunter2", "tok-123");
        sign_in("hunter2");
    });
    let s = spans.one("login");
    assert_eq!(attr(s, "id"), Some(Value::I64(7)));
    // Named, so recorded; a secret key, so masked unless the pipeline opts out.
    assert_eq!(
        attr(s, "password"),
        Some(Value::from(traced::process::MASK))
    );
    assert_eq!(attr(s, "secret_token"), None);
    let values: Vec<String> = spans
        .one("sign_in")
        .attributes
        .iter()
        .map(|kv| kv.value.as_str().into_owned())
        .collect();
    assert!(
        !values.iter().any(|v| v.contains("hunter2")),
        "an unnamed argument leaked: {values:?}"
    );
}

#[derive(Debug)]
struct PaymentError {
    code: u16,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "payment declined ({})", self.code)
    }
}

#[traced(err)]
fn pay(ok: bool) -> Result<u32, PaymentError> {
    if ok {
        Ok(1)
    } else {
        Err(PaymentError { code: 402 })
    }
}

#[traced(err(debug))]
fn pay_debug() -> Result<(), PaymentError> {
    Err(PaymentError { code: 500 })
}

type AppResult<T> = Result<T, PaymentError>;

#[traced(err)]
fn through_alias() -> AppResult<()> {
    Err(PaymentError { code: 1 })
}

#[test]
fn err_records_status_and_exception_event() {
    let (_, spans) = capture(|| {
        let _ = pay(false);
        let _ = pay_debug();
        let _ = through_alias();
    });
    let s = spans.one("pay");
    assert_error(s, "payment declined (402)");
    let ev = event(s, "exception");
    assert_eq!(
        event_attr(ev, "exception.message"),
        Some(Value::from("payment declined (402)"))
    );
    assert_eq!(
        event_attr(ev, "exception.type"),
        Some(Value::from("options::PaymentError"))
    );
    assert_error(spans.one("pay_debug"), "PaymentError { code: 500 }");
    assert_error(spans.one("through_alias"), "payment declined (1)");
}

#[test]
fn err_leaves_ok_results_alone() {
    let (_, spans) = capture(|| pay(true));
    let s = spans.one("pay");
    assert_unset(s);
    assert!(s.events.is_empty());
}

#[traced(ret)]
fn doubled(n: u32) -> u32 {
    n * 2
}

#[traced(ret(display))]
fn greeting() -> String {
    "hello".into()
}

#[traced(ret, err)]
fn parsed(s: &str) -> Result<u8, std::num::ParseIntError> {
    s.parse()
}

#[traced(ret, err)]
async fn async_parsed(s: &str) -> Result<u8, std::num::ParseIntError> {
    s.parse()
}

#[test]
fn ret_records_the_return_value() {
    let (_, spans) = capture(|| {
        doubled(21);
        greeting();
        let _ = parsed("7");
        let _ = parsed("x");
    });
    assert_eq!(attr(spans.one("doubled"), "return"), Some(Value::I64(42)));
    assert_eq!(
        attr(spans.one("greeting"), "return"),
        Some(Value::from("hello"))
    );
    let parsed = spans.all("parsed");
    assert_eq!(attr(parsed[0], "return"), Some(Value::I64(7)));
    assert_eq!(
        attr(parsed[1], "return"),
        None,
        "Err is recorded by err, not ret"
    );
    assert_error(parsed[1], "invalid digit found in string");

    let (_, spans) = capture_async(async_parsed("9"));
    assert_eq!(
        attr(spans.one("async_parsed"), "return"),
        Some(Value::I64(9))
    );
}

#[traced(ret)]
fn ret_u64() -> u64 {
    1500
}

#[traced(ret)]
fn ret_u64_max() -> u64 {
    u64::MAX
}

#[traced(ret)]
fn ret_bool() -> bool {
    true
}

#[traced(ret)]
fn ret_f64() -> f64 {
    0.25
}

#[traced(ret)]
fn ret_str() -> &'static str {
    "static"
}

#[traced(ret)]
fn ret_string() -> String {
    "owned".to_owned()
}

#[traced(ret)]
fn ret_list() -> Vec<u8> {
    vec![1, 2]
}

#[traced(ret)]
fn ret_some() -> Option<u32> {
    Some(3)
}

#[traced(ret)]
fn ret_none() -> Option<u32> {
    None
}

#[traced(ret)]
fn ret_struct() -> Opaque {
    Opaque { inner: 4 }
}

#[traced(ret)]
fn ret_generic<T: std::fmt::Debug>(value: T) -> T {
    value
}

#[traced(ret(debug))]
fn ret_debug() -> u64 {
    5
}

#[traced(ret(display))]
fn ret_display() -> u64 {
    6
}

#[traced(ret, err)]
fn ret_ok_struct() -> Result<Opaque, std::fmt::Error> {
    Ok(Opaque { inner: 7 })
}

#[traced(ret)]
async fn ret_async() -> u64 {
    8
}

#[traced(ret)]
fn ret_impl_future() -> impl std::future::Future<Output = bool> {
    async { true }
}

#[test]
fn ret_records_recordable_types_as_themselves() {
    let (_, spans) = capture(|| {
        ret_u64();
        ret_u64_max();
        ret_bool();
        ret_f64();
        ret_str();
        ret_string();
        ret_list();
        ret_some();
        ret_none();
    });
    let ret = |name| attr(spans.one(name), "return");
    assert_eq!(ret("ret_u64"), Some(Value::I64(1500)));
    assert_eq!(
        ret("ret_u64_max"),
        Some(Value::from(u64::MAX.to_string())),
        "beyond i64, as attrs(..) records it"
    );
    assert_eq!(ret("ret_bool"), Some(Value::Bool(true)));
    assert_eq!(ret("ret_f64"), Some(Value::F64(0.25)));
    assert_eq!(ret("ret_str"), Some(Value::from("static")));
    assert_eq!(ret("ret_string"), Some(Value::from("owned")));
    assert_eq!(ret("ret_list"), Some(Value::Array(Array::I64(vec![1, 2]))));
    assert_eq!(ret("ret_some"), Some(Value::I64(3)));
    assert_eq!(
        ret("ret_none"),
        None,
        "None records nothing, as in attrs(..)"
    );

    let (_, spans) = capture_async(async {
        ret_async().await;
        ret_impl_future().await;
    });
    assert_eq!(attr(spans.one("ret_async"), "return"), Some(Value::I64(8)));
    assert_eq!(
        attr(spans.one("ret_impl_future"), "return"),
        Some(Value::Bool(true))
    );
}

#[test]
fn ret_records_other_types_and_explicit_formats_as_strings() {
    let (_, spans) = capture(|| {
        ret_struct();
        ret_generic(9u8);
        ret_debug();
        ret_display();
        let _ = ret_ok_struct();
    });
    let ret = |name| attr(spans.one(name), "return");
    assert_eq!(
        ret("ret_struct"),
        Some(Value::from("Opaque { inner: 4 }")),
        "a type that is not an AttrValue: its Debug form"
    );
    assert_eq!(
        ret("ret_generic"),
        Some(Value::from("9")),
        "a type parameter without an AttrValue bound: its Debug form"
    );
    assert_eq!(ret("ret_debug"), Some(Value::from("5")));
    assert_eq!(ret("ret_display"), Some(Value::from("6")));
    assert_eq!(
        ret("ret_ok_struct"),
        Some(Value::from("Opaque { inner: 7 }"))
    );
}

fn remote_parent() -> SpanContext {
    SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

#[traced(parent = cx)]
fn with_context_parent(cx: &Context) {}

#[traced(parent = sc.clone())]
fn with_span_context_parent(sc: &SpanContext) {}

#[test]
fn parent_takes_a_context_or_a_span_context() {
    let remote = remote_parent();
    let cx = Context::new().with_remote_span_context(remote.clone());
    let (_, spans) = capture(|| {
        with_context_parent(&cx);
        with_span_context_parent(&remote);
    });
    for name in ["with_context_parent", "with_span_context_parent"] {
        let s = spans.one(name);
        assert_eq!(s.span_context.trace_id(), remote.trace_id());
        assert_eq!(s.parent_span_id, remote.span_id());
        assert!(s.parent_span_is_remote);
    }
}

#[traced(root)]
fn new_trace() {}

#[traced]
fn calls_new_trace() {
    new_trace();
}

#[test]
fn root_starts_a_new_trace() {
    let (_, spans) = capture(calls_new_trace);
    spans.assert_root("new_trace");
    assert_ne!(
        spans.one("new_trace").span_context.trace_id(),
        spans.one("calls_new_trace").span_context.trace_id()
    );
}

#[traced(links(first, &second, None::<SpanContext>))]
fn batch(first: SpanContext, second: SpanContext) {}

#[test]
fn links_point_at_other_spans() {
    let a = remote_parent();
    let b = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let (_, spans) = capture(|| batch(a.clone(), b.clone()));
    let links: Vec<_> = spans
        .one("batch")
        .links
        .iter()
        .map(|l| l.span_context.clone())
        .collect();
    assert_eq!(links, vec![a, b]);
}

#[traced]
fn body_macros(key: &str) -> usize {
    traced::event!("cache.miss", key = key, attempt = 2, "retry.after_ms" = 1.5);
    traced::event!("plain");
    traced::attr!(cart.items = 3, note = %"shown", dbg = ?("a", 1));
    traced::status!(ok);
    key.len()
}

#[test]
fn event_and_attr_in_the_body() {
    let (_, spans) = capture(|| body_macros("k1"));
    let s = spans.one("body_macros");
    let ev = event(s, "cache.miss");
    assert_eq!(event_attr(ev, "key"), Some(Value::from("k1")));
    assert_eq!(event_attr(ev, "attempt"), Some(Value::I64(2)));
    assert_eq!(event_attr(ev, "retry.after_ms"), Some(Value::F64(1.5)));
    event(s, "plain");
    assert_eq!(attr(s, "cart.items"), Some(Value::I64(3)));
    assert_eq!(attr(s, "note"), Some(Value::from("shown")));
    assert_eq!(attr(s, "dbg"), Some(Value::from("(\"a\", 1)")));
    assert_eq!(s.status, Status::Ok);
}

#[traced]
fn status_error(n: u8) {
    traced::status!(error, "bad n: {}", n);
}

#[traced]
fn error_macro() -> u8 {
    match "x".parse::<u8>() {
        Ok(n) => n,
        Err(e) => {
            traced::error!(e);
            0
        }
    }
}

#[test]
fn status_and_error_macros() {
    let (_, spans) = capture(|| {
        status_error(3);
        error_macro();
    });
    assert_error(spans.one("status_error"), "bad n: 3");
    let s = spans.one("error_macro");
    assert_error(s, "invalid digit found in string");
    let ev = event(s, "exception");
    assert_eq!(
        event_attr(ev, "exception.type"),
        Some(Value::from("core::num::error::ParseIntError"))
    );
}

#[test]
fn body_macros_outside_a_span_do_nothing() {
    let (_, spans) = capture(|| {
        traced::event!("orphan", k = 1);
        traced::attr!(k = 1);
        traced::status!(error, "nothing to set");
    });
    assert_eq!(spans.len(), 0);
}

#[traced(attrs(expensive = side_effect()))]
fn lazily_evaluated() {}

static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn side_effect() -> u8 {
    CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    1
}

#[test]
fn attribute_expressions_are_not_evaluated_when_not_recording() {
    without_telemetry(|| {
        let before = CALLS.load(std::sync::atomic::Ordering::SeqCst);
        lazily_evaluated();
        assert_eq!(CALLS.load(std::sync::atomic::Ordering::SeqCst), before);
    });
    let (_, spans) = capture(lazily_evaluated);
    assert_eq!(
        attr(spans.one("lazily_evaluated"), "expensive"),
        Some(Value::I64(1))
    );
}

#[test]
fn reinit_after_shutdown_records_again() {
    let (_, first) = capture(named);
    let (_, second) = capture(named);
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
}
