#!/usr/bin/env python3
"""Runs Prometheus's own PromQL tests through promtool and through `tocsin test`, case by case.

    scripts/promql-testdata-check.py TESTDATA_DIR [TOCSIN]

TESTDATA_DIR holds Prometheus's promql/testdata/*.test (of the version promtool is: 2.42 on Debian 12),
e.g. `git -C prometheus archive v2.42.0 promql/testdata | tar -x`. TOCSIN defaults to build/src/app/tocsin.
Each case is converted by promql-testdata-to-promtool.py into a temporary directory; tocsin runs with
`--compat prometheus2`. Prints how many cases each tool passes and every case tocsin fails that it
should pass: those promtool passes, and those promtool fails only because it compares NaN with `==`
(its expected and got lines are then identical). Exit status 1 when there is such a case.
"""

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, text=True)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired:
        return -1, "timed out"


def nan_only(output):
    """promtool's failure is only NaN != NaN: every `exp:` line is its `got:` line."""
    exp = re.findall(r"exp: (.*)", output)
    got = re.findall(r"got: (.*)", output)
    return bool(exp) and exp == got and "err:" not in output


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__.strip().split("\n\n")[1])
    testdata = sys.argv[1]
    tocsin = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "build", "src", "app", "tocsin")
    promtool = shutil.which("promtool")
    if not promtool:
        raise SystemExit("promtool is not installed (apt-get install prometheus)")
    files = sorted(os.path.join(testdata, f) for f in os.listdir(testdata) if f.endswith(".test"))
    out = tempfile.mkdtemp(prefix="promql-testdata-")
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "promql-testdata-to-promtool.py"), out, *files],
                       check=True)
        cases = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "cases.tsv"), encoding="utf-8")]

        def both(case):
            path = os.path.join(out, case[0])
            return case, run([promtool, "test", "rules", path]), run([tocsin, "test", "--compat", "prometheus2", path])

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(both, cases))
    finally:
        shutil.rmtree(out, ignore_errors=True)

    promtool_pass = [r for r in results if r[1][0] == 0]
    promtool_nan = [r for r in results if r[1][0] != 0 and nan_only(r[1][1])]
    tocsin_pass = [r for r in results if r[2][0] == 0]
    owed = [r for r in promtool_pass + promtool_nan if r[2][0] != 0]
    print(f"{len(results)} cases: promtool passes {len(promtool_pass)}, fails {len(promtool_nan)} more only on NaN; "
          f"tocsin passes {len(tocsin_pass)}")
    print(f"tocsin passes {len(promtool_pass) - sum(1 for r in owed if r in promtool_pass)} of the {len(promtool_pass)} "
          f"promtool passes and {len(promtool_nan) - sum(1 for r in owed if r in promtool_nan)} of the "
          f"{len(promtool_nan)} it fails only on NaN")
    for case, _, (status, output) in owed:
        print(f"\nFAIL {case[1]}: {case[2]}\n{output.strip()}")
    return 1 if owed else 0


if __name__ == "__main__":
    sys.exit(main())
