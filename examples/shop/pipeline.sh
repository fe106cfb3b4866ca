#!/usr/bin/env bash
# The shop through the real pipeline: builds the OpenTelemetry Collector of the
# collector tests (tests/collector/build.sh), starts it (tests/collector/config.yaml)
# and a Prometheus server scraping its spanmetrics, runs the shop example with OTLP
# to the Collector, then prints what came back through the APIs: the services and
# traces the Jaeger query API stores, the span metrics Prometheus scraped, the
# metric points and log records the Collector passed on.
#
#   bash examples/shop/pipeline.sh
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

echo
echo "=== the shop, with OTLP to the Collector"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp_http" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
OTEL_METRIC_EXPORT_INTERVAL=1000 NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 \
    cargo run --quiet --example shop --features tower,axum,reqwest,log

# The connector flushes every second and Prometheus scrapes every second.
sleep 4

echo
echo "=== read back"
python3 - "$query_http" "$prometheus_port" "$work/sink" <<'EOF'
import glob, json, sys, urllib.parse, urllib.request
query, prom, sink = sys.argv[1], sys.argv[2], sys.argv[3]
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

q = urllib.parse.quote("sum by (service_name, span_name) (traces_span_metrics_calls_total)")
result = get(f"http://127.0.0.1:{prom}/api/v1/query?query={q}")["data"]["result"]
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
