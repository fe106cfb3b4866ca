//! The client side: a `CLIENT` span around a reqwest request.

use super::{HeaderInjector, SpanOwner};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest::RequestBuilder {}
}

/// Sends a reqwest request inside a `CLIENT` span that the server continues.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::http::RequestBuilderExt as _;
///
/// async fn stock(client: &reqwest::Client, sku: &str) -> reqwest::Result<bool> {
///     let url = format!("http://inventory.internal/stock/{sku}?token=kept-out-of-spans");
///     let response = client.get(url).send_traced().await?;
///     Ok(response.status().is_success())
/// }
/// # let _ = stock;
/// ```
pub trait RequestBuilderExt: sealed::Sealed {
    /// Sends the request like [`reqwest::RequestBuilder::send`], inside a `CLIENT` span.
    ///
    /// The span starts when the future is first polled, as a child of the context
    /// current then (the calling `#[traced]` function, say). It
    /// - is named `{method}` (`HTTP` for a method the conventions do not know);
    /// - records `http.request.method`, `server.address`, `server.port` (the URL's,
    ///   or the scheme's default) and `url.full` without the query string, the
    ///   fragment and the user information (they may hold secrets);
    /// - is written into the request's `traceparent` (and the context's baggage into
    ///   `baggage`) with the global propagator, replacing headers of those names;
    /// - is current while the request runs, and ends when the response head arrives
    ///   (with `http.response.status_code` and `network.protocol.version`), when
    ///   the request fails, or when the future is dropped.
    ///
    /// Status Error for a 4xx or 5xx response (`error.type` is the code) and for a
    /// transport error (`error.type` such as `timeout` or `connect`, and an
    /// `exception` event whose message leaves out the query string and user
    /// information of the URL). A request that cannot be built (an invalid URL,
    /// say) fails as with `send`, before any span starts.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use traced::http::RequestBuilderExt as _;
    ///
    /// async fn create_order(client: &reqwest::Client) -> reqwest::Result<reqwest::StatusCode> {
    ///     let response = client
    ///         .post("http://orders.internal/orders")
    ///         .header("content-type", "application/json")
    ///         .body(r#"{"sku":"apple"}"#)
    ///         .send_traced()
    ///         .await?;
    ///     Ok(response.status())
    /// }
    /// # let _ = create_order;
    /// ```
    fn send_traced(
        self,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    async fn send_traced(self) -> reqwest::Result<reqwest::Response> {
        #[cfg(not(feature = "enabled"))]
        return self.send().await;
        #[cfg(feature = "enabled")]
        self.instrumented_send().await
    }
}

#[cfg(feature = "enabled")]
trait Instrumented {
    async fn instrumented_send(self) -> reqwest::Result<reqwest::Response>;
}

#[cfg(feature = "enabled")]
impl Instrumented for reqwest::RequestBuilder {
    async fn instrumented_send(self) -> reqwest::Result<reqwest::Response> {
        let (client, request) = self.build_split();
        let mut request = request?;
        let known = super::known_method(request.method());
        let parent = Context::current();
        let cx = super::start_span(
            super::span_name(known, None),
            SpanKind::Client,
            &parent,
            || attributes(&request, known),
        );
        drop(parent);
        crate::propagation::inject_context(&cx, &mut HeaderInjector(request.headers_mut()));
        let mut span = SpanOwner(Some(cx.clone()));
        let result = WithContext {
            inner: client.execute(request),
            cx,
        }
        .await;
        span.finish(|span| match &result {
            Ok(response) => {
                let code = response.status().as_u16();
                span.set_attribute(KeyValue::new(
                    semconv::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(code),
                ));
                if let Some(version) = super::protocol_version(response.version()) {
                    span.set_attribute(KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, version));
                }
                if !(100..400).contains(&code) {
                    super::record_error_status(span, code);
                }
            }
            Err(error) => super::record_exception(
                span,
                "reqwest::Error",
                Cow::Borrowed(error_type(error)),
                message(error),
            ),
        });
        result
    }
}

/// The attributes a client span starts with.
fn attributes(request: &reqwest::Request, known: Option<&'static str>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(5);
    super::method_attributes(&mut attributes, known, request.method());
    let url = request.url();
    if let Some(host) = url.host_str() {
        let address = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, address.to_owned()));
    }
    if let Some(port) = url.port_or_known_default() {
        attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
    }
    attributes.push(KeyValue::new(semconv::URL_FULL, redact(url)));
    attributes
}

/// The URL without user information, query string and fragment.
fn redact(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    // Fails only for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.into()
}

/// `error.type` of a transport error: a short, low-cardinality identifier.
fn error_type(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_request() {
        "request"
    } else {
        "reqwest::Error"
    }
}

/// The error's message with its causes, the URL in it redacted like `url.full`.
fn message(error: &reqwest::Error) -> String {
    use std::fmt::Write as _;
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    match error.url() {
        Some(url) => message.replace(url.as_str(), &redact(url)),
        None => message,
    }
}

pin_project_lite::pin_project! {
    /// Polls `inner` with `cx` current.
    struct WithContext<F> {
        #[pin]
        inner: F,
        cx: Context,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.cx.clone().attach();
        this.inner.poll(task)
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_secrets() {
        for (url, expected) in [
            (
                "http://user:pw@example.com:8080/a/b?token=x#frag",
                "http://example.com:8080/a/b",
            ),
            ("https://example.com/?q=1", "https://example.com/"),
            ("http://[::1]:3000/p", "http://[::1]:3000/p"),
            ("http://user@example.com/", "http://example.com/"),
        ] {
            assert_eq!(redact(&url.parse().unwrap()), expected);
        }
    }
}
