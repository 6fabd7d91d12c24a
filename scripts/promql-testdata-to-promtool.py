#!/usr/bin/env python3
"""Converts Prometheus's PromQL test scripts (promql/testdata/*.test) to promtool's test format.

    scripts/promql-testdata-to-promtool.py OUT_DIR FILE.test...

Each `eval instant at T EXPR` becomes one promtool test file, OUT_DIR/<file>-<line>.yaml, holding
the series of the `load` blocks in force at that point (since the last `clear`) and one
promql_expr_test. Writes OUT_DIR/cases.tsv: file name, source file:line, and the expression.

What the test language has and promtool's format lacks:
- several `load` blocks with different intervals: the test's interval is their greatest common
  divisor and each series is written with `_xN` gaps so its points keep their times;
- `eval_fail` (an expected error) has no promtool equivalent: such cases are skipped and counted;
- `eval_ordered`: promtool sorts both sides, so the order is not checked;
- expected infinities and NaN are written as YAML floats (`.inf`, `-.inf`, `.nan`), the only
  spellings promtool reads.
Stdlib only, so it runs on any python3. Prometheus's files are read, never copied into the tree.
"""

import math
import os
import re
import sys

DURATION_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000,
                  "y": 31_536_000_000}


def parse_duration_ms(text):
    """A Prometheus duration (`5m`, `1h30m`, `100ms`) or seconds as a number, in milliseconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text)
    if parts and "".join(n + u for n, u in parts) == text:
        return sum(int(n) * DURATION_UNITS[u] for n, u in parts)
    return round(float(text) * 1000)


def format_duration(ms):
    for unit in ("w", "d", "h", "m", "s"):
        if ms and ms % DURATION_UNITS[unit] == 0:
            return f"{ms // DURATION_UNITS[unit]}{unit}"
    return f"{ms}ms"


def split_series(line):
    """Splits `name{labels} rest` at the end of the series descriptor (quotes respected)."""
    i, depth, quote = 0, 0, None
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return line[: i + 1], line[i + 1 :].strip()
        elif c.isspace() and depth == 0:
            return line[:i], line[i:].strip()
        i += 1
    return line, ""


def expand_values(text):
    """The series notation expanded to one entry per interval: a float, None (no point) or 'stale'."""
    out = []
    for token in text.split():
        m = re.fullmatch(r"_x(\d+)", token)
        if token == "_":
            out.append(None)
        elif m:
            out.extend([None] * int(m.group(1)))
        elif token == "stale":
            out.append("stale")
        elif m := re.fullmatch(r"([-+]?[^-+x]+(?:[eE][-+]?\d+)?)([-+])([^x]+)x(\d+)", token):
            value, step = float(m.group(1)), float(m.group(3))
            if m.group(2) == "-":
                step = -step
            for _ in range(int(m.group(4)) + 1):
                out.append(value)
                value += step
        elif m := re.fullmatch(r"([^x]+)x(\d+)", token):
            out.extend([float(m.group(1))] * (int(m.group(2)) + 1))
        else:
            out.append(float(token))
    return out


def yaml_float(v):
    if math.isnan(v):
        return ".nan"
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    return repr(v)


def series_value(v):
    if v == "stale":
        return "stale"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return repr(v)


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def respace(values, factor):
    """Entries one interval apart written for an interval `factor` times shorter."""
    tokens = []
    for i, v in enumerate(values):
        if i:
            tokens.append(f"_x{factor - 1}" if factor > 2 else "_" if factor == 2 else "")
        tokens.append("_" if v is None else series_value(v))
    return " ".join(t for t in tokens if t)


class Converter:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.cases = []
        self.skipped_fail = 0

    def convert(self, path):
        base = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        loads = []  # (interval_ms, [(series, values_text)])
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            number = i + 1
            i += 1
            if not line or line.startswith("#"):
                continue
            body = []
            while i < len(lines) and lines[i][:1] in (" ", "\t") and lines[i].strip():
                if not lines[i].strip().startswith("#"):
                    body.append(lines[i].strip())
                i += 1
            if line == "clear":
                loads = []
            elif line.startswith("load "):
                loads.append((parse_duration_ms(line.split()[1]), [split_series(b) for b in body]))
            elif m := re.match(r"(eval(?:_ordered|_fail)?) instant at (\S+) (.*)", line):
                if m.group(1) == "eval_fail":
                    self.skipped_fail += 1
                    continue
                self.write_case(base, number, loads, parse_duration_ms(m.group(2)), m.group(3), body)
            else:
                raise SystemExit(f"{path}:{number}: cannot read {line!r}")

    def write_case(self, base, number, loads, at_ms, expr, body):
        interval = 0
        for ms, _ in loads:
            interval = math.gcd(interval, ms)
        interval = interval or 60_000
        out = ["# Converted by scripts/promql-testdata-to-promtool.py from Prometheus's " f"{base}.test:{number}.",
               "rule_files: []", "evaluation_interval: 1m", "tests:", f"- interval: {format_duration(interval)}",
               "  input_series:"]
        for ms, series in loads:
            for name, values in series:
                text = values if ms == interval else respace(expand_values(values), ms // interval)
                out += [f"  - series: {quote(name)}", f"    values: {quote(text)}"]
        out += ["  promql_expr_test:", f"  - expr: {quote(expr)}", f"    eval_time: {format_duration(at_ms)}",
                "    exp_samples:" + ("" if body else " []")]
        for b in body:
            try:
                labels, value = "", float(b)
            except ValueError:
                labels, value = split_series(b)
                labels = labels if "{" in labels else labels + "{}"
                value = float(value)
            out += [f"    - labels: {quote(labels)}", f"      value: {yaml_float(value)}"]
        name = f"{base}-{number}.yaml"
        with open(os.path.join(self.out_dir, name), "w", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")
        self.cases.append((name, f"{base}.test:{number}", expr))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.strip().split("\n\n")[1])
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    converter = Converter(out_dir)
    for path in sys.argv[2:]:
        converter.convert(path)
    with open(os.path.join(out_dir, "cases.tsv"), "w", encoding="utf-8") as f:
        for case in converter.cases:
            f.write("\t".join(case) + "\n")
    print(f"{len(converter.cases)} cases written to {out_dir} ({converter.skipped_fail} eval_fail skipped)")


if __name__ == "__main__":
    main()
