#!/usr/bin/env bash
# Builds the two OpenTelemetry Collectors that the tests run, both from the
# Collector release that go.mod and go.sum beside this script pin:
#
# - target/collector/jaeger, for the collector tests (tests/collector.rs): Jaeger v2,
#   a Collector distribution with the OTLP receiver, the batch processor, the
#   spanmetrics connector, the Prometheus and OTLP exporters, in-memory trace
#   storage and the Jaeger query API;
# - target/collector/jsonfile, for the OTLP file tests (tests/otlp_file_collector.rs):
#   jsonfile/main.go, the contrib otlpjsonfile receiver and the OTLP/HTTP exporter.
#
# A second run with the same go.mod, go.sum, sources and Go does nothing: each build
# is keyed on a hash of them (target/collector/NAME.key). Go's module and build
# caches make a rebuild after a change quick too.
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

# build NAME PACKAGE [SOURCE...]: target/collector/NAME from the Go package
# PACKAGE, unless it was built from the same go.mod, go.sum, SOURCEs and Go.
build() {
    local name="$1" package="$2"
    shift 2
    local key
    key="$(cat "$here/go.mod" "$here/go.sum" "$@" <("$go" version) | sha256sum | cut -d' ' -f1)"
    if [[ -x "$out/$name" && -f "$out/$name.key" && "$(cat "$out/$name.key")" == "$key" ]]; then
        echo "collector: $out/$name is up to date"
        return
    fi
    mkdir -p "$out"
    rm -f "$out/$name.key"
    local start=$SECONDS
    # -mod=readonly: the build uses go.sum as committed and fails on any drift.
    (cd "$here" && "$go" build -mod=readonly -trimpath -ldflags='-s -w' \
        -o "$out/$name.tmp" "$package")
    mv -f "$out/$name.tmp" "$out/$name"
    echo "$key" > "$out/$name.key"
    echo "collector: built $out/$name in $((SECONDS - start)) s"
}

echo "collector: $(grep -m1 -o 'jaegertracing/jaeger v[^ ]*' "$here/go.mod"), $(grep -m1 -o 'otlpjsonfilereceiver v[^ ]*' "$here/go.mod")"
build jaeger github.com/jaegertracing/jaeger/cmd/jaeger
build jsonfile ./jsonfile "$here/jsonfile/main.go"
