#!/usr/bin/env python3
"""Writes the table of `probity bench adversarial --json` into docs/security.md.

usage: security_table.py DOC.md MACHINE_DESCRIPTION < lines

Reads the suite's JSON lines (other lines and other suites are ignored) and replaces what
stands between the markers <!-- adversarial-table:begin --> and <!-- adversarial-table:end -->
in DOC.md with the table, the date and the machine. bench_report.py renders the same table
into docs/benchmarks.md with adversarial_table().
"""
import datetime
import json
import sys

BEGIN = "<!-- adversarial-table:begin -->"
END = "<!-- adversarial-table:end -->"


def read_rows(stream):
    rows = []
    for line in stream:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("suite") == "adversarial" and "strategy" in rec:
            rows.append(rec)
    return rows


def _num(v, digits=4):
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1):
        return f"{int(v):,}"
    return f"{v:.{digits}g}"


def _money(v):
    return f"{round(v):,}"


def adversarial_table(rows):
    """Markdown lines of the table, one row per strategy."""
    lines = [
        "| strategy | f | k | jobs | detected | detection rate | theory 1−(1−f)^k "
        "| exact | honest slashed | profit / job | vs honest | promises broken |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        theory = _num(r["theory"])
        if r.get("theory_formula") == "audit_rate*f":
            theory += " (audit rate × f)"
        lines.append(
            f"| {r['name']} | {_num(r['f'])} | {r['k']} | {r['jobs']:,} | {r['detected']:,} "
            f"| {_num(r['detection_rate'])} | {theory} | {_num(r['theory_exact'])} "
            f"| {r['honest_slashed']} | {_money(r['mean_profit'])} "
            f"| {_money(r['mean_profit_vs_honest'])} | {r['promises_broken']} |")
    total = sum(r["jobs"] + r["honest_jobs"] for r in rows if r["strategy"] != "honest")
    lines += ["", f"{total:,} jobs in all."]
    return lines


def main():
    doc, machine = sys.argv[1], sys.argv[2]
    rows = read_rows(sys.stdin)
    if not rows:
        sys.exit("security_table: no `probity bench adversarial --json` lines on stdin")
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"security_table: {doc} lacks the {BEGIN} / {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    block = [BEGIN, "",
             f"Measured {datetime.date.today().isoformat()} on {machine}.", ""]
    block += adversarial_table(rows) + ["", END]
    with open(doc, "w") as f:
        f.write(head + "\n".join(block) + tail)


if __name__ == "__main__":
    main()
