#!/usr/bin/env python3
"""The table of BENCHMARKS.md from one run of benches/run.sh.

    python3 benches/report.py CRITERION_DIR [ALLOC_TABLE.md]

Reads criterion's estimates (the median of each benchmark) and the allocation
table printed by the `alloc` bench, and prints Markdown: per case, each subject's
time, its ratio to the plain function and to the best hand-written SDK code of
the same case, its allocations, then the targets, met or missed.
"""

import json
import os
import re
import sys

# (case, [(subject, criterion id)], floor id, reference ids, alloc group)
CASES = [
    ("before `init()` (nothing installed)", "before_init", "floor/plain",
     ["traced", "sdk_manual", "sdk_in_span", "tracing", "fastrace"]),
    ("`OTEL_SDK_DISABLED=true`", "sdk_disabled", "floor/plain", ["traced", "sdk_manual"]),
    ("`enabled` feature off (second build)", "enabled_off", "enabled_off/plain",
     ["traced", "traced_attrs", "traced_event", "traced_metrics", "derived_metrics"]),
    ("unsampled (`Sampler::AlwaysOff`)", "unsampled", "floor/plain",
     ["traced", "sdk_manual", "sdk_in_span", "tracing", "fastrace"]),
    ("sampled (`AlwaysOn`, batch → no-op exporter)", "sampled", "floor/plain",
     ["traced", "sdk_manual", "sdk_in_span", "tracing", "fastrace"]),
    ("sampled root + 1 child", "tree/*/1", "floor/plain_tree/1",
     ["traced", "sdk_manual", "tracing", "fastrace"]),
    ("sampled root + 10 children", "tree/*/10", "floor/plain_tree/10",
     ["traced", "sdk_manual", "tracing", "fastrace"]),
    ("sampled root + 100 children", "tree/*/100", "floor/plain_tree/100",
     ["traced", "sdk_manual", "tracing", "fastrace"]),
    ("3 attributes (`args(id)`, `attrs(route, items)`)", "attrs", "floor/plain_attrs",
     ["traced", "traced_unsampled", "sdk_manual", "tracing", "fastrace"]),
    ("1 event with 2 attributes (`traced::event!`)", "event", "floor/plain",
     ["traced", "sdk_manual", "tracing", "fastrace"]),
    ("call metrics (counter + histogram, 5 + 2 labels)", "metrics", "floor/plain",
     ["traced", "traced_sampled", "derived", "sdk", "autometrics"]),
]

SUBJECT_NAMES = {
    "traced": "`#[traced]`",
    "traced_unsampled": "`#[traced]`, span not sampled",
    "traced_sampled": "`#[traced(metrics)]`, span sampled",
    "traced_attrs": "`#[traced(args, attrs)]`",
    "traced_event": "`#[traced]` + `event!`",
    "traced_metrics": "`#[traced(metrics)]`",
    "derived_metrics": "derived `Counter` + `Histogram`",
    "sdk_manual": "SDK by hand: `build_with_context` + `mark_span_as_active`",
    "sdk_in_span": "SDK by hand: `in_span`",
    "tracing": "`tracing` `#[instrument]` + tracing-opentelemetry",
    "fastrace": "`fastrace` (`#[trace]` / root span) + fastrace-opentelemetry",
    "derived": "derived `Counter` + `Histogram` (`#[derive(Metrics)]`)",
    "sdk": "raw SDK `Counter` + `Histogram`",
    "autometrics": "`autometrics` (prometheus-client)",
}


def bench_id(group, subject):
    if "*" in group:
        head, tail = group.split("/*/")
        return f"{head}/{subject}/{tail}"
    return f"{group}/{subject}"


def load(root, bid):
    path = os.path.join(root, bid, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def load_allocs(path):
    rows = {}
    if not path or not os.path.exists(path):
        return rows
    for line in open(path):
        m = re.match(r"\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|", line)
        if m:
            rows[(m.group(1), m.group(2))] = (float(m.group(3)), int(m.group(4)), float(m.group(5)))
    return rows


def fmt_time(ns):
    if ns is None:
        return "–"
    if ns >= 1000:
        return f"{ns / 1000:.2f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    if ns >= 10:
        return f"{ns:.1f} ns"
    return f"{ns:.2f} ns"


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}×"


def main():
    root = sys.argv[1]
    allocs = load_allocs(sys.argv[2] if len(sys.argv) > 2 else None)
    t = {}
    out = []
    out.append("| case | subject | time/call | × plain | × SDK best | allocs/call (bytes) |")
    out.append("|---|---|---:|---:|---:|---:|")
    for title, group, floor_id, subjects in CASES:
        floor = load(root, floor_id)
        times = {s: load(root, bench_id(group, s)) for s in subjects}
        if all(v is None for v in times.values()):
            continue
        refs = [times.get(s) for s in ("sdk_manual", "sdk_in_span", "sdk") if times.get(s) is not None]
        best = min(refs) if refs else None
        first = True
        for s in subjects:
            ns = times[s]
            if ns is None:
                continue
            t[(group, s)] = ns
            a = allocs.get((group.replace("/*", ""), s))
            alloc = f"{a[0]:.2f} ({a[1]})" if a else "–"
            name = SUBJECT_NAMES.get(s, s)
            if group == "metrics" and s == "traced":
                name = "`#[traced(metrics)]`, span not sampled"
            out.append("| {} | {} | {} | {} | {} | {} |".format(
                f"**{title}**" if first else "",
                name,
                fmt_time(ns),
                fmt_ratio(ns / floor if floor else None),
                fmt_ratio(ns / best if best else None),
                alloc,
            ))
            first = False
        t[(group, "__floor")] = floor
        t[(group, "__best")] = best
    out.append("")
    out.append("Floors: " + ", ".join(
        f"{name} {fmt_time(load(root, bid))}"
        for name, bid in [("plain", "floor/plain"), ("plain(id, items)", "floor/plain_attrs"),
                          ("root + 1", "floor/plain_tree/1"), ("root + 10", "floor/plain_tree/10"),
                          ("root + 100", "floor/plain_tree/100"),
                          ("plain in the `enabled`-off build", "enabled_off/plain")]
        if load(root, bid) is not None) + ".")
    out.append("")

    def g(group, s):
        return t.get((group, s))

    targets = []

    def target(text, value, ok, detail):
        targets.append((text, value, ok, detail))

    v = g("sampled", "traced"), g("sampled", "__best")
    if None not in v:
        r = v[0] / v[1]
        target("sampled `#[traced]` ≤ 1.1× the hand-written SDK span", f"{r:.2f}×", r <= 1.1,
               f"{fmt_time(v[0])} vs {fmt_time(v[1])}")
    for group, label in (("unsampled", "unsampled"), ("before_init", "before `init()`"),
                         ("sdk_disabled", "`OTEL_SDK_DISABLED`")):
        v = g(group, "traced"), g(group, "__best")
        if None not in v:
            d = v[0] - v[1]
            target(f"{label} within a few ns (≤ 5 ns) of the best SDK code", f"{d:+.1f} ns", d <= 5,
                   f"{fmt_time(v[0])} vs {fmt_time(v[1])}")
    v = g("enabled_off", "traced"), g("enabled_off", "__floor")
    if None not in v:
        d = v[0] - v[1]
        target("`enabled` off == plain (within 0.5 ns)", f"{d:+.2f} ns", abs(d) <= 0.5,
               f"{fmt_time(v[0])} vs {fmt_time(v[1])}")
    v = g("sampled", "tracing"), g("sampled", "traced")
    if None not in v:
        r = v[0] / v[1]
        target("≥ 3× faster than tracing + tracing-opentelemetry (sampled)", f"{r:.2f}×", r >= 3,
               f"{fmt_time(v[1])} vs {fmt_time(v[0])}")
    for n in ("1", "10", "100"):
        v = g(f"tree/*/{n}", "tracing"), g(f"tree/*/{n}", "traced")
        if None not in v:
            r = v[0] / v[1]
            target(f"… root + {n} children", f"{r:.2f}×", r >= 3, f"{fmt_time(v[1])} vs {fmt_time(v[0])}")
    v = g("metrics", "autometrics"), g("metrics", "traced")
    if None not in v:
        r = v[0] / v[1]
        target("`#[traced(metrics)]` ≥ 3× cheaper than autometrics", f"{r:.2f}×", r >= 3,
               f"{fmt_time(v[1])} vs {fmt_time(v[0])}")

    out.append("| target | measured | met | times |")
    out.append("|---|---:|:---:|---|")
    for text, value, ok, detail in targets:
        out.append(f"| {text} | {value} | {'yes' if ok else '**no**'} | {detail} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
