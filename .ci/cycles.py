#!/usr/bin/env python3
"""Two-way imports between the top-level modules of runtime/src.

A module `a` that names `crate::b::..` while `b` names `crate::a::..` is an
import cycle: neither can be read, changed or moved without the other. This
prints every such pair (comments and `mod tests` left out) and fails on any
pair not listed in .ci/cycles-left.txt, and on a listed pair that is gone (so
the list only shrinks and stays true). Submodules count as their top-level
module: `tracer/spans` using `tracer` is a parent and its child.
"""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "runtime", "src")
uses = {}
for dirpath, _, files in os.walk(root):
    for name in files:
        if not name.endswith(".rs"):
            continue
        path = os.path.join(dirpath, name)
        top = os.path.relpath(path, root).split(os.sep)[0].removesuffix(".rs")
        if top == "lib":
            continue
        with open(path) as f:
            code = "\n".join(l for l in f.read().split("\n") if not l.lstrip().startswith("//"))
        code = re.split(r"#\[cfg\(test\)\]\s*mod tests", code)[0]
        for used in re.findall(r"crate::(\w+)", code):
            if used != top:
                uses.setdefault(top, set()).add(used)

found = {f"{a} <-> {b}" for a in uses for b in uses[a] if a < b and a in uses.get(b, ())}
with open(os.path.join(here, "cycles-left.txt")) as f:
    left = {l.strip() for l in f if l.strip() and not l.startswith("#")}
for pair in sorted(found):
    print(f"{pair}{'' if pair in left else '   <- new'}")
new, gone = found - left, left - found
if new:
    print(f"error: {len(new)} new import cycle(s) in runtime/src (above)", file=sys.stderr)
if gone:
    print(f"error: gone, take them off .ci/cycles-left.txt: {', '.join(sorted(gone))}", file=sys.stderr)
sys.exit(1 if new or gone else 0)
