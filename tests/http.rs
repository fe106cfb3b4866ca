//! The HTTP integrations over real sockets on 127.0.0.1: `traced::http::ServerLayer`
//! around axum 0.8 routers and `send_traced` on reqwest, one trace across client,
//! servers and handlers, status codes, malformed headers and what is never recorded.
//!
//! Every span ends before the response leaves the server (the server span) or before
//! `send_traced` returns (the client span), and the in-memory exporter receives spans
//! synchronously, so each test reads its spans as soon as its last request returned:
//! no sleeps. Every test runs under a time bound.
#![cfg(feature = "enabled")]

mod common;

use axum::extract::{Path, State};
use axum::http::{self, StatusCode};
use axum::routing::get;
use axum::Router;
use common::*;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Context, Value};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use traced::http::{RequestBuilderExt as _, Route, ServerLayer};
use traced::opentelemetry_sdk::trace::SpanData;
use traced::traced;

/// The bound on one test's requests.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `f` with telemetry on an in-memory exporter, within [`TIMEOUT`].
fn run<F: Future>(f: F) -> (F::Output, Spans) {
    capture_async(async move {
        tokio::time::timeout(TIMEOUT, f)
            .await
            .expect("the test's requests did not finish in time")
    })
}

/// [`run`] on a multi-thread runtime: servers and client on different threads.
fn run_multi_thread<F: Future + Send>(f: F) -> (F::Output, Spans)
where
    F::Output: Send,
{
    capture_multi_thread(async move {
        tokio::time::timeout(TIMEOUT, f)
            .await
            .expect("the test's requests did not finish in time")
    })
}

/// A client that never goes through a proxy and never waits long.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .user_agent("traced-test/1.0")
        .build()
        .unwrap()
}

/// A server on 127.0.0.1 (any free port), stopped when dropped.
struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `router`.
    async fn start(router: Router) -> Self {
        Self::spawn(|listener| async move { axum::serve(listener, router).await }).await
    }

    /// Serves `router` wrapped in [`ServerLayer`] from outside.
    async fn start_wrapped(router: Router) -> Self {
        use tower::Layer as _;
        let app = ServerLayer::new().layer(router);
        let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
        Self::spawn(|listener| async move { axum::serve(listener, app).await }).await
    }

    async fn spawn<F>(serve: impl FnOnce(tokio::net::TcpListener) -> F) -> Self
    where
        F: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = serve(listener);
        let task = tokio::spawn(async move { serving.await.unwrap() });
        Server { addr, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------
// Helpers over exported spans.

fn find<'a>(spans: &'a Spans, what: &str, pred: impl Fn(&SpanData) -> bool) -> &'a SpanData {
    let found: Vec<_> = spans.0.iter().filter(|s| pred(s)).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {what}, spans: {:?}",
        spans.names()
    );
    found[0]
}

fn child_of<'a>(spans: &'a Spans, parent: &SpanData, name: &str) -> &'a SpanData {
    find(spans, &format!("{name:?} under {:?}", parent.name), |s| {
        s.name == name && s.parent_span_id == parent.span_context.span_id()
    })
}

fn assert_parent(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{:?} should be a child of {:?}",
        child.name,
        parent.name
    );
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{:?} and {:?} should share a trace",
        child.name,
        parent.name
    );
}

fn attr_i64(span: &SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(v)) => v,
        other => panic!("{key:?} on {:?} is {other:?}", span.name),
    }
}

fn assert_error_status(span: &SpanData) {
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?} should have status Error, has {:?}",
        span.name,
        span.status
    );
}

/// Every string an exported span carries: name, attribute values, event names and
/// attributes, status description.
fn all_text(spans: &Spans) -> Vec<String> {
    let mut text = Vec::new();
    for span in &spans.0 {
        text.push(span.name.to_string());
        for kv in &span.attributes {
            text.push(format!("{}={}", kv.key, kv.value));
        }
        for event in span.events.iter() {
            text.push(event.name.to_string());
            for kv in &event.attributes {
                text.push(format!("{}={}", kv.key, kv.value));
            }
        }
        if let Status::Error { description } = &span.status {
            text.push(description.to_string());
        }
    }
    text
}

// ---------------------------------------------------------------------------------
// (a) client span -> server span -> handler span.

#[traced]
async fn get_user(Path(id): Path<u64>) -> String {
    traced::attr!(user.id = id);
    format!("user {id}")
}

#[traced]
async fn fetch_user(client: &reqwest::Client, url: String) -> (StatusCode, String) {
    let response = client.get(url).send_traced().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn users() -> Router {
    Router::new()
        .route("/users/{id}", get(get_user))
        .layer(ServerLayer::new())
}

#[test]
fn a_request_is_one_trace_from_client_to_handler() {
    let ((port, (status, body)), spans) = run(async {
        let server = Server::start(users()).await;
        let out = fetch_user(&client(), server.url("/users/7")).await;
        (server.addr.port(), out)
    });
    assert_eq!(status, 200);
    assert_eq!(body, "user 7");

    let caller = spans.one("fetch_user");
    let client = child_of(&spans, caller, "GET");
    let server = spans.one("GET /users/{id}");
    let handler = spans.one("get_user");
    assert_eq!(spans.len(), 4, "{:?}", spans.names());
    assert_parent(client, caller);
    assert_parent(server, client);
    assert!(
        server.parent_span_is_remote,
        "the server's parent came from headers"
    );
    assert_parent(handler, server);
    assert!(!handler.parent_span_is_remote);

    assert_kind(client, SpanKind::Client);
    assert_eq!(attr_str(client, "http.request.method"), "GET");
    assert_eq!(attr_str(client, "server.address"), "127.0.0.1");
    assert_eq!(attr_i64(client, "server.port"), i64::from(port));
    assert_eq!(
        attr_str(client, "url.full"),
        format!("http://127.0.0.1:{port}/users/7")
    );
    assert_eq!(attr_i64(client, "http.response.status_code"), 200);
    assert_eq!(attr_str(client, "network.protocol.version"), "1.1");
    assert_unset(client);

    assert_kind(server, SpanKind::Server);
    assert_eq!(attr_str(server, "http.request.method"), "GET");
    assert_eq!(attr_str(server, "url.path"), "/users/7");
    assert_eq!(attr_str(server, "url.scheme"), "http");
    assert_eq!(attr_str(server, "http.route"), "/users/{id}");
    assert_eq!(attr_str(server, "server.address"), "127.0.0.1");
    assert_eq!(attr_i64(server, "server.port"), i64::from(port));
    assert_eq!(attr_str(server, "network.protocol.version"), "1.1");
    assert_eq!(attr_str(server, "user_agent.original"), "traced-test/1.0");
    assert_eq!(attr_i64(server, "http.response.status_code"), 200);
    assert_eq!(attr(server, "error.type"), None);
    assert_unset(server);

    assert_eq!(attr_i64(handler, "user.id"), 7);
    // Time: the client span encloses the server span, which encloses the handler.
    assert!(client.start_time <= server.start_time && server.end_time <= client.end_time);
    assert!(server.start_time <= handler.start_time && handler.end_time <= server.end_time);
}

// ---------------------------------------------------------------------------------
// (b) client -> service A -> service B, with baggage.

#[derive(Clone)]
struct Downstream {
    client: reqwest::Client,
    stock_url: String,
}

#[traced]
async fn checkout(State(down): State<Downstream>) -> String {
    let response = down
        .client
        .get(format!("{}/stock/apple", down.stock_url))
        .send_traced()
        .await
        .unwrap();
    response.text().await.unwrap()
}

#[traced]
async fn stock(Path(sku): Path<String>) -> String {
    let tenant = traced::baggage::get("tenant.id").unwrap_or_default();
    format!("{sku}:{tenant}")
}

#[traced]
async fn place_order(client: &reqwest::Client, url: String) -> String {
    let response = client.post(url).send_traced().await.unwrap();
    response.text().await.unwrap()
}

/// Polls `f` with `cx` current.
async fn in_context<F: Future>(cx: Context, f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(move |task| {
        let _entered = cx.clone().attach();
        f.as_mut().poll(task)
    })
    .await
}

#[test]
fn two_services_share_one_trace_and_the_baggage() {
    let (body, spans) = run_multi_thread(async {
        let b = Server::start(
            Router::new()
                .route("/stock/{sku}", get(stock))
                .layer(ServerLayer::new()),
        )
        .await;
        let a = Server::start(
            Router::new()
                .route("/checkout", axum::routing::post(checkout))
                .with_state(Downstream {
                    client: client(),
                    stock_url: b.url(""),
                })
                .layer(ServerLayer::new()),
        )
        .await;
        let with_tenant = {
            let _baggage = traced::baggage::set([("tenant.id", "acme")]);
            Context::current()
        };
        in_context(with_tenant, place_order(&client(), a.url("/checkout"))).await
    });
    assert_eq!(
        body, "apple:acme",
        "the baggage set by the client reached B"
    );

    let root = spans.one("place_order");
    let client_a = child_of(&spans, root, "POST");
    let server_a = child_of(&spans, client_a, "POST /checkout");
    let handler_a = child_of(&spans, server_a, "checkout");
    let client_b = child_of(&spans, handler_a, "GET");
    let server_b = child_of(&spans, client_b, "GET /stock/{sku}");
    let handler_b = child_of(&spans, server_b, "stock");
    assert_eq!(spans.len(), 7, "{:?}", spans.names());
    let trace = root.span_context.trace_id();
    for span in [client_a, server_a, handler_a, client_b, server_b, handler_b] {
        assert_eq!(span.span_context.trace_id(), trace, "{:?}", span.name);
    }
    assert_eq!(attr_str(server_a, "http.request.method"), "POST");
    assert_eq!(attr_str(server_b, "http.route"), "/stock/{sku}");
    assert_eq!(attr_str(server_b, "url.path"), "/stock/apple");
    assert!(
        !all_text(&spans).iter().any(|t| t.contains("acme")),
        "baggage is not copied onto spans"
    );
}

// ---------------------------------------------------------------------------------
// (c) Status codes: a 5xx is an error for both sides, a 4xx only for the client.

async fn boom() -> (StatusCode, &'static str) {
    (StatusCode::INTERNAL_SERVER_ERROR, "boom")
}

async fn teapot() -> StatusCode {
    StatusCode::IM_A_TEAPOT
}

#[traced]
async fn call(client: &reqwest::Client, url: String) -> StatusCode {
    client.get(url).send_traced().await.unwrap().status()
}

#[test]
fn a_5xx_fails_both_spans_a_4xx_only_the_client() {
    let (statuses, spans) = run(async {
        let server = Server::start(
            Router::new()
                .route("/boom", get(boom))
                .route("/teapot", get(teapot))
                .layer(ServerLayer::new()),
        )
        .await;
        let client = client();
        let mut statuses = Vec::new();
        for path in ["/boom", "/missing", "/teapot"] {
            statuses.push(call(&client, server.url(path)).await);
        }
        statuses
    });
    assert_eq!(statuses, [500, 404, 418]);

    let calls = spans.all("call");
    assert_eq!(calls.len(), 3);
    let client_of = |call: &SpanData| child_of(&spans, call, "GET");
    let server_of = |client: &SpanData| {
        find(&spans, "server span", |s| {
            s.span_kind == SpanKind::Server && s.parent_span_id == client.span_context.span_id()
        })
    };
    let by_status = |code: i64| {
        let client = calls
            .iter()
            .map(|c| client_of(c))
            .find(|c| attr_i64(c, "http.response.status_code") == code)
            .unwrap_or_else(|| panic!("no client span with status {code}"));
        (client, server_of(client))
    };

    let (client, server) = by_status(500);
    assert_eq!(server.name, "GET /boom");
    assert_eq!(attr_i64(server, "http.response.status_code"), 500);
    assert_error_status(server);
    assert_eq!(attr_str(server, "error.type"), "500");
    assert_error_status(client);
    assert_eq!(attr_str(client, "error.type"), "500");

    // No route matched: the fallback's span is named by the method alone.
    let (client, server) = by_status(404);
    assert_eq!(server.name, "GET");
    assert_eq!(attr(server, "http.route"), None);
    assert_eq!(attr_str(server, "url.path"), "/missing");
    assert_eq!(attr_i64(server, "http.response.status_code"), 404);
    assert_unset(server);
    assert_eq!(attr(server, "error.type"), None);
    assert_error_status(client);
    assert_eq!(attr_str(client, "error.type"), "404");

    let (client, server) = by_status(418);
    assert_eq!(server.name, "GET /teapot");
    assert_unset(server);
    assert_error_status(client);
}

#[traced]
async fn call_nowhere(url: String) -> reqwest::Result<reqwest::Response> {
    client().get(url).send_traced().await
}

#[test]
fn a_transport_error_fails_the_client_span_with_an_exception() {
    let (result, spans) = run(async {
        // A port nothing listens on: bound, then released.
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        call_nowhere(format!(
            "http://user:pa55word@127.0.0.1:{port}/x?token=hunter2"
        ))
        .await
    });
    let error = result.expect_err("nothing listens there");
    assert!(error.is_connect(), "{error}");

    let client = child_of(&spans, spans.one("call_nowhere"), "GET");
    assert_error_status(client);
    assert_eq!(attr_str(client, "error.type"), "connect");
    assert_eq!(attr(client, "http.response.status_code"), None);
    let exception = event(client, "exception");
    assert_eq!(
        event_attr(exception, "exception.type").map(|v| v.to_string()),
        Some("reqwest::Error".to_owned())
    );
    let message = event_attr(exception, "exception.message")
        .unwrap()
        .to_string();
    assert!(message.contains("error sending request"), "{message}");
    for text in all_text(&spans) {
        assert!(
            !text.contains("hunter2") && !text.contains("pa55word"),
            "a secret in {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// (d) Incoming trace context: honoured when valid, a new trace when malformed.

#[test]
fn a_malformed_traceparent_starts_a_new_trace_at_the_server() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";
    let valid = format!("00-{TRACE}-{SPAN}-01");
    let malformed = [
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // extra field
        "garbage",
    ];
    let (_, spans) = run(async {
        let server = Server::start(users()).await;
        let client = client();
        let send = |id: usize, traceparent: &str| {
            client
                .get(server.url(&format!("/users/{id}")))
                .header("traceparent", traceparent)
                .header("baggage", "tenant.id=acme")
                .send()
        };
        let response = send(0, &valid).await.unwrap();
        assert_eq!(response.status(), 200);
        for (i, traceparent) in malformed.iter().enumerate() {
            let response = send(i + 1, traceparent).await.unwrap();
            assert_eq!(response.status(), 200, "{traceparent:?}");
        }
    });
    let server = |id: usize| {
        let path = format!("/users/{id}");
        find(&spans, &path, |s| {
            s.span_kind == SpanKind::Server && attr_str(s, "url.path") == path
        })
    };

    let continued = server(0);
    assert_eq!(continued.span_context.trace_id().to_string(), TRACE);
    assert_eq!(continued.parent_span_id.to_string(), SPAN);
    assert!(continued.parent_span_is_remote);

    for (i, traceparent) in malformed.iter().enumerate() {
        let span = server(i + 1);
        assert_eq!(
            span.parent_span_id,
            SpanId::INVALID,
            "{traceparent:?} must start a new trace"
        );
        assert_ne!(span.span_context.trace_id(), TraceId::INVALID);
        assert_ne!(span.span_context.trace_id().to_string(), TRACE);
        assert_parent(child_of(&spans, span, "get_user"), span);
    }
}

// ---------------------------------------------------------------------------------
// (e) Never recorded: the query string, credentials, other headers.

#[traced]
async fn fetch_with_secrets(client: &reqwest::Client, url: String) -> StatusCode {
    client
        .get(url)
        .header("authorization", "Bearer t0ken-xyz")
        .header("cookie", "session=c00kie")
        .header("x-api-key", "k3y-abc")
        .send_traced()
        .await
        .unwrap()
        .status()
}

#[test]
fn the_query_string_and_other_headers_never_reach_a_span() {
    let (port, spans) = run(async {
        let server = Server::start(users()).await;
        let port = server.addr.port();
        let url = format!(
            "http://alice:pa55word@127.0.0.1:{port}/users/7?token=hunter2&api_key=s3cret#frag"
        );
        assert_eq!(fetch_with_secrets(&client(), url).await, 200);
        port
    });
    let client = child_of(&spans, spans.one("fetch_with_secrets"), "GET");
    assert_eq!(
        attr_str(client, "url.full"),
        format!("http://127.0.0.1:{port}/users/7")
    );
    let server = spans.one("GET /users/{id}");
    assert_eq!(attr_str(server, "url.path"), "/users/7");
    let text = all_text(&spans);
    for secret in [
        "hunter2", "s3cret", "token=", "api_key", "pa55word", "alice", "t0ken", "c00kie", "k3y",
        "frag", "?",
    ] {
        for t in &text {
            assert!(!t.contains(secret), "{secret:?} recorded in {t:?}");
        }
    }
    // Only the attributes the conventions name.
    let mut keys: Vec<_> = server.attributes.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "http.request.method",
            "http.response.status_code",
            "http.route",
            "network.protocol.version",
            "server.address",
            "server.port",
            "url.path",
            "url.scheme",
            "user_agent.original",
        ]
    );
}

// ---------------------------------------------------------------------------------
// The route when the layer wraps the whole router, and `Route`.

#[traced]
async fn order(Path(id): Path<u64>) -> axum::response::Response {
    let mut response = axum::response::IntoResponse::into_response(format!("order {id}"));
    response.extensions_mut().insert(Route::new("/orders/{id}"));
    response
}

#[test]
fn outside_the_router_the_route_comes_from_route_extensions() {
    let (_, spans) = run(async {
        let router = Router::new()
            .route("/orders/{id}", get(order))
            .route("/users/{id}", get(get_user));
        // Around the whole router: it runs before routing, so axum's `MatchedPath`
        // is not there yet.
        let server = Server::start_wrapped(router).await;
        let client = client();
        for path in ["/orders/1", "/users/1"] {
            let response = client.get(server.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
    });
    // The handler put a `Route` in the response: the span is renamed.
    let orders = spans.one("GET /orders/{id}");
    assert_eq!(attr_str(orders, "http.route"), "/orders/{id}");
    assert_parent(spans.one("order"), orders);
    // Without one the route stays unknown.
    let users = spans.one("GET");
    assert_eq!(attr(users, "http.route"), None);
    assert_parent(spans.one("get_user"), users);
}

// ---------------------------------------------------------------------------------
// Without sockets: an inner service's error, a dropped future, a `Route` on the
// request, methods the conventions do not know.

fn request(method: &str, uri: &str) -> http::Request<()> {
    request_to(method, uri, "shop.example:8443")
}

fn request_to(method: &str, uri: &str, host: &str) -> http::Request<()> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", host)
        .body(())
        .unwrap()
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("backend refused")
    }
}

#[test]
fn an_inner_error_fails_the_server_span_with_an_exception() {
    use tower::{Layer as _, ServiceExt as _};
    let (result, spans) = run(async {
        let service = ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
            Err::<http::Response<()>, _>(Refused)
        }));
        service.oneshot(request("GET", "/pay?card=4111")).await
    });
    assert!(result.is_err());
    let span = spans.one("GET");
    assert_kind(span, SpanKind::Server);
    assert_error(span, "backend refused");
    assert_eq!(attr_str(span, "error.type"), "http::Refused");
    assert_eq!(attr(span, "http.response.status_code"), None);
    assert_eq!(attr_str(span, "server.address"), "shop.example");
    assert_eq!(attr_i64(span, "server.port"), 8443);
    let exception = event(span, "exception");
    assert_eq!(
        event_attr(exception, "exception.message").map(|v| v.to_string()),
        Some("backend refused".to_owned())
    );
}

#[test]
fn a_dropped_request_ends_its_span() {
    use futures::FutureExt as _;
    use tower::{Layer as _, Service as _};
    let (_, spans) = run(async {
        let mut service = ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| {
            std::future::pending::<Result<http::Response<()>, Infallible>>()
        }));
        let future = service.call(request("DELETE", "/carts/1"));
        let mut future = std::pin::pin!(future);
        assert!(future.as_mut().now_or_never().is_none());
    });
    let span = spans.one("DELETE");
    assert_eq!(attr(span, "http.response.status_code"), None);
    assert_unset(span);
}

#[test]
fn a_route_on_the_request_names_the_span_and_unknown_methods_are_other() {
    use tower::{Layer as _, ServiceExt as _};
    let (_, spans) = run(async {
        let service = ServerLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(()))
        }));
        let mut routed = request("PUT", "/carts/9");
        routed.extensions_mut().insert(Route::new("/carts/{id}"));
        service.clone().oneshot(routed).await.unwrap();
        service
            .oneshot(request_to("BREW", "/pot", "shop.example"))
            .await
            .unwrap();
    });
    let routed = spans.one("PUT /carts/{id}");
    assert_eq!(attr_str(routed, "http.route"), "/carts/{id}");
    let brew = spans.one("HTTP");
    assert_eq!(attr_str(brew, "http.request.method"), "_OTHER");
    assert_eq!(attr_str(brew, "http.request.method_original"), "BREW");
    // The default port of the scheme when the Host header names none.
    assert_eq!(attr_str(brew, "server.address"), "shop.example");
    assert_eq!(attr_i64(brew, "server.port"), 80);
}

#[test]
fn without_telemetry_requests_go_through_untouched() {
    let body = without_telemetry(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                tokio::time::timeout(TIMEOUT, async {
                    let server = Server::start(users()).await;
                    let response = client()
                        .get(server.url("/users/3"))
                        .send_traced()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    response.text().await.unwrap()
                })
                .await
                .unwrap()
            })
    });
    assert_eq!(body, "user 3");
}
