use std::time::UNIX_EPOCH;

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{Event, Link, SpanContext, TraceFlags, TraceState};
use opentelemetry::{Array, InstrumentationScope, Value};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

use super::super::console_logs::ConsoleLogExporter;
use super::super::text::test_support::{complete, Broken, Buffer};

use super::*;

const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

fn exporter(color: bool) -> (ConsoleExporter, Buffer) {
    let buffer = Buffer::default();
    let mut exporter = ConsoleExporter::with_writer(buffer.clone(), color);
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name("shop-api")
            .build(),
    );
    (exporter, buffer)
}

/// Runs an export; the exporter never waits, so one poll completes it.
fn export(exporter: &ConsoleExporter, batch: Vec<SpanData>) -> OTelSdkResult {
    complete(exporter.export(batch))
}

/// Runs an export that arrives at `now`.
fn export_at(exporter: &ConsoleExporter, batch: Vec<SpanData>, now: Instant) -> OTelSdkResult {
    exporter.export_at(&mut exporter.lock(), batch, now)
}

/// `start` plus `millis`.
fn later(start: Instant, millis: u64) -> Instant {
    start + Duration::from_millis(millis)
}

/// A fixed instant plus `nanos`.
fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_nanos(nanos)
}

fn context(trace: u128, span: u64) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

/// An internal span without attributes; times in microseconds.
fn span(trace: u128, id: u64, parent: u64, name: &'static str, start: u64, end: u64) -> SpanData {
    SpanData {
        span_context: context(trace, id),
        parent_span_id: SpanId::from(parent),
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: name.into(),
        start_time: at(start * 1_000),
        end_time: at(end * 1_000),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::default(),
    }
}

/// An HTTP request whose first database query fails and is retried, in
/// the order the spans end.
fn realistic_trace() -> Vec<SpanData> {
    let mut query = span(TRACE, 3, 2, "SELECT orders", 400, 4_960);
    query.span_kind = SpanKind::Client;
    query.attributes = vec![
        KeyValue::new("db.system.name", "postgresql"),
        KeyValue::new(
            "db.query.text",
            "SELECT id, customer_id, status, total_cents, created_at, updated_at \
             FROM orders WHERE id = $1 AND deleted_at IS NULL",
        ),
        KeyValue::new("server.address", "db.internal"),
        KeyValue::new("server.port", 5432),
    ];
    query.status = Status::error("connection reset by peer");
    query.events.events.push(Event::new(
        "exception",
        at(4_950_000),
        vec![
            KeyValue::new("exception.type", "std::io::Error"),
            KeyValue::new("exception.message", "connection reset by peer"),
        ],
        0,
    ));

    let mut retry = span(TRACE, 4, 2, "SELECT orders", 5_100, 9_650);
    retry.span_kind = SpanKind::Client;
    retry.attributes = vec![
        KeyValue::new("db.system.name", "postgresql"),
        KeyValue::new("retry.attempt", 2),
    ];

    let mut load = span(TRACE, 2, 1, "load_order", 150, 9_800);
    load.attributes = vec![
        KeyValue::new("code.function.name", "shop::orders::load_order"),
        KeyValue::new("code.file.path", "src/orders.rs"),
        KeyValue::new("code.line.number", 42),
        KeyValue::new("order.id", 42),
        KeyValue::new("cache.hit", false),
    ];

    let mut render = span(TRACE, 5, 1, "render_response", 9_900, 12_300);
    render.attributes = vec![
        KeyValue::new("template", "order.html"),
        KeyValue::new(
            "content.encodings",
            Value::Array(Array::String(vec!["gzip".into(), "br".into()])),
        ),
    ];
    render.links.links.push(Link::new(
        context(
            0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
            0xb7ad_6b71_6920_3331,
        ),
        vec![KeyValue::new("link.reason", "batched render")],
        0,
    ));

    let mut audit = span(TRACE, 6, 1, "audit.publish", 12_310, 12_310);
    audit.span_kind = SpanKind::Producer;
    audit.end_time += Duration::from_nanos(850);

    let mut root = span(TRACE, 1, 0, "GET /orders/{id}", 0, 12_400);
    root.span_kind = SpanKind::Server;
    root.attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", "/orders/42"),
        KeyValue::new("http.route", "/orders/{id}"),
        KeyValue::new("http.response.status_code", 200),
        KeyValue::new("client.address", "203.0.113.7"),
    ];
    root.status = Status::Ok;

    vec![query, retry, load, render, audit, root]
}

#[test]
fn renders_a_realistic_trace() {
    let (exporter, buffer) = exporter(false);
    export(&exporter, realistic_trace()).unwrap();
    let output = buffer.take();
    insta::assert_snapshot!("realistic_trace", output);
}

#[test]
fn spans_split_across_exports_render_as_one_tree() {
    let (exporter, buffer) = exporter(false);
    let mut spans = realistic_trace();
    let rest = spans.split_off(3);

    export(&exporter, spans).unwrap();
    assert_eq!(buffer.take(), "", "nothing is printed before the root ends");
    export(&exporter, rest).unwrap();
    let split = buffer.take();

    assert!(exporter.lock().pending.traces.is_empty());

    let (whole, buffer) = self::exporter(false);
    export(&whole, realistic_trace()).unwrap();
    assert_eq!(split, buffer.take());
}

#[test]
fn no_escape_sequences_without_color() {
    let (exporter, buffer) = exporter(false);
    let mut spans = realistic_trace();
    spans[0].name = "evil \x1b[31m name".into();
    export(&exporter, spans).unwrap();
    let output = buffer.take();
    assert!(output.contains("evil \\u{1b}[31m name"), "{output}");
    assert!(!output.contains('\x1b'));
}

#[test]
fn escape_sequences_with_color() {
    let (exporter, buffer) = exporter(true);
    export(&exporter, realistic_trace()).unwrap();
    let output = buffer.take();
    assert!(output.contains("\x1b[1mload_order\x1b[0m"), "{output}");
    assert!(output.contains("\x1b[1;31m✗ ERROR: connection reset by peer\x1b[0m"));
}

#[test]
fn force_flush_prints_orphans() {
    let (exporter, buffer) = exporter(false);
    let mut spans = realistic_trace();
    spans.pop(); // The root never ends.
    export(&exporter, spans).unwrap();
    assert_eq!(buffer.take(), "");

    exporter.force_flush().unwrap();
    let output = buffer.take();
    assert!(output.contains("(parent 0000000000000001 not seen)"));
    insta::assert_snapshot!("orphans", output);
    assert!(exporter.lock().pending.traces.is_empty());

    exporter.force_flush().unwrap();
    assert_eq!(buffer.take(), "", "a trace is printed once");
}

#[test]
fn pending_spans_are_bounded() {
    let (exporter, buffer) = exporter(false);
    // Many traces, each with one span whose parent never ends.
    let batch = (0..1500u64)
        .map(|i| span(u128::from(i) + 1, 2, 1, "orphan", 0, 10))
        .collect();
    export(&exporter, batch).unwrap();
    assert_eq!(exporter.lock().pending.traces.len(), MAX_PENDING_TRACES);
    let output = buffer.take();
    assert_eq!(output.matches("trace ").count(), 1500 - MAX_PENDING_TRACES);
    assert!(output.contains("trace 00000000000000000000000000000001 "));

    // Few traces with many spans each.
    for trace in 0..30u64 {
        let batch = (0..500u64)
            .map(|i| span(u128::from(trace) + 10_000, i + 2, 1, "orphan", 0, 10))
            .collect();
        export(&exporter, batch).unwrap();
        let state = exporter.lock();
        assert!(state.pending.span_count <= MAX_PENDING_SPANS);
        assert!(state.pending.traces.len() <= MAX_PENDING_TRACES);
        let counted: usize = state.pending.traces.values().map(|t| t.spans.len()).sum();
        assert_eq!(counted, state.pending.span_count);
        assert_eq!(state.pending.arrival.len(), state.pending.traces.len());
    }

    exporter.shutdown().unwrap();
    assert_eq!(exporter.lock().pending.span_count, 0);
}

#[test]
fn a_child_ending_after_its_root_is_printed_at_once() {
    let (exporter, buffer) = exporter(false);
    export(&exporter, vec![span(TRACE, 1, 0, "handler", 0, 100)]).unwrap();
    buffer.take();

    export(&exporter, vec![span(TRACE, 2, 1, "background", 50, 400)]).unwrap();
    let output = buffer.take();
    assert!(output.contains("background"), "{output}");
    assert!(output.contains("(parent 0000000000000001 printed earlier)"));
    assert!(!output.contains("incomplete"));
}

#[test]
fn each_local_root_takes_only_its_own_descendants() {
    // The same trace enters this process twice through remote parents.
    let (exporter, buffer) = exporter(false);
    let mut first = span(TRACE, 1, 0xaa, "first request", 0, 100);
    first.parent_span_is_remote = true;
    let mut second = span(TRACE, 2, 0xbb, "second request", 50, 300);
    second.parent_span_is_remote = true;
    let first_child = span(TRACE, 3, 1, "first child", 10, 90);
    let second_child = span(TRACE, 4, 2, "second child", 60, 200);

    let start = Instant::now();
    export_at(&exporter, vec![first_child, second_child, first], start).unwrap();
    assert_eq!(buffer.take(), "", "the remote parent may still come");
    export_at(&exporter, vec![second], later(start, 500)).unwrap();
    assert_eq!(buffer.take(), "");

    export_at(&exporter, Vec::new(), later(start, 1_000)).unwrap();
    let output = buffer.take();
    assert!(output.contains("first child"));
    assert!(output.contains("(remote parent 00000000000000aa)"));
    assert!(!output.contains("second child"), "{output}");
    assert!(!output.contains("incomplete"), "{output}");

    export_at(&exporter, Vec::new(), later(start, 1_500)).unwrap();
    let output = buffer.take();
    assert!(output.contains("second child"), "{output}");
    assert!(output.contains("(remote parent 00000000000000bb)"));
    assert!(exporter.lock().pending.traces.is_empty());
    assert!(exporter.lock().pending.remote.is_empty());
}

/// A client span of this process, a local root, and the span of a server
/// of the same process that it called, whose parent is therefore remote;
/// in the order they end.
fn client_and_server() -> Vec<SpanData> {
    let mut lookup = span(TRACE, 3, 2, "lookup_price", 310, 820);
    lookup.attributes = vec![
        KeyValue::new("code.file.path", "src/prices.rs"),
        KeyValue::new("code.line.number", 17),
        KeyValue::new("sku", "apple"),
    ];

    let mut server = span(TRACE, 2, 1, "GET /price/{sku}", 240, 900);
    server.parent_span_is_remote = true;
    server.span_kind = SpanKind::Server;
    server.attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", "/price/apple"),
        KeyValue::new("http.route", "/price/{sku}"),
        KeyValue::new("http.response.status_code", 200),
    ];

    let mut client = span(TRACE, 1, 0, "GET", 0, 1_150);
    client.span_kind = SpanKind::Client;
    client.attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.full", "http://127.0.0.1:8080/price/apple"),
        KeyValue::new("http.response.status_code", 200),
    ];

    vec![lookup, server, client]
}

#[test]
fn a_server_span_nests_under_its_client_span_from_the_same_batch() {
    let (exporter, buffer) = exporter(false);
    export_at(&exporter, client_and_server(), Instant::now()).unwrap();
    let output = buffer.take();
    assert_eq!(output.matches("trace ").count(), 1, "{output}");
    assert!(!output.contains("remote parent"), "{output}");
    insta::assert_snapshot!("client_and_server", output);

    let state = exporter.lock();
    assert!(state.pending.traces.is_empty());
    assert!(state.pending.remote.is_empty());
}

#[test]
fn a_server_span_waits_for_its_client_span_from_a_later_batch() {
    let (whole, buffer) = exporter(false);
    export_at(&whole, client_and_server(), Instant::now()).unwrap();
    let expected = buffer.take();

    // The client span arrives before the wait is over, or with the export
    // that ends it: either way it is in time.
    for delay in [10, 1_000, 5_000] {
        let (exporter, buffer) = exporter(false);
        let mut spans = client_and_server();
        let client = spans.pop().unwrap();
        let start = Instant::now();
        export_at(&exporter, spans, start).unwrap();
        assert_eq!(buffer.take(), "", "the server span waits");
        export_at(&exporter, Vec::new(), later(start, 5)).unwrap();
        assert_eq!(buffer.take(), "", "still waiting");

        export_at(&exporter, vec![client], later(start, delay)).unwrap();
        assert_eq!(buffer.take(), expected, "after {delay}ms");
        let state = exporter.lock();
        assert!(state.pending.traces.is_empty());
        assert!(state.pending.remote.is_empty());
    }
}

#[test]
fn a_server_span_waits_as_long_as_its_client_span_is_held() {
    let (exporter, buffer) = exporter(false);
    let mut spans = client_and_server();
    let mut client = spans.pop().unwrap();
    client.parent_span_id = SpanId::from(9);
    let root = span(TRACE, 9, 0, "checkout", 0, 2_000);

    let start = Instant::now();
    export_at(&exporter, spans, start).unwrap();
    export_at(&exporter, vec![client], later(start, 10)).unwrap();
    export_at(&exporter, Vec::new(), later(start, 2_000)).unwrap();
    assert_eq!(
        buffer.take(),
        "",
        "the client span is held, so is its server"
    );
    assert!(
        exporter.lock().pending.remote.is_empty(),
        "its wait is over"
    );

    export_at(&exporter, vec![root], later(start, 3_000)).unwrap();
    let output = buffer.take();
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(output.matches("trace ").count(), 1, "{output}");
    assert!(!lines[0].contains("incomplete"), "{output}");
    assert!(lines[1].starts_with("checkout "), "{output}");
    assert!(lines[2].starts_with("└─ GET client "), "{output}");
    insta::assert_snapshot!("client_and_server_under_a_root", output);
    assert!(!output.contains("remote parent"), "{output}");
    assert!(exporter.lock().pending.traces.is_empty());
}

/// [`client_and_server`] without the client: its server was called by
/// another process.
fn server_called_from_elsewhere() -> Vec<SpanData> {
    let mut spans = client_and_server();
    spans.pop();
    spans[1].parent_span_id = SpanId::from(0xaa);
    spans
}

#[test]
fn a_remote_parent_that_never_comes_prints_at_the_next_export_after_the_wait() {
    let (exporter, buffer) = exporter(false);
    let start = Instant::now();
    export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
    export_at(&exporter, Vec::new(), later(start, 999)).unwrap();
    assert_eq!(buffer.take(), "");

    let other = span(TRACE + 1, 1, 0, "other", 0, 10);
    export_at(&exporter, vec![other], later(start, 1_000)).unwrap();
    let output = buffer.take();
    let blocks: Vec<&str> = output.split_terminator("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{output}");
    let lines: Vec<&str> = blocks[0].lines().collect();
    assert!(lines[0].starts_with("trace 4bf92f35"), "{output}");
    assert!(!lines[0].contains("incomplete"), "{output}");
    assert!(lines[1].starts_with("GET /price/{sku} server "), "{output}");
    assert_eq!(lines[2], "│ (remote parent 00000000000000aa)");
    assert!(blocks[0].contains("└─ lookup_price "), "{output}");
    assert!(blocks[1].contains("other"), "{output}");

    let state = exporter.lock();
    assert!(state.pending.traces.is_empty());
    assert!(state.pending.remote.is_empty());
    assert_eq!(state.pending.span_count, 0);
}

#[test]
fn a_remote_parent_that_never_comes_prints_at_shutdown_and_flush() {
    // Printed the way it was printed before remote parents were awaited.
    let (exporter, buffer) = exporter(false);
    let start = Instant::now();
    export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
    export_at(&exporter, Vec::new(), later(start, 1_000)).unwrap();
    let after_wait = buffer.take();
    assert!(after_wait.contains("(remote parent 00000000000000aa)"));

    let (exporter, buffer) = self::exporter(false);
    export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
    exporter.force_flush().unwrap();
    assert_eq!(buffer.take(), after_wait);
    exporter.force_flush().unwrap();
    assert_eq!(buffer.take(), "", "printed once");

    let (exporter, buffer) = self::exporter(false);
    export_at(&exporter, server_called_from_elsewhere(), start).unwrap();
    exporter.shutdown().unwrap();
    assert_eq!(buffer.take(), after_wait);
}

#[test]
fn spans_entering_twice_print_as_blocks_of_their_own_at_shutdown() {
    let (exporter, buffer) = exporter(false);
    let mut first = span(TRACE, 1, 0xaa, "first request", 0, 100);
    first.parent_span_is_remote = true;
    let mut second = span(TRACE, 2, 0xbb, "second request", 50, 300);
    second.parent_span_is_remote = true;
    let orphan = span(TRACE, 5, 7, "orphan", 60, 70);
    let start = Instant::now();
    export_at(&exporter, vec![orphan, second, first], start).unwrap();
    exporter.shutdown().unwrap();

    let output = buffer.take();
    let blocks: Vec<&str> = output.split_terminator("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{output}");
    assert!(blocks[0].contains("\nsecond request "), "{output}");
    assert!(blocks[1].contains("\nfirst request "), "{output}");
    assert!(blocks[2].contains(" · incomplete\norphan "), "{output}");
}

#[test]
fn a_server_span_whose_client_span_was_printed_prints_at_once() {
    let (exporter, buffer) = exporter(false);
    let mut spans = client_and_server();
    let client = spans.pop().unwrap();
    let start = Instant::now();
    export_at(&exporter, vec![client], start).unwrap();
    buffer.take();

    export_at(&exporter, spans, start).unwrap();
    let output = buffer.take();
    assert!(output.contains("GET /price/{sku} server"), "{output}");
    assert!(output.contains("(parent 0000000000000001 printed earlier)"));
    assert!(exporter.lock().pending.traces.is_empty());
}

#[test]
fn remote_waits_are_bounded() {
    let (exporter, buffer) = exporter(false);
    let start = Instant::now();
    let batch = (0..1500u64)
        .map(|i| {
            let mut server = span(u128::from(i) + 1, 2, 1, "server", 0, 10);
            server.parent_span_is_remote = true;
            server
        })
        .collect();
    export_at(&exporter, batch, start).unwrap();
    {
        let state = exporter.lock();
        assert_eq!(state.pending.traces.len(), MAX_PENDING_TRACES);
        assert_eq!(state.pending.remote.len(), MAX_PENDING_TRACES);
    }
    let output = buffer.take();
    assert_eq!(output.matches("trace ").count(), 1500 - MAX_PENDING_TRACES);
    assert_eq!(
        output.matches("(remote parent 0000000000000001)").count(),
        1500 - MAX_PENDING_TRACES
    );

    export_at(&exporter, Vec::new(), later(start, 1_000)).unwrap();
    assert_eq!(buffer.take().matches("trace ").count(), MAX_PENDING_TRACES);
    let state = exporter.lock();
    assert!(state.pending.traces.is_empty());
    assert!(state.pending.arrival.is_empty());
    assert!(state.pending.remote.is_empty());
    assert_eq!(state.pending.span_count, 0);
}

#[test]
fn shutdown_flushes_then_refuses_exports() {
    let (exporter, buffer) = exporter(false);
    export(&exporter, vec![span(TRACE, 2, 1, "child", 0, 10)]).unwrap();
    exporter.shutdown().unwrap();
    assert!(buffer.take().contains("child"));
    assert!(matches!(
        export(&exporter, vec![span(TRACE, 1, 0, "root", 0, 10)]),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(matches!(
        exporter.shutdown(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
}

#[test]
fn write_errors_are_returned() {
    let exporter = ConsoleExporter::with_writer(Broken, false);
    let result = export(&exporter, vec![span(TRACE, 1, 0, "root", 0, 10)]);
    assert!(matches!(result, Err(OTelSdkError::InternalFailure(_))));
}

#[test]
fn works_as_the_exporter_of_a_tracer_provider() {
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    let buffer = Buffer::default();
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder_empty().with_service_name("demo").build())
        .with_simple_exporter(ConsoleExporter::with_writer(buffer.clone(), false))
        .build();
    let tracer = provider.tracer("test");
    tracer.in_span("outer", |cx| {
        tracer.in_span("inner", |_| {});
        cx.span().set_attribute(KeyValue::new("answer", 42));
    });
    provider.shutdown().unwrap();

    let output = buffer.take();
    let lines: Vec<&str> = output.lines().collect();
    assert!(
        lines[0].starts_with("trace ") && lines[0].contains(" · demo · "),
        "{output}"
    );
    assert!(lines[1].starts_with("outer "), "{output}");
    assert_eq!(lines[2], "│ answer=42");
    assert!(lines[3].starts_with("└─ inner "), "{output}");
}

/// Log records through a real logger provider into a log exporter with a
/// trace view shared with a span exporter.
struct Logging {
    provider: SdkLoggerProvider,
    logger: SdkLogger,
    /// What the log exporter printed at once.
    lines: Buffer,
    logs: TraceLogs,
}

impl Logging {
    fn new() -> Self {
        let lines = Buffer::default();
        let logs = TraceLogs::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(
                ConsoleLogExporter::with_writer(lines.clone(), false).with_trace_view(logs.clone()),
            )
            .build();
        let logger = provider.logger("shop");
        Self {
            provider,
            logger,
            lines,
            logs,
        }
    }

    /// Emits a record written in span `span` of [`TRACE`], at `micros`.
    fn log(
        &self,
        span: u64,
        micros: u64,
        severity: Severity,
        target: &'static str,
        body: &str,
        attributes: &[(&'static str, AnyValue)],
    ) {
        let mut record = self.logger.create_log_record();
        record.set_timestamp(at(micros * 1_000));
        record.set_severity_number(severity);
        record.set_target(target);
        record.set_body(AnyValue::from(body.to_owned()));
        for (key, value) in attributes {
            record.add_attribute(*key, value.clone());
        }
        record.set_trace_context(
            TraceId::from(TRACE),
            SpanId::from(span),
            Some(TraceFlags::SAMPLED),
        );
        self.logger.emit(record);
    }

    /// Records under `load_order` (2) and the failed `SELECT orders` (3)
    /// of [`realistic_trace`], around the query's exception event.
    fn log_realistic(&self) {
        self.log(
            2,
            160,
            Severity::Info,
            "shop::orders",
            "loading order",
            &[("order.id", 42.into())],
        );
        self.log(3, 420, Severity::Debug, "shop::db", "query sent", &[]);
        self.log(
            3,
            4_955,
            Severity::Error,
            "shop::db",
            "query failed:\nconnection reset by peer",
            &[("error.kind", "io".into()), ("retryable", true.into())],
        );
        self.log(
            2,
            5_000,
            Severity::Warn,
            "shop::orders",
            "retrying the query",
            &[("retry.attempt", 2.into())],
        );
        self.log(
            2,
            9_700,
            Severity::Trace,
            "shop::orders",
            "order loaded",
            &[],
        );
    }
}

fn logged_exporter(color: bool, logging: &Logging) -> (ConsoleExporter, Buffer) {
    let (exporter, buffer) = exporter(color);
    (exporter.with_logs(logging.logs.clone()), buffer)
}

#[test]
fn renders_logs_under_their_spans() {
    let logging = Logging::new();
    let (exporter, buffer) = logged_exporter(false, &logging);
    logging.log_realistic();
    let lines = logging.lines.take();
    assert_eq!(
        lines.lines().count(),
        5,
        "printed as they are written: {lines}"
    );
    assert!(
        lines.starts_with("INFO  shop::orders: loading order order.id=42 trace="),
        "{lines}"
    );

    export(&exporter, realistic_trace()).unwrap();
    let output = buffer.take();
    assert!(!output.contains('\x1b'));
    insta::assert_snapshot!("logs_under_spans", output);

    assert_eq!(logging.logs.held_count(), 0, "all records were drawn");
    exporter.shutdown().unwrap();
    logging.provider.shutdown().unwrap();
    assert_eq!(buffer.take(), "");
    assert_eq!(logging.lines.take(), "");
}

#[test]
fn with_logs_but_without_records_output_is_unchanged() {
    let logging = Logging::new();
    let (exporter, buffer) = logged_exporter(false, &logging);
    export(&exporter, realistic_trace()).unwrap();
    let (plain, plain_buffer) = self::exporter(false);
    export(&plain, realistic_trace()).unwrap();
    assert_eq!(buffer.take(), plain_buffer.take());
}

#[test]
fn log_levels_are_coloured() {
    let logging = Logging::new();
    let (exporter, buffer) = logged_exporter(true, &logging);
    logging.log_realistic();
    logging.log(1, 100, Severity::Info, "shop", "request \x1b[2J in", &[]);
    export(&exporter, realistic_trace()).unwrap();
    let output = buffer.take();
    for expected in [
        "\x1b[2mTRACE\x1b[0m",
        "\x1b[34mDEBUG\x1b[0m",
        "\x1b[32mINFO\x1b[0m",
        "\x1b[33mWARN\x1b[0m",
        "\x1b[31mERROR\x1b[0m",
        "\x1b[2m▸ \x1b[0m\x1b[2m+100µs\x1b[0m",
        "request \\u{1b}[2J in",
    ] {
        assert!(output.contains(expected), "{expected:?} in {output}");
    }
}

#[test]
fn records_of_spans_printed_at_flush_are_drawn_then() {
    let logging = Logging::new();
    let (exporter, buffer) = logged_exporter(false, &logging);
    // Span 2's root never ends; span 9 is never exported here.
    logging.log(9, 10, Severity::Info, "shop", "elsewhere", &[]);
    logging.log(2, 20, Severity::Warn, "shop", "in the orphan", &[]);
    assert_eq!(logging.lines.take().lines().count(), 2);
    export(&exporter, vec![span(TRACE, 2, 1, "orphan", 0, 100)]).unwrap();
    assert_eq!(buffer.take(), "");

    exporter.force_flush().unwrap();
    let output = buffer.take();
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines[0].ends_with(" · incomplete"), "{output}");
    assert!(
        output.contains("\n  ▸ +20.0µs WARN shop: in the orphan\n"),
        "{output}"
    );
    assert!(
        !output.contains("elsewhere"),
        "printed once, as a line: {output}"
    );
    exporter.force_flush().unwrap();
    assert_eq!(buffer.take(), "");
    assert_eq!(logging.logs.held_count(), 1, "span 9 may still print");
}

#[test]
fn shutdown_prints_no_record_again() {
    // The SDK's order: the logger provider shuts down first.
    let logging = Logging::new();
    let (exporter, buffer) = logged_exporter(false, &logging);
    logging.log(9, 10, Severity::Info, "shop", "elsewhere", &[]);
    assert!(logging
        .lines
        .take()
        .starts_with("INFO  shop: elsewhere trace="));
    logging.provider.shutdown().unwrap();
    assert_eq!(logging.lines.take(), "");
    exporter.shutdown().unwrap();
    assert_eq!(buffer.take(), "");
    assert_eq!(logging.logs.held_count(), 0, "forgotten with the last view");
}

#[test]
fn records_after_the_span_exporter_shut_down_are_not_kept() {
    let logging = Logging::new();
    let (exporter, buffer) = logged_exporter(false, &logging);
    exporter.shutdown().unwrap();
    logging.log(9, 20, Severity::Info, "shop", "after", &[]);
    assert!(logging.lines.take().starts_with("INFO  shop: after trace="));
    assert_eq!(logging.logs.held_count(), 0);
    logging.provider.shutdown().unwrap();
    assert_eq!(logging.lines.take(), "");
    assert_eq!(buffer.take(), "");
}

#[test]
fn a_dropped_span_exporter_leaves_nothing_kept() {
    let logging = Logging::new();
    let (exporter, _buffer) = logged_exporter(false, &logging);
    logging.log(9, 10, Severity::Info, "shop", "held", &[]);
    assert_eq!(logging.logs.held_count(), 1);
    drop(exporter);
    assert_eq!(logging.logs.held_count(), 0);
    assert!(logging.lines.take().starts_with("INFO  shop: held trace="));
}

#[test]
fn works_with_real_providers() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    let logging = Logging::new();
    let buffer = Buffer::default();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(
            ConsoleExporter::with_writer(buffer.clone(), false).with_logs(logging.logs.clone()),
        )
        .build();
    let tracer = tracer_provider.tracer("test");
    tracer.in_span("outer", |_| {
        tracer.in_span("inner", |_| {
            let mut record = logging.logger.create_log_record();
            record.set_severity_number(Severity::Info);
            record.set_target("shop::cart");
            record.set_body("checking out 3 items".into());
            record.add_attribute("items", 3);
            logging.logger.emit(record);
            // On stderr while the span still runs.
            let line = logging.lines.take();
            assert!(
                line.starts_with("INFO  shop::cart: checking out 3 items items=3 trace="),
                "{line}"
            );
            assert_eq!(buffer.take(), "");
        });
    });
    let mut record = logging.logger.create_log_record();
    record.set_body("outside".into());
    logging.logger.emit(record);

    logging.provider.shutdown().unwrap();
    tracer_provider.shutdown().unwrap();

    assert_eq!(logging.lines.take(), "INFO  outside\n");
    let output = buffer.take();
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines[1].starts_with("outer "), "{output}");
    assert!(lines[2].starts_with("└─ inner "), "{output}");
    assert!(lines[3].starts_with("     ▸ +"), "{output}");
    assert!(
        lines[3].ends_with(" INFO shop::cart: checking out 3 items items=3"),
        "{output}"
    );
}

#[test]
fn durations_keep_three_significant_digits() {
    let cases = [
        (Duration::ZERO, "0ns"),
        (Duration::from_nanos(850), "850ns"),
        (Duration::from_nanos(12_345), "12.3µs"),
        (Duration::from_nanos(999_499), "999µs"),
        (Duration::from_nanos(999_999), "1.00ms"),
        (Duration::from_micros(4_560), "4.56ms"),
        (Duration::from_millis(1_234), "1.23s"),
        (Duration::from_millis(59_990), "1m00s"),
        (Duration::from_secs(125), "2m05s"),
        (Duration::from_secs(3_720), "1h02m"),
    ];
    for (duration, expected) in cases {
        assert_eq!(fmt_duration(duration), expected);
    }
}

#[test]
fn bars_share_one_axis() {
    let axis = Axis {
        start: at(0),
        total_ns: 1_000,
    };
    let cells = |start, end| {
        let mut span = span(TRACE, 1, 0, "s", 0, 0);
        span.start_time = at(start);
        span.end_time = at(end);
        axis.cells(&span)
    };
    assert_eq!(cells(0, 1_000), (0, BAR_WIDTH));
    assert_eq!(cells(500, 1_000), (BAR_WIDTH / 2, BAR_WIDTH / 2));
    assert_eq!(
        cells(1_000, 1_000),
        (BAR_WIDTH - 1, 1),
        "zero length still shows"
    );
    assert_eq!(cells(0, 1), (0, 1));
}

#[test]
fn long_values_are_cut() {
    let long = "x".repeat(200);
    let shown = fmt_value(&Value::from(long));
    assert_eq!(shown.chars().count(), MAX_VALUE_CHARS + 2);
    assert!(shown.ends_with("x…\""));
    assert_eq!(fmt_value(&Value::from("a \"b\"\n")), r#""a \"b\"\n""#);
}

/// A tracer provider whose spans reach a [`ConsoleSpanProcessor`].
fn live_provider() -> (opentelemetry_sdk::trace::SdkTracerProvider, Buffer) {
    let buffer = Buffer::default();
    let exporter = ConsoleExporter::with_writer(buffer.clone(), false);
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(ConsoleSpanProcessor::new(exporter))
        .build();
    (provider, buffer)
}

/// The names of the spans a printed trace shows, in order.
fn printed_names(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| line.contains('━'))
        .map(|line| {
            let name = line.trim_start_matches(['│', '├', '└', '─', ' ']);
            name.split("  ").next().unwrap_or("").to_owned()
        })
        .collect()
}

/// Waits up to 10 s for `buffer` to hold something.
fn wait_for_output(buffer: &Buffer) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = buffer.take();
        if !output.is_empty() || Instant::now() > deadline {
            return output;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn live_a_trace_prints_when_its_root_ends() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    tracer.in_span("checkout", |_| {
        tracer.in_span("price", |_| {});
        assert_eq!(buffer.take(), "", "held back until the root ends");
    });
    let output = buffer.take();
    assert!(output.starts_with("trace "), "printed at once: {output}");
    assert!(!output.contains("incomplete"), "{output}");
    assert_eq!(printed_names(&output), ["checkout", "price"], "{output}");
    provider.shutdown().unwrap();
    assert_eq!(buffer.take(), "");
}

#[test]
fn live_a_root_waits_for_the_children_still_running() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    let root = tracer.start("GET /orders");
    let cx = Context::current_with_span(root);
    let spawned = cx.with_span(tracer.start_with_context("audit.publish", &cx));
    let grandchild = tracer.start_with_context("encode", &spawned);
    cx.span().end();
    assert_eq!(buffer.take(), "", "two spans below the root still run");
    drop(grandchild);
    assert_eq!(buffer.take(), "", "one still runs");
    spawned.span().end();
    let output = buffer.take();
    assert!(!output.contains("incomplete"), "{output}");
    assert_eq!(
        printed_names(&output),
        ["GET /orders", "audit.publish", "encode"],
        "one tree: {output}"
    );
    provider.shutdown().unwrap();
}

#[test]
fn live_the_wait_for_late_children_is_bounded() {
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    let root = tracer.start("GET /slow");
    let cx = Context::current_with_span(root);
    tracer.start_with_context("done", &cx).end();
    let mut hanging = tracer.start_with_context("hanging", &cx);
    let ended = Instant::now();
    cx.span().end();
    assert_eq!(buffer.take(), "");

    // The timer prints it, with nothing else ending meanwhile.
    let output = wait_for_output(&buffer);
    let waited = ended.elapsed();
    assert!(
        // With room for a loaded machine: the wait is bounded, not exact.
        waited >= LATE_CHILDREN_WAIT && waited < LATE_CHILDREN_WAIT + Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(printed_names(&output), ["GET /slow", "done"], "{output}");

    // The late child prints on its own when it ends.
    hanging.end();
    let late = buffer.take();
    assert!(late.contains("(parent "), "{late}");
    assert!(late.contains(" printed earlier)"), "{late}");
    assert_eq!(printed_names(&late)[0], "hanging", "{late}");
    provider.shutdown().unwrap();
}

#[test]
fn live_shutdown_prints_a_waiting_root_at_once() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    let root = tracer.start("main");
    let cx = Context::current_with_span(root);
    let _running = tracer.start_with_context("worker", &cx);
    cx.span().end();
    let started = Instant::now();
    provider.shutdown().unwrap();
    assert!(
        started.elapsed() < LATE_CHILDREN_WAIT,
        "no wait at shutdown"
    );
    let output = buffer.take();
    assert_eq!(printed_names(&output), ["main"], "{output}");
}

#[test]
fn live_a_server_span_called_from_elsewhere_prints_at_once() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    let caller = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(TRACE),
        SpanId::from(0x77),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    tracer.in_span_with_context("GET /stock", &caller, |_| {});
    let output = buffer.take();
    assert!(
        output.contains("(remote parent 0000000000000077)"),
        "printed without waiting for the parent: {output}"
    );
    provider.shutdown().unwrap();
    assert_eq!(buffer.take(), "");
}

#[test]
fn live_a_server_span_waits_for_its_client_span_of_this_process() {
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    let client = tracer.start("GET /stock client");
    let client_cx = Context::current_with_span(client);
    // The server of the same process gets the client's context over HTTP.
    let wire = Context::new().with_remote_span_context(SpanContext::new(
        client_cx.span().span_context().trace_id(),
        client_cx.span().span_context().span_id(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    tracer.start_with_context("GET /stock", &wire).end();
    assert_eq!(buffer.take(), "", "its parent still runs here");
    client_cx.span().end();
    let output = buffer.take();
    assert_eq!(
        printed_names(&output),
        ["GET /stock client", "GET /stock"],
        "{output}"
    );
    assert!(!output.contains("remote parent"), "{output}");
    provider.shutdown().unwrap();
}

#[test]
fn live_a_span_whose_parent_will_not_come_prints_at_once() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    let (provider, buffer) = live_provider();
    let tracer = provider.tracer("test");
    // A local parent this processor never saw start (as an unsampled one).
    let unseen = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(TRACE),
        SpanId::from(0x55),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    ));
    tracer.in_span_with_context("orphan", &unseen, |_| {});
    let output = buffer.take();
    assert!(
        output.contains("(parent 0000000000000055 not seen)"),
        "{output}"
    );
    provider.shutdown().unwrap();
}

#[test]
fn live_unsampled_spans_are_not_printed() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    let buffer = Buffer::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .with_span_processor(ConsoleSpanProcessor::new(ConsoleExporter::with_writer(
            buffer.clone(),
            false,
        )))
        .build();
    provider.tracer("test").in_span("dropped", |_| {});
    provider.shutdown().unwrap();
    assert_eq!(buffer.take(), "");
}

#[test]
fn live_a_root_stops_waiting_for_a_child_the_filter_drops() {
    use crate::process::exporting::Exporting;
    use crate::process::SpanFilter;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    let buffer = Buffer::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(Exporting {
            sampled_only: true,
            filter: Some(SpanFilter::new().drop_attribute("late", "yes")),
            redaction: None,
            inner: ConsoleSpanProcessor::new(ConsoleExporter::with_writer(buffer.clone(), false)),
        })
        .build();
    let tracer = provider.tracer("test");
    let root = tracer.start("root");
    let cx = Context::current_with_span(root);
    let mut child = tracer.start_with_context("child", &cx);
    // Matches only once this is set, after its start: dropped at its end.
    child.set_attribute(KeyValue::new("late", "yes"));
    cx.span().end();
    assert_eq!(buffer.take(), "", "the root waits for its child");
    child.end();
    let output = buffer.take();
    assert_eq!(
        printed_names(&output),
        ["root"],
        "printed when the child is dropped: {output}"
    );
    provider.shutdown().unwrap();
}
