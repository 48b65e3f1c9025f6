#!/usr/bin/env python3
"""The generated parts of docs/validation.md from `cpsim validate --json`: the statistics by split and group, the
published orderings, the check split's worst points and every point (predicted against published). Rewrites the
blocks between <!-- generated:NAME --> markers in place.

    python3 bench/validation_report.py build/release/cli/cpsim docs/validation.md
"""
import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stdout


def pct(x):
    return "-" if x is None else f"{100 * x:+.1f}%"


def section(name, fn, v):
    out = io.StringIO()
    with redirect_stdout(out):
        fn(v)
    return name, out.getvalue().strip()


def main():
    cpsim = sys.argv[1] if len(sys.argv) > 1 else "cpsim"
    doc = sys.argv[2] if len(sys.argv) > 2 else "docs/validation.md"
    v = json.loads(subprocess.run([cpsim, "validate", "--json"], capture_output=True, text=True, check=True).stdout)
    blocks = dict(section(n, f, v) for n, f in (("summary", summary), ("groups", groups), ("orderings", orderings), ("worst", worst), ("points", points)))
    text = open(doc, encoding="utf-8").read()
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(\n<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            sys.exit(f"validation_report: {doc} has no generated:{name} block")
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    with open(doc, "w", encoding="utf-8") as f:
        f.write(text)


def summary(v):
    print(f"Check split: **{v['check']['points']} points, median |error| {100 * v['check']['median']:.1f}%, "
          f"p90 {100 * v['check']['p90']:.1f}%, max {100 * v['check']['max']:.1f}%**; fit split: {v['fit']['points']} points, "
          f"median {100 * v['fit']['median']:.1f}%, p90 {100 * v['fit']['p90']:.1f}%, max {100 * v['fit']['max']:.1f}%; "
          f"{v['sources']} sources scored.")


def groups(v):
    print("| check split group | points | median | p90 | max |")
    print("|---|---|---|---|---|")
    for name, s in sorted(v["check_by_group"].items()):
        print(f"| {name} | {s['points']} | {100 * s['median']:.1f}% | {100 * s['p90']:.1f}% | {100 * s['max']:.1f}% |")


def worst(v):
    pts = v["points"]
    print("| point | setting | published | predicted | error |")
    print("|---|---|---|---|---|")
    for p in sorted([p for p in pts if p["split"] == "check"], key=lambda p: -abs(p["error"]))[:8]:
        print(f"| {p['id']} | {p['setting']} | {p['published_us'] / 1000:.3f} ms | {p['predicted_us'] / 1000:.3f} ms | {pct(p['error'])} |")


def orderings(v):
    pts = v["points"]
    by = {p["id"]: p for p in pts}
    print("FlexAttention against SDPA's flash backend on one H100 (tritonbench PR #2443), time ratio flex / SDPA:\n")
    print("| mask | tokens | published | predicted | ordering |")
    print("|---|---|---|---|---|")
    for mask in ("full", "causal"):
        for s in (512, 1024, 2048, 4096, 8192, 16384):
            a, b = by.get(f"tb-pr2443-flex-{mask}-{s}"), by.get(f"tb-pr2443-sdpa_flash-{mask}-{s}")
            if not a or not b:
                continue
            pub, pre = a["published_us"] / b["published_us"], a["predicted_us"] / b["predicted_us"]
            print(f"| {mask} | {s} | {pub:.3f} | {pre:.3f} | {'same' if (pub < 1) == (pre < 1) else 'REVERSED'} |")
    n = same = 0
    for p in pts:
        if p["id"].startswith("fa3-fig") and "-fa3-" in p["id"]:
            q = by.get(p["id"].replace("-fa3-", "-fa2-"))
            if q:
                n += 1
                same += (p["published_us"] < q["published_us"]) == (p["predicted_us"] < q["predicted_us"])
    print(f"\nFA3 against FA2 on the FA3 paper's shapes: the faster kernel is the same in {same} of {n} pairs.\n")
    print("Head-tail (zigzag) against the plain ring, causal, 8 x H800 (ring-flash-attention README):\n")
    print("| pass | ring published | ring predicted | zigzag published | zigzag predicted |")
    print("|---|---|---|---|---|")
    for pas in ("fwd", "fwd+bwd"):
        r, z = by[f"ringfa-readme-batch-8xH800-{pas}-ring"], by[f"ringfa-readme-batch-8xH800-{pas}-zigzag"]
        print(f"| {pas} | {r['published_us'] / 1000:.2f} ms | {r['predicted_us'] / 1000:.2f} ms | {z['published_us'] / 1000:.2f} ms | {z['predicted_us'] / 1000:.2f} ms |")


def points(v):
    pts = v["points"]
    print("| point | source | setting | split | published | predicted | error |")
    print("|---|---|---|---|---|---|---|")
    for p in pts:
        pred = "-" if p["predicted_us"] is None else f"{p['predicted_us'] / 1000:.4g} ms"
        print(f"| {p['id']} | [{p['source'].split(',')[0][:40]}]({p['url']}) | {p['setting']} | {p['split']} | {p['published_us'] / 1000:.4g} ms | {pred} | {pct(p['error'])} |")


if __name__ == "__main__":
    main()
