#!/usr/bin/env bash
# One run of every benchmark, and the table of BENCHMARKS.md.
#
#   benches/run.sh            # the full suite (under 10 minutes on 2 cores, once built)
#   benches/run.sh --quick    # smoke run: every case, criterion's quick mode
#
# 1. `disabled`: #[traced] with the `enabled` feature off. Features unify in one
#    build, so this is a second build of the benches package, without default features.
# 2. `spans`: every other case, in one process, one pipeline at a time.
# 3. `alloc`: allocations per call of the same cases (a counting global allocator).
# Results go to target/bench-run/ (criterion's files, alloc.md, report.md), fresh
# each run, so that the table is from this run only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-run
rm -rf "$out"
mkdir -p "$out"
export CRITERION_HOME="$PWD/$out"
# Build everything first, so that compile time does not overlap measurements.
cargo bench -p traced-benches --no-default-features --bench disabled --no-run
cargo bench -p traced-benches --bench spans --bench alloc --no-run
start=$(date +%s)
cargo bench -p traced-benches --no-default-features --bench disabled -- "$@"
cargo bench -p traced-benches --bench spans -- "$@"
cargo bench -p traced-benches --bench alloc -- "$@" | tee "$out/alloc.md"
end=$(date +%s)
python3 benches/report.py "$out" "$out/alloc.md" >"$out/report.md"
{
    echo
    echo "Measured in $((end - start)) s on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(rustc --version)."
    echo
    cat "$out/report.md"
} | tee -a "$out/report.md.tmp"
mv "$out/report.md.tmp" "$out/report.md"
