#!/usr/bin/env python3
"""An independent OTLP trace receiver for the integration tests in tests/otlp.rs.

It decodes with the official protobuf classes of the `opentelemetry-proto`
package, so what the tests see is what any collector would see, not what the
Rust side thinks it sent.

It serves both transports on 127.0.0.1, on ports the OS chooses:

* OTLP/HTTP: POST /v1/traces with a protobuf body (optionally gzip-encoded),
  answered 200 with an empty ExportTraceServiceResponse;
* OTLP/gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export.

Protocol on stdout, one line each, flushed at once:

    READY http=<port> grpc=<port>
    {"transport": "http", "name": "...", ...}      one JSON object per span

A span's JSON object has: transport ("http" or "grpc"), resource (the resource
attributes), scope (the instrumentation scope's name), trace_id, span_id and
parent_span_id (lowercase hex; parent_span_id is "" for a root), name, kind
(the enum name, e.g. "SPAN_KIND_SERVER"), attributes, events (a list of
{"name", "attributes"}), status ({"code": "STATUS_CODE_ERROR", "message": ...})
and headers (the request headers or gRPC metadata whose lowercase name starts
with "x-test-"). Attribute values are plain JSON: strings, integers (always
written without a decimal point), floats (always written with one, or an
exponent), booleans, lists and objects; bytes become lowercase hex.

Problems go to stderr. The receiver exits when its stdin closes, so it never
outlives the test that started it.

Requirements: tests/otlp/requirements.txt.
"""

import gzip
import json
import sys
import threading
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from opentelemetry.proto.trace.v1 import trace_pb2

HEADER_PREFIX = "x-test-"
TRACES_PATH = "/v1/traces"

_stdout_lock = threading.Lock()


def emit(line):
    """Writes one line to stdout and flushes it, whole, whatever the thread."""
    with _stdout_lock:
        sys.stdout.write(line + "\n")
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


def report(transport, request, headers):
    """Prints every span of an ExportTraceServiceRequest as one JSON line."""
    test_headers = {
        name.lower(): value
        for name, value in headers
        if name.lower().startswith(HEADER_PREFIX)
    }
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                emit(
                    json.dumps(
                        span_json(transport, resource, scope, span, test_headers),
                        allow_nan=False,
                    )
                )


class HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if self.path.split("?", 1)[0] != TRACES_PATH:
            self.reply(404, "text/plain", b"only POST /v1/traces is served\n")
            return
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip() != "application/x-protobuf":
            log(f"HTTP request with content-type {content_type!r}")
            self.reply(415, "text/plain", b"expected application/x-protobuf\n")
            return
        try:
            body = self.read_body()
            request = trace_service_pb2.ExportTraceServiceRequest()
            request.ParseFromString(body)
            report("http", request, self.headers.items())
        except Exception as e:  # a malformed request must not kill the receiver
            log(f"bad HTTP request: {e!r}")
            self.reply(400, "text/plain", f"{e!r}\n".encode())
            return
        response = trace_service_pb2.ExportTraceServiceResponse()
        self.reply(200, "application/x-protobuf", response.SerializeToString())

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


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        report("grpc", request, context.invocation_metadata())
        return trace_service_pb2.ExportTraceServiceResponse()


def main():
    http_server = ThreadingHTTPServer(("127.0.0.1", 0), HttpHandler)
    http_server.daemon_threads = True
    threading.Thread(target=http_server.serve_forever, daemon=True).start()

    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), grpc_server)
    grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
    if grpc_port == 0:
        log("cannot bind the gRPC port")
        return 1
    grpc_server.start()

    emit(f"READY http={http_server.server_address[1]} grpc={grpc_port}")

    # Serve until the test closes our stdin (or exits, which closes it).
    while sys.stdin.buffer.read(4096):
        pass

    grpc_server.stop(grace=None)
    http_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
