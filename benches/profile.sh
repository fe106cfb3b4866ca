#!/usr/bin/env bash
# Instructions per call of benchmark cases, under callgrind (stable on a noisy,
# shared machine, unlike time).
#
#   benches/profile.sh sampled/traced sampled/sdk_manual ...   # one line per case
#   CALLS=20000 ANNOTATE=1 benches/profile.sh unsampled/traced # + the top functions
#
# Each case runs `CALLS` times (plus 1,000 warm-up calls) inside `measured` in the
# `profile` bench binary; callgrind collects only there. The per-call count is
# (total - the same loop over the plain function) / calls, so it is the cost of
# the instrumentation alone. Outputs stay in target/callgrind/ for
# callgrind_annotate / kcachegrind. BIN=path runs another build of the profile binary.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "profile.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
calls=${CALLS:-20000}
warm=1000
bin=${BIN:-}
[[ -n "$bin" ]] || bin=$(cargo bench -p traced-benches --bench profile --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "profile" and m.get("executable"):
        print(m["executable"])')
out=target/callgrind
mkdir -p "$out"

total_ir() { # case -> instructions collected in `measured` for warm-up + calls
    local file="$out/${1//\//_}.out"
    # --fair-sched: valgrind runs one thread at a time; without it the span
    # collector thread is scheduled unevenly, and the calling thread's count
    # moved by ~20 % from run to run (with it, by under 0.1 %).
    valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$file" --toggle-collect='*cases::measured*' \
        "$bin" "$1" "$calls" >/dev/null 2>"$file.log" || { cat "$file.log" >&2; return 1; }
    # callgrind writes its totals at exit: read them from the file's summary line.
    awk '/^(summary|totals):/ { print $2; exit }' "$file"
}

floor=$(total_ir floor/plain)
printf '%-28s %14s\n' case 'instr/call'
for case in "$@"; do
    ir=$(total_ir "$case")
    awk -v c="$case" -v ir="$ir" -v f="$floor" -v n="$((calls + warm))" \
        'BEGIN { printf "%-28s %14.0f\n", c, (ir - f) / n }'
    if [[ -n "${ANNOTATE:-}" ]]; then
        callgrind_annotate "$out/${case//\//_}.out" 2>/dev/null |
            awk '/^Ir/ { on = 1 } on && n++ < 40 { sub(/ \[\/.*\]$/, ""); print }' || true
    fi
done
