#!/usr/bin/env python3
"""An independent reader of the OTLP file exporter's output (tests/otlp_file.rs).

Usage: decode_file.py traces|metrics|logs FILE... ("-" reads standard input)

Each line of each file (in the order given) must be one OTLP/JSON
ExportTraceServiceRequest, ExportMetricsServiceRequest or
ExportLogsServiceRequest, as the OTLP specification's JSON encoding writes it:

- every key is a lowerCamelCase field name;
- traceId, spanId and parentSpanId are lowercase hex (32, 16 and 16 digits), or
  empty; this is where OTLP/JSON departs from the protobuf JSON mapping, which
  would read them as base64, so they are turned into base64 before parsing;
- enums (kind, code, severityNumber, aggregationTemporality) are numbers;
- 64-bit integers (timestamps, intValue, asInt, count, bucketCounts) are
  decimal strings.

A double that is not a number is one of the strings "NaN", "Infinity" and
"-Infinity", as the protobuf JSON mapping writes it (a null is a departure).

Then the line is parsed by the official protobuf JSON mapping,
google.protobuf.json_format.Parse, with the message classes of the
opentelemetry-proto package (unknown fields are errors), and what the parsed
messages hold is printed as one JSON object on stdout:

  {"lines": N, "spans"|"metrics"|"logs": [...]}

where a NaN or infinite double read back is printed as the mapping's string
("NaN", "Infinity", "-Infinity"), JSON having no literal for it.

Any departure is printed on stderr, naming the file and line, with exit code 1.
"""

import base64
import json
import math
import re
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

MESSAGES = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
ID_DIGITS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}
ENUMS = {"kind", "code", "severityNumber", "aggregationTemporality"}
INT64 = {
    "timeUnixNano",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "observedTimeUnixNano",
    "intValue",
    "asInt",
    "count",
    "zeroCount",
}
INT64_LISTS = {"bucketCounts"}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
HEX = re.compile(r"^[0-9a-f]*$")
DECIMAL = re.compile(r"^-?[0-9]+$")


class Departure(Exception):
    pass


def check(value, path):
    """Checks the encoding rules above and returns a copy with base64 ids."""
    if isinstance(value, list):
        return [check(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        here = f"{path}.{key}"
        if not CAMEL.match(key):
            raise Departure(f"{here}: the key is not a lowerCamelCase field name")
        if item is None:
            raise Departure(f"{here}: null (absent fields are left out)")
        if key in ID_DIGITS:
            if not isinstance(item, str) or not HEX.match(item):
                raise Departure(f"{here}: {item!r} is not lowercase hex")
            if item and len(item) != ID_DIGITS[key]:
                raise Departure(f"{here}: {item!r} has {len(item)} digits, not {ID_DIGITS[key]}")
            out[key] = base64.b64encode(bytes.fromhex(item)).decode()
            continue
        if key in ENUMS and (not isinstance(item, int) or isinstance(item, bool)):
            raise Departure(f"{here}: the enum {item!r} is not a number")
        if key in INT64 and not (isinstance(item, str) and DECIMAL.match(item)):
            raise Departure(f"{here}: the 64-bit integer {item!r} is not a decimal string")
        if key in INT64_LISTS and not all(isinstance(i, str) and DECIMAL.match(i) for i in item):
            raise Departure(f"{here}: the 64-bit integers {item!r} are not decimal strings")
        out[key] = check(item, here)
    return out


def any_value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def attributes(kvs):
    return {kv.key: any_value(kv.value) for kv in kvs}


def resource_service(resource):
    return attributes(resource.attributes).get("service.name")


def spans(message):
    for rs in message.resource_spans:
        service = resource_service(rs.resource)
        for ss in rs.scope_spans:
            for s in ss.spans:
                yield {
                    "service": service,
                    "scope": ss.scope.name,
                    "name": s.name,
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(),
                    "kind": s.kind,
                    "status_code": s.status.code,
                    "status_message": s.status.message,
                    "start": s.start_time_unix_nano,
                    "end": s.end_time_unix_nano,
                    "attributes": attributes(s.attributes),
                    "events": [e.name for e in s.events],
                }


def exemplars(point):
    return [
        {
            "trace_id": e.trace_id.hex(),
            "span_id": e.span_id.hex(),
            "value": getattr(e, e.WhichOneof("value")) if e.WhichOneof("value") else None,
        }
        for e in point.exemplars
    ]


def metrics(message):
    for rm in message.resource_metrics:
        service = resource_service(rm.resource)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind)
                points = []
                for p in data.data_points:
                    point = {"attributes": attributes(p.attributes), "exemplars": exemplars(p)}
                    if kind == "histogram":
                        point.update(
                            count=p.count,
                            sum=p.sum,
                            bucket_counts=list(p.bucket_counts),
                            bounds=list(p.explicit_bounds),
                        )
                    else:
                        value = p.WhichOneof("value")
                        point["value"] = getattr(p, value) if value else None
                    points.append(point)
                yield {
                    "service": service,
                    "scope": sm.scope.name,
                    "name": m.name,
                    "unit": m.unit,
                    "kind": kind,
                    "temporality": getattr(data, "aggregation_temporality", 0),
                    "points": points,
                }


def logs(message):
    for rl in message.resource_logs:
        service = resource_service(rl.resource)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                yield {
                    "service": service,
                    "scope": sl.scope.name,
                    "body": any_value(r.body),
                    "severity_number": r.severity_number,
                    "severity_text": r.severity_text,
                    "trace_id": r.trace_id.hex(),
                    "span_id": r.span_id.hex(),
                    "attributes": attributes(r.attributes),
                }


SUMMARIES = {"traces": ("spans", spans), "metrics": ("metrics", metrics), "logs": ("logs", logs)}


def finite(value):
    """`value` with every NaN or infinite float as the JSON mapping's string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [finite(v) for v in value]
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in MESSAGES:
        sys.exit(__doc__)
    signal, files = sys.argv[1], sys.argv[2:]
    name, summarize = SUMMARIES[signal]
    items, lines = [], 0
    for file in files:
        stream = sys.stdin if file == "-" else open(file, encoding="utf-8", newline="")
        with stream:
            data = stream.read()
        if data and not data.endswith("\n"):
            sys.exit(f"{file}: the last line does not end with \\n (a line was cut)")
        # Split on \n only: the JSON lines separator (a string may hold U+2028).
        for number, line in enumerate(data.split("\n")[:-1] if data else [], start=1):
            where = f"{file}:{number}"
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise Departure("the line is not a JSON object")
                message = json_format.Parse(json.dumps(check(raw, "")), MESSAGES[signal]())
            except (Departure, ValueError, json_format.ParseError) as e:
                sys.exit(f"{where}: not an OTLP/JSON {MESSAGES[signal].__name__}: {e}\n{line[:2000]}")
            lines += 1
            items.extend(summarize(message))
    json.dump(finite({"lines": lines, name: items}), sys.stdout, allow_nan=False)
    print()


if __name__ == "__main__":
    main()
