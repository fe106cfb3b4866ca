#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that the collector tests run (tests/collector.rs):
# Jaeger v2, a Collector distribution with the OTLP receiver, the batch processor,
# the spanmetrics connector, the Prometheus and OTLP exporters, in-memory trace
# storage and the Jaeger query API. The version is pinned by go.mod and go.sum
# beside this script; the binary goes to target/collector/jaeger.
#
# A second run with the same go.mod, go.sum and Go does nothing: the build is keyed
# on a hash of them (target/collector/jaeger.key). Go's module and build caches
# make a rebuild after a change quick too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/collector"

go="${GO:-$(command -v go || true)}"
if [[ -z "$go" && -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go; fi
if [[ -z "$go" ]]; then
    echo "build.sh: no Go toolchain (go on PATH, /usr/local/go/bin/go or \$GO); Go >= 1.24 is needed" >&2
    exit 1
fi
# Never fetch another toolchain: build with the one installed.
export GOTOOLCHAIN=local

key="$(cat "$here/go.mod" "$here/go.sum" <("$go" version) | sha256sum | cut -d' ' -f1)"
if [[ -x "$out/jaeger" && -f "$out/jaeger.key" && "$(cat "$out/jaeger.key")" == "$key" ]]; then
    echo "collector: $out/jaeger is up to date ($(grep -m1 -o 'jaegertracing/jaeger v[^ ]*' "$here/go.mod"))"
    exit 0
fi

mkdir -p "$out"
rm -f "$out/jaeger.key"
start=$SECONDS
# -mod=readonly: the build uses go.sum as committed and fails on any drift.
(cd "$here" && "$go" build -mod=readonly -trimpath -ldflags='-s -w' \
    -o "$out/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
mv -f "$out/jaeger.tmp" "$out/jaeger"
echo "$key" > "$out/jaeger.key"
echo "collector: built $out/jaeger in $((SECONDS - start)) s"
