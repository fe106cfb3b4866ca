#!/usr/bin/env bash
# The shop through the real pipeline: builds the OpenTelemetry Collector of the
# collector tests (tests/collector/build.sh), starts it (tests/collector/config.yaml)
# and a Prometheus server scraping its spanmetrics, runs the shop example with OTLP
# to the Collector, then prints what came back through the APIs: the services and
# traces the Jaeger query API stores, the span metrics Prometheus scraped, the
# metric points and log records the Collector passed on.
#
#   bash examples/shop/pipeline.sh          # the summary, then everything stops
#   KEEP=1 bash examples/shop/pipeline.sh   # stays up for the trace UI and Prometheus
#
# Needs Go (for the Collector), Python 3 and Debian's `prometheus`
# (`apt-get install prometheus`). Everything listens on 127.0.0.1, on free ports,
# and is stopped when the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash tests/collector/build.sh
command -v prometheus >/dev/null || {
    echo "pipeline.sh: no prometheus (apt-get install prometheus)" >&2
    exit 1
}

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

read -r otlp_grpc otlp_http query_http query_grpc prom_exporter telemetry sink prometheus_port < <(
    python3 -c '
import socket
socks = [socket.socket() for _ in range(8)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
)

# The sink the Collector posts metrics and logs to (OTLP/JSON), one file per request.
mkdir -p "$work/sink"
python3 - "$sink" "$work/sink" <<'EOF' &
import http.server, sys, itertools
port, out = int(sys.argv[1]), sys.argv[2]
counter = itertools.count()
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = "logs" if self.path.endswith("/v1/logs") else (
            "spanmetrics" if self.path.startswith("/spanmetrics") else "metrics")
        with open(f"{out}/{kind}-{next(counter):05}.json", "wb") as f:
            f.write(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
EOF
pids+=($!)

TRACED_COLLECTOR_OTLP_GRPC_PORT=$otlp_grpc TRACED_COLLECTOR_OTLP_HTTP_PORT=$otlp_http \
TRACED_COLLECTOR_QUERY_HTTP_PORT=$query_http TRACED_COLLECTOR_QUERY_GRPC_PORT=$query_grpc \
TRACED_COLLECTOR_PROMETHEUS_PORT=$prom_exporter TRACED_COLLECTOR_TELEMETRY_PORT=$telemetry \
TRACED_COLLECTOR_SINK=http://127.0.0.1:$sink \
    target/collector/jaeger --config tests/collector/config.yaml >"$work/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
    grep -q "Everything is ready" "$work/collector.log" && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/collector.log" >&2; exit 1; }
    sleep 0.1
done
grep -q "Everything is ready" "$work/collector.log" || { cat "$work/collector.log" >&2; exit 1; }
echo "collector: OTLP http://127.0.0.1:$otlp_http (HTTP) and :$otlp_grpc (gRPC), query http://127.0.0.1:$query_http"

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: collector-spanmetrics
    static_configs:
      - targets: ["127.0.0.1:$prom_exporter"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
    --web.listen-address="127.0.0.1:$prometheus_port" --enable-feature=exemplar-storage \
    >"$work/prometheus.log" 2>&1 &
pids+=($!)
echo "prometheus: http://127.0.0.1:$prometheus_port"
echo "trace UI: http://127.0.0.1:$query_http/search"

# Built before it is timed; Prometheus scraping the Collector before the shop
# runs, so that it sees the exemplars of the connector's next flush.
cargo build --quiet --example shop --features tower,axum,reqwest,log
python3 - "$prometheus_port" <<'EOF'
import json, sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
url = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query=up"
for _ in range(300):
    try:
        with opener.open(url, timeout=2) as r:
            if any(x["value"][1] == "1" for x in json.load(r)["data"]["result"]):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("pipeline.sh: Prometheus never scraped the Collector")
EOF

echo
echo "=== the shop, with OTLP to the Collector"
shop_started=$(date +%s.%N)
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp_http" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
OTEL_METRIC_EXPORT_INTERVAL=1000 NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 \
    cargo run --quiet --example shop --features tower,axum,reqwest,log
shop_seconds=$(python3 -c "import time; print(f'{time.time() - $shop_started:.1f}')")

# The connector flushes every second; the read-back waits for Prometheus.
sleep 2

echo
echo "=== read back"
python3 - "$query_http" "$prometheus_port" "$work/sink" "$shop_seconds" <<'EOF'
import glob, json, sys, time, urllib.parse, urllib.request
query, prom, sink, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(url):
    with opener.open(url, timeout=10) as r:
        return json.load(r)

services = sorted(s for s in get(f"http://127.0.0.1:{query}/api/services")["data"] or [])
print(f"Jaeger query API: services {services}")
traces = {}
for service in services:
    data = get(f"http://127.0.0.1:{query}/api/traces?service={service}&limit=1000")["data"] or []
    spans = sum(len(t["spans"]) for t in data)
    print(f"  {service}: {len(data)} traces, {spans} spans")
    for t in data:
        traces[t["traceID"]] = {p["serviceName"] for p in t["processes"].values()}
crossing = [t for t, s in traces.items() if len(s) >= 3]
print(f"  traces that cross three services or more: {len(crossing)}")

def promql(expr):
    q = urllib.parse.quote(expr)
    return get(f"http://127.0.0.1:{prom}/api/v1/query?query={q}")["data"]["result"]

def by_service(expr):
    return {r["metric"].get("service_name", "?"): float(r["value"][1]) for r in promql(expr)}

# Prometheus scrapes every second, once it is up: wait for the shop's three
# services (and an exemplar) to be there, at most 30 s.
deadline = time.time() + 30
while time.time() < deadline:
    seen = promql('count by (service_name) (traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"})')
    now = time.time()
    q = urllib.parse.quote("traces_span_metrics_duration_milliseconds_bucket")
    stored = get(f"http://127.0.0.1:{prom}/api/v1/query_exemplars?query={q}"
                 f"&start={now - 600}&end={now}")["data"] or []
    if len(seen) >= 3 and stored:
        break
    time.sleep(0.5)

# RED of each service's server spans, from the connector's span metrics.
server = 'span_kind="SPAN_KIND_SERVER"'
calls = by_service(f"sum by (service_name) (traces_span_metrics_calls_total{{{server}}})")
errors = by_service(
    f'sum by (service_name) (traces_span_metrics_calls_total{{{server},status_code="STATUS_CODE_ERROR"}})')
# Over the whole run (the cumulative buckets): a rate over a window is empty
# once a run this short is over.
p95 = by_service(
    "histogram_quantile(0.95, sum by (le, service_name) "
    f"(traces_span_metrics_duration_milliseconds_bucket{{{server}}}))")
print(f"RED of the server spans over the shop's {seconds} s (Prometheus, from the spanmetrics connector):")
for service in sorted(calls):
    print(f"  {service:9} {calls[service]:6.0f} requests, {calls[service] / seconds:6.2f}/s, "
          f"{errors.get(service, 0):4.0f} errors, p95 {p95.get(service, float('nan')):8.1f} ms")

# An exemplar of the slowest bucket that has one, and the trace it leads to.
now = time.time()
q = urllib.parse.quote("traces_span_metrics_duration_milliseconds_bucket")
series = get(f"http://127.0.0.1:{prom}/api/v1/query_exemplars?query={q}"
             f"&start={now - 600}&end={now}")["data"] or []
exemplars = [(float(e["value"]), e["labels"].get("trace_id", ""), s["seriesLabels"])
             for s in series for e in s["exemplars"]]
if exemplars:
    value, trace_id, labels = max(exemplars, key=lambda e: e[0])
    found = get(f"http://127.0.0.1:{query}/api/traces/{trace_id}")["data"] or []
    spans = sum(len(t["spans"]) for t in found)
    print(f"exemplar: {value:.1f} ms on {labels.get('service_name', '?')} "
          f"{labels.get('span_name', '?')} (le={labels.get('le', '?')}) -> trace {trace_id}: "
          f"{spans} spans in the backend")
    print(f"  open it: http://127.0.0.1:{query}/trace/{trace_id}")
else:
    print("exemplar: none stored by Prometheus")

result = promql("sum by (service_name, span_name) (traces_span_metrics_calls_total)")
print(f"Prometheus (scraping the spanmetrics connector): {len(result)} series of traces_span_metrics_calls_total")
for r in sorted(result, key=lambda r: (r["metric"].get("service_name", ""), r["metric"].get("span_name", ""))):
    m = r["metric"]
    print(f"  {m.get('service_name', '?'):9} {m.get('span_name', '?'):28} {r['value'][1]}")

def count(kind, key, inner):
    names, n = set(), 0
    for path in glob.glob(f"{sink}/{kind}-*.json"):
        body = json.load(open(path))
        for res in body.get(key, []):
            for scope in res.get(inner[0], []):
                for item in scope.get(inner[1], []):
                    n += 1
                    names.add(item.get("name", ""))
    return n, names
n, names = count("metrics", "resourceMetrics", ("scopeMetrics", "metrics"))
print(f"metrics the Collector passed on: {n} metrics in {len(names)} names, e.g. {sorted(names)[:6]}")
n, _ = count("logs", "resourceLogs", ("scopeLogs", "logRecords"))
print(f"log records the Collector passed on: {n}")
EOF

if [[ -n "${KEEP:-}" ]]; then
    echo
    echo "open the trace UI http://127.0.0.1:$query_http/search and Prometheus http://127.0.0.1:$prometheus_port/graph"
    echo "(KEEP is set: everything stays up until Ctrl-C)"
    while :; do sleep 3600; done
fi
