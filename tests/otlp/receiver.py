#!/usr/bin/env python3
"""An independent OTLP receiver for the integration tests in tests/otlp.rs
(spans) and tests/otlp_metrics.rs (metrics).

It decodes with the official protobuf classes of the `opentelemetry-proto`
package, so what the tests see is what any collector would see, not what the
Rust side thinks it sent.

It serves both transports on 127.0.0.1, on ports the OS chooses:

* OTLP/HTTP: POST /v1/traces, /v1/metrics and /v1/logs with a protobuf body
  (optionally gzip-encoded), answered 200 with an empty Export*ServiceResponse;
* OTLP/gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export,
  opentelemetry.proto.collector.metrics.v1.MetricsService/Export and
  opentelemetry.proto.collector.logs.v1.LogsService/Export.

Protocol on stdout, one line each, flushed at once:

    READY http=<port> grpc=<port>
    {"signal": "span", "transport": "http", "name": "...", ...}    one per span
    {"signal": "metric", "transport": "grpc", "name": "...", ...}  one per data point
    {"signal": "log", "transport": "http", "body": ..., ...}       one per log record

The lines of one export request are written together, never interleaved with
another request's, and carry its number ("request": 1, 2, ... in order of
arrival).

A span's JSON object has: signal ("span"), request, transport ("http" or
"grpc"), resource (the resource attributes), scope (the instrumentation scope's
name), trace_id, span_id and parent_span_id (lowercase hex; parent_span_id is
"" for a root), name, kind (the enum name, e.g. "SPAN_KIND_SERVER"),
attributes, events (a list of {"name", "attributes"}), status ({"code":
"STATUS_CODE_ERROR", "message": ...}) and headers (the request headers or gRPC
metadata whose lowercase name starts with "x-test-").

A metric data point's JSON object has: signal ("metric"), request, transport,
resource, scope, headers (as for spans), name, unit, description, type ("sum",
"gauge", "histogram", "exponential_histogram" or "summary"), monotonic (sums;
else null), temporality ("cumulative" or "delta"; null for gauges and
summaries), attributes, start_time_unix_nano, time_unix_nano, value (sums and
gauges: an integer for as_int, a float for as_double), count, sum, bounds and
bucket_counts (histograms; exponential histograms have count and sum), and
exemplars: a list of {"trace_id", "span_id" (lowercase hex, "" when absent),
"value" (an integer for as_int, a float for as_double), "time_unix_nano",
"filtered_attributes"}.

Attribute values are plain JSON: strings, integers (always written without a
decimal point), floats (always written with one, or an exponent), booleans,
lists and objects; bytes become lowercase hex.

Every line also has tls (whether the request came over TLS), client (the
common name of the client certificate the TLS peer presented, or null) and,
over HTTP, encoding (the request's Content-Encoding, "identity" when it has
none; null over gRPC).

Options: --tls-cert FILE --tls-key FILE serve both transports over TLS
(HTTPS, gRPC with TLS) with that certificate chain and key; --client-ca FILE
then also requires a client certificate signed by that CA (mutual TLS).
--grpc-identity-only makes the gRPC server refuse compressed messages
(UNIMPLEMENTED), so that a test can tell whether a client compresses.

Fault control (OTLP/gRPC only; OTLP/HTTP always answers as above). The
receiver reads commands from stdin, one a line, and switches its gRPC services
at once; each command is answered on stdout with
{"signal": "control", "mode": ..., "retry_delay_ms": ...} once it is in force
(an unknown command with {"signal": "control", "error": ...}):

    ok                        serve (the default)
    unavailable [MS]          answer every export UNAVAILABLE
    resource_exhausted [MS]   answer every export RESOURCE_EXHAUSTED
    hang                      take every export and never answer while the
                              mode lasts (then UNAVAILABLE, if the client still
                              waits); nothing taken is counted
    refuse                    close the gRPC port: connections are refused
                              (the next mode binds the same port again)

With MS, the error carries a google.rpc.Status in the `grpc-status-details-bin`
trailer with a google.rpc.RetryInfo whose retry_delay is MS milliseconds (the
OTLP throttling signal). Every export refused or hung is reported with
{"signal": "fault", "mode": ..., "service": "traces" | "metrics" | "logs",
"code": "UNAVAILABLE" | "RESOURCE_EXHAUSTED" | null, "retry_delay_ms": ...,
"items": <spans, data points or log records in it>, "time": <seconds, a
monotonic clock>}; its items are not reported as received.

Problems go to stderr. The receiver exits when its stdin closes, so it never
outlives the test that started it.

Requirements: tests/otlp/requirements.txt (googleapis-common-protos only for
a RetryInfo).
"""

import argparse
import gzip
import json
import ssl
import sys
import threading
import time
import zlib
from collections import namedtuple
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1 import (
    logs_service_pb2,
    logs_service_pb2_grpc,
)
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

HEADER_PREFIX = "x-test-"
TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
LOGS_PATH = "/v1/logs"

_stdout_lock = threading.Lock()
_requests = 0


def emit(line):
    """Writes one line to stdout and flushes it, whole, whatever the thread."""
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def emit_request(objects, peer):
    """Numbers one export request and writes its objects as consecutive lines,
    each with the `peer` fields (tls, client, encoding)."""
    global _requests
    with _stdout_lock:
        _requests += 1
        for obj in objects:
            obj.update(peer)
            obj["request"] = _requests
            sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
        sys.stdout.flush()


def log(message):
    sys.stderr.write(f"receiver: {message}\n")
    sys.stderr.flush()


def any_value(value):
    """An opentelemetry.proto.common.v1.AnyValue as a plain JSON value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return int(value.int_value)
    if which == "double_value":
        return float(value.double_value)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return key_values(value.kvlist_value.values)
    raise ValueError(f"unknown AnyValue field {which!r}")


def key_values(pairs):
    return {kv.key: any_value(kv.value) for kv in pairs}


def span_json(transport, resource, scope, span, headers):
    return {
        "signal": "span",
        "transport": transport,
        "resource": resource,
        "scope": scope,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "name": span.name,
        "kind": trace_pb2.Span.SpanKind.Name(span.kind),
        "attributes": key_values(span.attributes),
        "events": [
            {"name": event.name, "attributes": key_values(event.attributes)}
            for event in span.events
        ],
        "status": {
            "code": trace_pb2.Status.StatusCode.Name(span.status.code),
            "message": span.status.message,
        },
        "headers": headers,
    }


def test_headers(headers):
    return {
        name.lower(): value
        for name, value in headers
        if name.lower().startswith(HEADER_PREFIX)
    }


def report(transport, request, headers, peer):
    """Prints every span of an ExportTraceServiceRequest as one JSON line."""
    headers = test_headers(headers)
    objects = []
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                objects.append(span_json(transport, resource, scope, span, headers))
    emit_request(objects, peer)


def number(message):
    """The oneof value of a NumberDataPoint or an Exemplar: as_int or as_double."""
    which = message.WhichOneof("value")
    if which == "as_int":
        return int(message.as_int)
    if which == "as_double":
        return float(message.as_double)
    return None


def exemplar_json(exemplar):
    return {
        "trace_id": exemplar.trace_id.hex(),
        "span_id": exemplar.span_id.hex(),
        "value": number(exemplar),
        "time_unix_nano": int(exemplar.time_unix_nano),
        "filtered_attributes": key_values(exemplar.filtered_attributes),
    }


TEMPORALITIES = {
    metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE: "cumulative",
    metrics_pb2.AGGREGATION_TEMPORALITY_DELTA: "delta",
}


def metric_points(metric):
    """(type, monotonic, temporality, point, extra fields) for each data point."""
    which = metric.WhichOneof("data")
    if which == "sum":
        for p in metric.sum.data_points:
            yield "sum", metric.sum.is_monotonic, metric.sum.aggregation_temporality, p, {
                "value": number(p)
            }
    elif which == "gauge":
        for p in metric.gauge.data_points:
            yield "gauge", None, None, p, {"value": number(p)}
    elif which == "histogram":
        h = metric.histogram
        for p in h.data_points:
            yield "histogram", None, h.aggregation_temporality, p, {
                "count": int(p.count),
                "sum": float(p.sum) if p.HasField("sum") else None,
                "bounds": [float(b) for b in p.explicit_bounds],
                "bucket_counts": [int(c) for c in p.bucket_counts],
            }
    elif which == "exponential_histogram":
        h = metric.exponential_histogram
        for p in h.data_points:
            yield "exponential_histogram", None, h.aggregation_temporality, p, {
                "count": int(p.count),
                "sum": float(p.sum) if p.HasField("sum") else None,
            }
    elif which == "summary":
        for p in metric.summary.data_points:
            yield "summary", None, None, p, {"count": int(p.count), "sum": float(p.sum)}
    else:
        raise ValueError(f"metric {metric.name!r} has no data")


def report_metrics(transport, request, headers, peer):
    """Prints every data point of an ExportMetricsServiceRequest as one JSON line."""
    headers = test_headers(headers)
    objects = []
    for resource_metrics in request.resource_metrics:
        resource = key_values(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                for kind, monotonic, temporality, point, extra in metric_points(metric):
                    obj = {
                        "signal": "metric",
                        "transport": transport,
                        "resource": resource,
                        "scope": scope,
                        "headers": headers,
                        "name": metric.name,
                        "unit": metric.unit,
                        "description": metric.description,
                        "type": kind,
                        "monotonic": monotonic,
                        "temporality": TEMPORALITIES.get(temporality)
                        if temporality is not None
                        else None,
                        "attributes": key_values(point.attributes),
                        "start_time_unix_nano": int(point.start_time_unix_nano),
                        "time_unix_nano": int(point.time_unix_nano),
                        "exemplars": [
                            exemplar_json(e) for e in getattr(point, "exemplars", [])
                        ],
                    }
                    obj.update(extra)
                    objects.append(obj)
    emit_request(objects, peer)


def report_logs(transport, request, headers, peer):
    """Prints every record of an ExportLogsServiceRequest as one JSON line."""
    headers = test_headers(headers)
    objects = []
    for resource_logs in request.resource_logs:
        resource = key_values(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                objects.append(
                    {
                        "signal": "log",
                        "transport": transport,
                        "resource": resource,
                        "scope": scope,
                        "headers": headers,
                        "severity_text": record.severity_text,
                        "severity_number": int(record.severity_number),
                        "body": any_value(record.body),
                        "attributes": key_values(record.attributes),
                        "trace_id": record.trace_id.hex(),
                        "span_id": record.span_id.hex(),
                    }
                )
    emit_request(objects, peer)


class HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path == TRACES_PATH:
            request_type = trace_service_pb2.ExportTraceServiceRequest
            response_type = trace_service_pb2.ExportTraceServiceResponse
            handle = report
        elif path == METRICS_PATH:
            request_type = metrics_service_pb2.ExportMetricsServiceRequest
            response_type = metrics_service_pb2.ExportMetricsServiceResponse
            handle = report_metrics
        elif path == LOGS_PATH:
            request_type = logs_service_pb2.ExportLogsServiceRequest
            response_type = logs_service_pb2.ExportLogsServiceResponse
            handle = report_logs
        else:
            self.reply(404, "text/plain", b"only POST /v1/traces, /v1/metrics and /v1/logs are served\n")
            return
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip() != "application/x-protobuf":
            log(f"HTTP request with content-type {content_type!r}")
            self.reply(415, "text/plain", b"expected application/x-protobuf\n")
            return
        try:
            body = self.read_body()
            request = request_type()
            request.ParseFromString(body)
            handle("http", request, self.headers.items(), self.peer())
        except Exception as e:  # a malformed request must not kill the receiver
            log(f"bad HTTP request: {e!r}")
            self.reply(400, "text/plain", f"{e!r}\n".encode())
            return
        response = response_type()
        self.reply(200, "application/x-protobuf", response.SerializeToString())

    def peer(self):
        tls = isinstance(self.connection, ssl.SSLSocket)
        client = None
        if tls:
            cert = self.connection.getpeercert()
            for rdn in (cert or {}).get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        client = value
        encoding = self.headers.get("Content-Encoding", "").strip().lower() or "identity"
        return {"tls": tls, "client": client, "encoding": encoding}

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()  # the CRLF after the chunk
                if size == 0:
                    break
                body += chunk
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding not in ("", "identity"):
            raise ValueError(f"unsupported content-encoding {encoding!r}")
        return body

    def reply(self, code, content_type, body):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # quiet: no access log on stderr
        pass


def grpc_peer(context):
    auth = context.auth_context()
    tls = auth.get("transport_security_type", [b""])[0] == b"ssl"
    names = auth.get("x509_common_name", [])
    return {"tls": tls, "client": names[0].decode() if names else None, "encoding": None}


class Fault:
    """The gRPC fault mode in force (see the module's docstring)."""

    MODES = ("ok", "unavailable", "resource_exhausted", "hang", "refuse")

    def __init__(self):
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.mode = "ok"
        self.retry_delay_ms = None

    def get(self):
        with self.lock:
            return self.mode, self.retry_delay_ms

    def set(self, mode, retry_delay_ms):
        with self.lock:
            self.mode, self.retry_delay_ms = mode, retry_delay_ms
            self.changed.notify_all()

    def wait_while(self, mode, context):
        """Waits while `mode` lasts and the client still waits."""
        with self.lock:
            while self.mode == mode and context.is_active():
                self.changed.wait(0.05)


FAULT = Fault()


class _Status(namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status):
    """A gRPC status to abort with (what grpcio-status builds)."""


def status_with_retry_info(code, message, retry_delay_ms):
    """`code` with `message` and, with a delay, a google.rpc.Status carrying a
    google.rpc.RetryInfo in the `grpc-status-details-bin` trailer."""
    if retry_delay_ms is None:
        return _Status(code, message, ())
    from google.rpc import error_details_pb2, status_pb2

    retry_info = error_details_pb2.RetryInfo()
    retry_info.retry_delay.FromMilliseconds(retry_delay_ms)
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(retry_info)
    return _Status(code, message, (("grpc-status-details-bin", status.SerializeToString()),))


CODES = {
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "resource_exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def fault_gate(service, items, context):
    """Returns when the export may be taken; else aborts it as the mode says,
    after reporting it."""
    mode, retry_delay_ms = FAULT.get()
    if mode == "ok":
        return
    code = CODES.get(mode)
    emit(
        json.dumps(
            {
                "signal": "fault",
                "mode": mode,
                "service": service,
                "code": code.name if code else None,
                "retry_delay_ms": retry_delay_ms,
                "items": items,
                "time": time.monotonic(),
            }
        )
    )
    if mode == "hang":
        FAULT.wait_while("hang", context)
        code = grpc.StatusCode.UNAVAILABLE
    elif code is None:  # "refuse": a call that got in before the port closed
        code = grpc.StatusCode.UNAVAILABLE
    context.abort_with_status(
        status_with_retry_info(code, f"the receiver is in fault mode {mode!r}", retry_delay_ms)
    )


def count_spans(request):
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def count_points(request):
    return sum(
        sum(1 for _ in metric_points(m))
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    )


def count_logs(request):
    return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        fault_gate("traces", count_spans(request), context)
        report("grpc", request, context.invocation_metadata(), grpc_peer(context))
        return trace_service_pb2.ExportTraceServiceResponse()


class MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def Export(self, request, context):
        fault_gate("metrics", count_points(request), context)
        report_metrics("grpc", request, context.invocation_metadata(), grpc_peer(context))
        return metrics_service_pb2.ExportMetricsServiceResponse()


class LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def Export(self, request, context):
        fault_gate("logs", count_logs(request), context)
        report_logs("grpc", request, context.invocation_metadata(), grpc_peer(context))
        return logs_service_pb2.ExportLogsServiceResponse()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    parser = argparse.ArgumentParser(description="OTLP receiver for the tests")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca")
    parser.add_argument("--grpc-identity-only", action="store_true")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key) or (args.client_ca and not args.tls_cert):
        log("--tls-cert and --tls-key go together; --client-ca needs them")
        return 2

    http_server = ThreadingHTTPServer(("127.0.0.1", 0), HttpHandler)
    http_server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
        http_server.socket = context.wrap_socket(http_server.socket, server_side=True)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()

    def start_grpc(port):
        """The gRPC server on `port` (0: one the OS chooses), started; its port
        (0 when it cannot bind)."""
        options = []
        if args.grpc_identity_only:
            # Only the identity algorithm (bit 0): a compressed message is refused.
            options.append(("grpc.compression_enabled_algorithms_bitset", 1))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(MetricsService(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(LogsService(), server)
        address = f"127.0.0.1:{port}"
        try:
            if args.tls_cert:
                credentials = grpc.ssl_server_credentials(
                    [(read(args.tls_key), read(args.tls_cert))],
                    root_certificates=read(args.client_ca) if args.client_ca else None,
                    require_client_auth=bool(args.client_ca),
                )
                bound = server.add_secure_port(address, credentials)
            else:
                bound = server.add_insecure_port(address)
        except RuntimeError:  # newer grpcio raises where older ones return 0
            bound = 0
        if bound:
            server.start()
        return server, bound

    grpc_server, grpc_port = start_grpc(0)
    if grpc_port == 0:
        log("cannot bind the gRPC port")
        return 1

    emit(f"READY http={http_server.server_address[1]} grpc={grpc_port}")

    # Serve until the test closes our stdin (or exits, which closes it); each
    # line is a fault command.
    for raw in sys.stdin.buffer:
        words = raw.decode(errors="replace").split()
        if not words:
            continue
        mode, rest = words[0], words[1:]
        try:
            if mode not in Fault.MODES or len(rest) > 1:
                raise ValueError(f"unknown command {' '.join(words)!r}")
            retry_delay_ms = int(rest[0]) if rest else None
            if retry_delay_ms is not None and mode not in CODES:
                raise ValueError(f"{mode} takes no retry delay")
        except ValueError as e:
            log(str(e))
            emit(json.dumps({"signal": "control", "error": str(e)}))
            continue
        was, _ = FAULT.get()
        FAULT.set(mode, retry_delay_ms)
        if mode == "refuse" and was != "refuse":
            grpc_server.stop(grace=None).wait()
        elif mode != "refuse" and was == "refuse":
            deadline = time.monotonic() + 10
            while True:
                grpc_server, bound = start_grpc(grpc_port)
                if bound or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            if not bound:
                log(f"cannot bind the gRPC port {grpc_port} again")
                return 1
        emit(json.dumps({"signal": "control", "mode": mode, "retry_delay_ms": retry_delay_ms}))

    grpc_server.stop(grace=None)
    http_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
