//! The server side: a `tower` layer that gives every request a `SERVER` span.

use super::{HeaderExtractor, SpanOwner};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// A [`tower_layer::Layer`] that gives every HTTP request a `SERVER` span, for any
/// service of [`http`] 1.x requests: axum 0.8, hyper 1 (through hyper-util), tonic.
///
/// For each request the span
/// - takes its parent from the request's `traceparent` (and its baggage from
///   `baggage`) through the global propagator (the strict W3C one `init` installs):
///   a missing or malformed header starts a new trace;
/// - is named `{method} {http.route}` when the route is known, else `{method}`;
/// - records `http.request.method`, `url.path`, `url.scheme` (`http` unless the
///   request URI names one), `http.route` when known, `server.address` and
///   `server.port` (from the URI's authority, else the `Host` header),
///   `network.protocol.version` and `user_agent.original`; never another header,
///   never the query string;
/// - is current while the inner service runs, on every poll, so `#[traced]`
///   functions the handler calls are its children;
/// - ends when the response (its head) is ready, with `http.response.status_code`
///   and status Error for a 5xx (a 4xx is the client's error, not the server's), or
///   when the future is dropped; an error of the inner service gives status Error,
///   `error.type` and an `exception` event.
///
/// # The route
///
/// `http.route` is the matched route template (`/users/{id}`), never the path. It
/// comes from, in order:
/// 1. a [`Route`] in the request's extensions (inserted by an outer layer);
/// 2. with the `axum` feature, axum's `MatchedPath`, which axum 0.8 inserts before
///    the layers of `Router::layer` and `Router::route_layer` run. Use one of these:
///    a layer wrapped around the whole `Router` from outside runs before routing
///    and sees no route;
/// 3. a [`Route`] in the response's extensions (inserted by the handler or an inner
///    layer): the span is renamed when the response comes back.
///
/// With `Router::layer`, a request no route matches (the fallback, a 404) gets a span
/// named `{method}`; `Router::route_layer` leaves such requests without a span.
///
/// ```
/// # #[cfg(feature = "axum")] fn main() {
/// # use traced_runtime as traced;
/// use traced::http::ServerLayer;
///
/// async fn user() -> &'static str { "ada" }
///
/// let app: axum::Router = axum::Router::new()
///     .route("/users/{id}", axum::routing::get(user))
///     .layer(ServerLayer::new());
/// // axum::serve(listener, app).await: `GET /users/7` gives a span `GET /users/{id}`.
/// # let _ = app;
/// # }
/// # #[cfg(not(feature = "axum"))] fn main() {}
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerLayer {
    _private: (),
}

impl ServerLayer {
    /// The layer.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// let layer = traced::http::ServerLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> tower_layer::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService::new(inner)
    }
}

/// The service [`ServerLayer`] wraps around an inner service: see [`ServerLayer`].
/// As cheap to clone as the inner service.
///
/// ```
/// # use traced_runtime as traced;
/// # #[derive(Clone)] struct MyService;
/// let service = traced::http::ServerService::new(MyService);
/// let inner: &MyService = service.get_ref();
/// # let _ = inner;
/// ```
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
}

impl<S> ServerService<S> {
    /// Wraps `inner`, like [`ServerLayer`] does.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// # struct MyService;
    /// let service = traced::http::ServerService::new(MyService);
    /// # let _ = service;
    /// ```
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The inner service.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// # struct MyService;
    /// let service = traced::http::ServerService::new(MyService);
    /// let _inner: &MyService = service.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// # struct MyService;
    /// let mut service = traced::http::ServerService::new(MyService);
    /// let _inner: &mut MyService = service.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// # struct MyService;
    /// let service = traced::http::ServerService::new(MyService);
    /// let _inner: MyService = service.into_inner();
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for ServerService<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Error: fmt::Display,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> ResponseFuture<S::Future> {
        #[cfg(not(feature = "enabled"))]
        return ResponseFuture {
            inner: self.inner.call(request),
            span: SpanOwner(None),
            method: None,
            route_known: false,
        };
        #[cfg(feature = "enabled")]
        self.instrumented_call(request)
    }
}

impl<S> ServerService<S> {
    #[cfg(feature = "enabled")]
    fn instrumented_call<ReqBody, ResBody>(
        &mut self,
        request: http::Request<ReqBody>,
    ) -> ResponseFuture<S::Future>
    where
        S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    {
        let parent = crate::propagation::extract(&HeaderExtractor(request.headers()));
        let known = super::known_method(request.method());
        let route = route_of(&request);
        let name = super::span_name(known, route.as_deref());
        let cx = super::start_span(name, SpanKind::Server, &parent, || {
            attributes(&request, known, route.as_deref())
        });
        let cx = worth_carrying(&cx).then_some(cx);
        let inner = match &cx {
            Some(cx) => {
                let _entered = cx.clone().attach();
                self.inner.call(request)
            }
            None => self.inner.call(request),
        };
        ResponseFuture {
            inner,
            span: SpanOwner(cx),
            method: known,
            route_known: route.is_some(),
        }
    }
}

/// The route of a request, if something before this layer knows it.
fn route_of<B>(request: &http::Request<B>) -> Option<Cow<'static, str>> {
    if let Some(route) = request.extensions().get::<Route>() {
        return Some(route.0.clone());
    }
    #[cfg(feature = "axum")]
    if let Some(path) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Some(Cow::Owned(path.as_str().to_owned()));
    }
    None
}

/// The attributes a server span starts with.
fn attributes<B>(
    request: &http::Request<B>,
    known: Option<&'static str>,
    route: Option<&str>,
) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(10);
    super::method_attributes(&mut attributes, known, request.method());
    let uri = request.uri();
    let path = uri.path();
    if !path.is_empty() {
        attributes.push(KeyValue::new(semconv::URL_PATH, path.to_owned()));
    }
    let scheme = match uri.scheme_str() {
        Some("https") => Cow::Borrowed("https"),
        Some("http") | None => Cow::Borrowed("http"),
        Some(other) => Cow::Owned(other.to_owned()),
    };
    if let Some(route) = route {
        attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.to_owned()));
    }
    let host = uri.authority().map(|a| a.as_str()).or_else(|| {
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
    });
    if let Some((address, port)) = host.and_then(split_host) {
        attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, address.to_owned()));
        if let Some(port) = port.or_else(|| default_port(&scheme)) {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
    }
    attributes.push(KeyValue::new(semconv::URL_SCHEME, scheme));
    if let Some(version) = super::protocol_version(request.version()) {
        attributes.push(KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, version));
    }
    if let Some(agent) = request.headers().get(http::header::USER_AGENT) {
        let agent = String::from_utf8_lossy(agent.as_bytes()).into_owned();
        attributes.push(KeyValue::new(semconv::USER_AGENT_ORIGINAL, agent));
    }
    attributes
}

/// Splits `host[:port]` (a `Host` header or a URI authority) into the address
/// (IPv6 without brackets) and the port; `None` when it is not a valid authority
/// or carries user information.
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    let host = host.trim();
    if host.is_empty() || host.contains('@') || host.parse::<http::uri::Authority>().is_err() {
        return None;
    }
    let (address, rest) = match host.strip_prefix('[') {
        Some(v6) => {
            let end = v6.find(']')?;
            (&v6[..end], &v6[end + 1..])
        }
        None => match host.rfind(':') {
            Some(colon) => (&host[..colon], &host[colon..]),
            None => (host, ""),
        },
    };
    let port = match rest.strip_prefix(':') {
        Some("") => None,
        Some(port) => Some(port.parse().ok()?),
        None if rest.is_empty() => None,
        None => return None,
    };
    (!address.is_empty()).then_some((address, port))
}

/// The default port of a scheme, for `server.port` when the request names none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Whether a started span's context is worth carrying: a span that records or
/// propagates, or baggage.
fn worth_carrying(cx: &Context) -> bool {
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::TraceContextExt;
    let span = cx.span();
    span.is_recording() || span.span_context().is_valid() || !cx.baggage().is_empty()
}

/// The route template of a request (`/users/{id}`) for `http.route` and the span name
/// of [`ServerLayer`], when neither axum's `MatchedPath` (feature `axum`) nor the
/// framework gives it.
///
/// Insert it in the request's extensions before [`ServerLayer`] runs, or in the
/// response's extensions (the span is then renamed when the response is ready). Use
/// the template, never the concrete path: a path with ids makes a span name per id.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::http::Route;
///
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(Route::new("/users/{id}"));
/// assert_eq!(response.extensions().get::<Route>().unwrap().as_str(), "/users/{id}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route(Cow<'static, str>);

impl Route {
    /// A route template.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// let route = traced::http::Route::new("/users/{id}");
    /// let owned = traced::http::Route::new(format!("/{}/{{id}}", "orders"));
    /// # let _ = (route, owned);
    /// ```
    pub fn new(route: impl Into<Cow<'static, str>>) -> Self {
        Self(route.into())
    }

    /// The template.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// assert_eq!(traced::http::Route::new("/health").as_str(), "/health");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ServerService`]: runs the inner service's future with the
    /// request's span current, and ends the span when the response is ready or
    /// when it is dropped.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// fn assert_future<F: std::future::Future>() {}
    /// assert_future::<traced::http::ResponseFuture<std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>>>();
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: SpanOwner,
        method: Option<&'static str>,
        route_known: bool,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: fmt::Display,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let poll = match this.span.context() {
            Some(cx) => {
                let _entered = Context::attach(cx.clone());
                this.inner.poll(task)
            }
            None => this.inner.poll(task),
        };
        if let Poll::Ready(result) = &poll {
            let (method, route_known) = (*this.method, *this.route_known);
            this.span.finish(|span| match result {
                Ok(response) => {
                    let code = response.status().as_u16();
                    span.set_attribute(KeyValue::new(
                        semconv::HTTP_RESPONSE_STATUS_CODE,
                        i64::from(code),
                    ));
                    if !route_known {
                        if let Some(route) = response.extensions().get::<Route>() {
                            span.update_name(super::span_name(method, Some(route.as_str())));
                            span.set_attribute(KeyValue::new(
                                semconv::HTTP_ROUTE,
                                route.as_str().to_owned(),
                            ));
                        }
                    }
                    if !(100..500).contains(&code) {
                        super::record_error_status(span, code);
                    }
                }
                Err(error) => {
                    let ty = std::any::type_name::<E>();
                    super::record_exception(span, ty, Cow::Borrowed(ty), error.to_string());
                }
            });
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::split_host;

    #[test]
    fn hosts() {
        assert_eq!(split_host("example.com"), Some(("example.com", None)));
        assert_eq!(
            split_host("example.com:8080"),
            Some(("example.com", Some(8080)))
        );
        assert_eq!(
            split_host("127.0.0.1:3000"),
            Some(("127.0.0.1", Some(3000)))
        );
        assert_eq!(split_host("[::1]:3000"), Some(("::1", Some(3000))));
        assert_eq!(split_host("[::1]"), Some(("::1", None)));
        for bad in [
            "",
            " ",
            "user:pass@example.com",
            "example.com:99999",
            "example.com:port",
            "[::1",
            "[::1]x",
            "a b",
            ":80",
            "@",
            "\u{7f}",
        ] {
            assert_eq!(split_host(bad), None, "{bad:?}");
        }
    }
}
