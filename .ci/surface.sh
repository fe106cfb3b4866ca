#!/usr/bin/env bash
# One surface whatever the features: an application written from the README
# (tests/surface.rs) and the examples build with instrumentation compiled out,
# the dependency tree then holds no OpenTelemetry SDK, and the public items of
# the runtime are the same with and without `enabled` (less the ones listed in
# .ci/surface-enabled-only.txt, which name SDK types).
set -euo pipefail
[[ "${SURFACE_DEBUG:-}" ]] && set -x
cd "$(dirname "$0")/.."

OFF_FEATURES="tower,axum,reqwest,log,tracing"

echo "--- the README application and the examples, enabled off"
cargo test --no-default-features --test surface
cargo test --no-default-features --features "$OFF_FEATURES" --test surface
cargo build --no-default-features --features "$OFF_FEATURES" --examples

echo "--- no SDK, exporter, regex, hmac, sha2 or YAML parser with enabled off"
for features in "" "$OFF_FEATURES"; do
    tree=$(cargo tree -p traced --no-default-features ${features:+--features "$features"} -e normal --prefix none)
    if grep -E '^(opentelemetry_sdk|opentelemetry-otlp|opentelemetry-proto|tonic|prost|regex|hmac|sha2|saphyr-parser) ' <<<"$tree"; then
        echo "error: the crates above are compiled with enabled off (features: ${features:-none})" >&2
        exit 1
    fi
done

echo "--- the same public items with enabled on and off"
items() {
    rm -rf target/doc/traced_runtime
    cargo doc -q -p traced-runtime --no-deps "$@"
    python3 - target/doc/traced_runtime/all.html <<'PY'
import re, sys
html = open(sys.argv[1]).read()
for href in sorted(set(re.findall(r'href="([^"#]+\.html)"', html))):
    m = re.match(r'(?:(.*)/)?(struct|enum|trait|fn|macro|constant|type|static|union)\.(\w+)\.html$', href)
    if m:
        print(((m.group(1) or '').replace('/', '::') + '::' if m.group(1) else '') + m.group(3))
PY
}
on=$(items --features "enabled,otlp,prometheus,$OFF_FEATURES")
off=$(items --no-default-features --features "$OFF_FEATURES")
only_on=$(comm -23 <(sort <<<"$on") <(sort <<<"$off"))
only_off=$(comm -13 <(sort <<<"$on") <(sort <<<"$off"))
allowed=$({ grep -v '^#' .ci/surface-enabled-only.txt || true; } | sed '/^$/d' | sort)
unexpected=$(comm -23 <(sort <<<"$only_on") <(cat <<<"$allowed"))
if [[ -n "$only_off" || -n "$unexpected" ]]; then
    echo "error: the public surface differs with enabled off" >&2
    [[ -n "$unexpected" ]] && printf 'only with enabled:\n%s\n' "$unexpected" >&2
    [[ -n "$only_off" ]] && printf 'only without enabled:\n%s\n' "$only_off" >&2
    exit 1
fi
echo "$(wc -l <<<"$on") public items with enabled, $(wc -l <<<"$off") without; the difference is the listed SDK-typed items"
