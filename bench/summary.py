#!/usr/bin/env python3
"""Prints bench/run.sh's table from its JSON lines: each figure beside the
baseline measured in the same run, the ratio, the target and whether it
was met."""
import json
import sys


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]

    def get(scenario, label="sqlite"):
        for r in rows:
            if r.get("scenario") == scenario and r.get("label", label) == label:
                return r
        return None

    def val(scenario, label):
        r = get(scenario, label)
        return None if r is None else r.get("value")

    out = []

    def line(name, figure, baseline, ratio, target, met):
        out.append((name, figure, baseline, ratio, target, "met" if met else "NOT MET"))

    backends = ["sqlite"] + (["postgres"] if get("bills", "postgres") else [])
    for b in backends:
        tag = "SQLite" if b == "sqlite" else "PostgreSQL"
        bills, static = get("bills", b), get("get", b)
        if bills and static:
            ratio = bills["rps"] / static["rps"]
            line(f"bill page after look-up, 64 conn [{tag}]",
                 f"{bills['rps']:,.0f} req/s, p99 {bills['p99_ms']:.1f} ms",
                 f"static 5.7 KB page: {static['rps']:,.0f} req/s, p99 {static['p99_ms']:.1f} ms",
                 f"{ratio:.2f} x", ">= 0.6 x, p99 <= 25 ms",
                 ratio >= 0.6 and bills["p99_ms"] <= 25)
        hooks, ins = get("webhooks", b), get("insert", b)
        if hooks and ins:
            ratio = hooks["rps"] / ins["rps"]
            line(f"signed webhook -> durable ledger posting, 64 senders [{tag}]",
                 f"{hooks['rps']:,.0f} postings/s, p99 {hooks['p99_ms']:.1f} ms ({hooks['requests']} postings)",
                 f"one INSERT per fsynced transaction: {ins['rps']:,.0f} req/s, p99 {ins['p99_ms']:.1f} ms",
                 f"{ratio:.2f} x", ">= 2.0 x", ratio >= 2.0)

    ours, bare = val("import_1m", "cityteller"), val("import_1m", "sqlite3")
    if ours is not None and bare is not None:
        ratio = ours / bare
        line("import 1,000,000 receivables (validated, all-or-nothing)",
             f"{ours:.2f} s", f"sqlite3 .import into a bare table: {bare:.2f} s",
             f"{ratio:.2f} x time", "<= 2.0 x time and <= 10 s", ratio <= 2.0 and ours <= 10)

    v, h = val("audit_verify_s", "cityteller"), val("audit_verify_s", "sha256")
    if v and h:
        ratio = h / v
        line("audit verify over 1,000,000 events",
             f"{1e6 / v:,.0f} events/s", f"plain SHA-256 chain: {1e6 / h:,.0f} records/s",
             f"{ratio:.2f} x rate", ">= 0.5 x rate", ratio >= 0.5)

    idle, peak = val("rss_idle_kb", "sqlite"), val("rss_peak_kb", "sqlite")
    if idle is not None and peak is not None:
        line("memory (SQLite)", f"RSS idle {idle / 1024:.1f} MB, peak {peak / 1024:.1f} MB", "-", "-",
             "idle <= 40 MB, peak <= 150 MB", idle <= 40 * 1024 and peak <= 150 * 1024)

    flood, alone = get("bills_during_flood", "sqlite"), get("bills", "sqlite")
    if flood and alone:
        line("bill page during a 1,000-connection sign-in flood",
             f"p99 {flood['p99_ms']:.1f} ms, {flood['rps']:,.0f} req/s",
             f"bill page alone: p99 {alone['p99_ms']:.1f} ms, {alone['rps']:,.0f} req/s",
             f"{flood['p99_ms'] / max(alone['p99_ms'], 1e-9):.2f} x p99", "p99 <= 50 ms",
             flood["p99_ms"] <= 50)

    weight = get("page_weight_max")
    if weight:
        line("resident payment page weight (bill and review pages, first visit)",
             f"{weight['bytes'] / 1024:.1f} KB, {weight['scripts']} scripts", "-", "-",
             "<= 15 KB, 0 scripts", weight["bytes"] <= 15 * 1024 and weight["scripts"] == 0)

    widths = [max(len(str(r[i])) for r in out + [HEAD]) for i in range(6)]
    for r in [HEAD, tuple("-" * w for w in widths)] + out:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    for r in rows:
        if r.get("scenario") == "import_100k":
            print(f"(import of the 100,000-bill data set [{r['label']}]: {r['value']:.2f} s)")
    return 0 if all(r[5] == "met" for r in out) else 1


HEAD = ("scenario", "figure", "baseline (same run)", "ratio", "target", "")

if __name__ == "__main__":
    sys.exit(main())
