#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the tests' inputs: the rule files
and their tests, the configs, captured exposition, kubelet and Redis replies, and a few hand-written
inputs. Run from the repository root after the inputs change; the output is committed.
store_snapshot's seeds come from a real snapshot (fuzz/store_snapshot_seed.cpp) and are left alone."""
import glob
import hashlib
import json
import os
import shutil

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
HTTP_HEAD = "Host: tocsin\r\nUser-Agent: fuzz\r\n"


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def files(*patterns):
    out = []
    for p in patterns:
        out += sorted(glob.glob(os.path.join(ROOT, p)))
    return [os.path.relpath(f, ROOT) for f in out]


def walk(node, key):
    """Every string value under `key` anywhere in a YAML document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from walk(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)


def yaml_docs(paths):
    for p in paths:
        try:
            yield from yaml.safe_load_all(read(p))
        except yaml.YAMLError:
            pass


def write(target, seeds):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    for s in seeds:
        if isinstance(s, str):
            s = s.encode()
        h = hashlib.sha1(s).hexdigest()[:16]
        if h in seen:
            continue
        seen.add(h)
        with open(os.path.join(d, h), "wb") as f:
            f.write(s)
    print(f"{target}: {len(seen)} seeds")


rule_files = files("rules/*.yaml", "tests/rules/testdata/prometheus_rules.yaml", "tests/rules/slo_testdata/slo_burn.yaml")
test_files = files("rules/tests/*.yaml", "tests/rules/testdata/*_test.yaml", "tests/rules/slo_testdata/*_test.yaml",
                   "tests/promql/testdata/functions_test.yaml")
docs = list(yaml_docs(rule_files + test_files + files("tests/promql/testdata/functions.spec.yaml")))

exprs = []
for doc in docs:
    exprs += list(walk(doc, "expr"))
exprs += ['sum by (job) (rate(http_requests_total{code=~"5..", job!="x"}[5m] offset 1h @ 1700000000))',
          'histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))[30m:1m]',
          'a + on(instance) group_left(role) b unless ignoring(x) c or -vector(1) ^ 2 % 3 atan2 4',
          'topk(3, x) > bool 0.5', 'label_replace(up, "a", "$1", "b", "(.*)")', '"str"', '0x1F + 1e3 - Inf']
write("promql", exprs)

templates = []
for doc in yaml_docs(files("tests/rules/testdata/templates.yaml")):
    templates += list(walk(doc, "template"))
for doc in docs:
    for key in ("summary", "description", "runbook_url"):
        templates += list(walk(doc, key))
write("template", templates)

write("rule_file", [read(p) for p in rule_files])
write("config", [read(p) for p in files("config/tocsin.yaml", "config/examples/*.yaml")])
write("unit_test_file", [read(p) for p in test_files])

write("redis_info", [read("tests/collectors/redis/data/info_all_7.0.txt"),
                     "# Server\r\nredis_version:6.2.6\r\nuptime_in_seconds:12\r\n"
                     "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n",
                     "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
                     "slave0:ip=10.0.0.2,port=6379,state=online,offset=100,lag=0\r\n"
                     "# Commandstats\r\ncmdstat_get:calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n"
                     "# Latencystats\r\nlatency_percentiles_usec_get:p50=1.003,p99=2.007,p99.9=3.001\r\n"
                     "# Errorstats\r\nerrorstat_ERR:count=3\r\n"])
write("redis_slowlog", [read(p) for p in files("tests/collectors/redis/data/*.resp")] +
      ["*0\r\n", "*1\r\n*4\r\n:1\r\n:1700000000\r\n:15\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
       "-ERR unknown command\r\n", "$-1\r\n"])

write("exposition", [b"\0" + read(p) for p in files("tests/data/scrape/*.prom")] +
      [b"\1" + read(p) for p in files("tests/data/scrape/*.openmetrics")] +
      [b'\0# HELP a Help \\n text\n# TYPE a counter\na{b="c\\"d",e="\\\\"} 1.5e3 1700000000000\n',
       b'\1# TYPE h histogram\n# UNIT h seconds\nh_bucket{le="0.1"} 3 # {trace_id="x"} 0.05 1.5\nh_count 3\n# EOF\n'])

write("kubelet", [read(p) for p in files("tests/data/kubelet/*.json")])

requests = [
    "GET /api/v1/query?query=up&time=1700000000 HTTP/1.1\r\n" + HTTP_HEAD + "\r\n",
    "GET /api/v1/query_range?query=rate(x%5B5m%5D)&start=1700000000&end=1700003600&step=15s HTTP/1.1\r\n"
    + HTTP_HEAD + "\r\n",
    "POST /api/v1/query HTTP/1.1\r\n" + HTTP_HEAD +
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\nquery=sum(up)&time=10",
    "GET /api/v1/series?match%5B%5D=up&match[]={job=%22a%22} HTTP/1.1\r\n" + HTTP_HEAD + "\r\n",
    "GET /api/v1/labels HTTP/1.0\r\n\r\n",
    "GET /api/v1/label/job/values HTTP/1.1\r\n" + HTTP_HEAD + "\r\n",
    "POST /api/v1/alerts/abc%2Fdef/ack HTTP/1.1\r\n" + HTTP_HEAD + "Transfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n0\r\n\r\n",
    "DELETE /api/v1/silences/7 HTTP/1.1\r\n" + HTTP_HEAD + "\r\n",
    "HEAD /metrics HTTP/1.1\r\n" + HTTP_HEAD + "Accept-Encoding: gzip\r\n\r\n",
]
write("http_request", requests)

state = {"version": 1, "groups": [{"group": "fuzz.rules.yml;fuzz", "rules": [
    {"rule": "Tiered", "index": 0, "alerts": [
        {"labels": {"alertname": "Tiered", "instance": "a"}, "state": "firing", "active_at": 1700000000000,
         "fired_at": 1700000060000, "keep_firing_since": None, "tier": 1, "tier_since": [1700000000000, None],
         "clear_since": None}]},
    {"rule": "Plain", "index": 1, "alerts": [
        {"labels": {"alertname": "Plain", "job": "x"}, "state": "pending", "active_at": 1700000000000,
         "fired_at": 0, "keep_firing_since": 1700000100000, "tier": -1, "tier_since": [],
         "clear_since": None}]}]}]}
write("alert_state", [json.dumps(state, indent=1), json.dumps({"version": 1, "groups": []})])
