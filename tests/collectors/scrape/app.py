#!/usr/bin/python3
"""A small web app instrumented with the real Python Prometheus client (Debian's
python3-prometheus-client), for the scrape collector's tests.

It serves JSON endpoints of the four classes the bundled rules know (auth, read, mutation,
reporting), each timed into http_request_duration_seconds (a histogram with method, path, status
and endpoint_class), counted into http_requests_total, plus a summary, a gauge and an info metric.
/metrics answers in the text format or OpenMetrics (with _created series), as the client negotiates.

    app.py PORT [--latency SECONDS] [--error-ratio R] [--traffic RPS] [--prime N]

--latency makes every handler sleep that long, --error-ratio makes that share of requests answer
500, --traffic starts a thread that sends RPS requests per second to the app's own endpoints over
HTTP (spread over the classes), so the metrics move as a real app's do. --prime records N made-up
requests per route at start (deterministic durations, some 500s) and nothing after, so that two
scrapers see the same values. Stops on SIGTERM.
"""

import argparse
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import choose_encoder

REGISTRY = CollectorRegistry()
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DURATION = Histogram("http_request_duration_seconds", "Time spent answering HTTP requests.",
                     ["method", "path", "status", "endpoint_class"], buckets=BUCKETS, registry=REGISTRY)
REQUESTS = Counter("http_requests", "HTTP requests answered.", ["method", "path", "status", "endpoint_class"],
                   registry=REGISTRY)
PAYLOAD = Summary("app_response_bytes", "Size of the response bodies.", ["endpoint_class"], registry=REGISTRY)
IN_FLIGHT = Gauge("app_requests_in_flight", "Requests being answered.", registry=REGISTRY)
BUILD = Info("app_build", "The app's version.", registry=REGISTRY)
BUILD.info({"version": "1.2.3", "revision": "abc\"def\\n"})
ODD = Gauge("app_label_escapes", "A gauge whose labels need escaping:\nquote \" and backslash \\.", ["text"],
            registry=REGISTRY)
ODD.labels('say "hi"\\ and\nbye').set(float("nan"))
ODD.labels("inf").set(float("inf"))
ODD.labels("minus inf").set(float("-inf"))

ROUTES = {
    ("POST", "/api/login"): "auth",
    ("GET", "/api/items"): "read",
    ("POST", "/api/items"): "mutation",
    ("GET", "/api/reports/monthly"): "reporting",
}

settings = {"latency": 0.0, "error_ratio": 0.0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def _metrics(self):
        encoder, content_type = choose_encoder(self.headers.get("Accept"))
        body = encoder(REGISTRY)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method):
        path = self.path.split("?")[0]
        if method == "GET" and path == "/metrics":
            return self._metrics()
        cls = ROUTES.get((method, path))
        if cls is None:
            self.send_response(404)
            self.end_headers()
            return
        IN_FLIGHT.inc()
        start = time.monotonic()
        if settings["latency"] > 0:
            time.sleep(settings["latency"])
        status = 500 if random.random() < settings["error_ratio"] else 200
        body = b'{"ok": %s}' % (b"true" if status == 200 else b"false")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        labels = dict(method=method, path=path, status=str(status), endpoint_class=cls)
        DURATION.labels(**labels).observe(time.monotonic() - start)
        REQUESTS.labels(**labels).inc()
        PAYLOAD.labels(endpoint_class=cls).observe(len(body))
        IN_FLIGHT.dec()

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")


def traffic(port, rps):
    routes = list(ROUTES)
    i = 0
    while True:
        method, path = routes[i % len(routes)]
        i += 1
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                     data=b"{}" if method == "POST" else None)
        try:
            urllib.request.urlopen(req, timeout=5).read()
        except urllib.error.HTTPError:
            pass
        except Exception:  # the app is stopping
            pass
        time.sleep(1.0 / rps)


def prime(n):
    for (method, path), cls in ROUTES.items():
        for i in range(n):
            status = "500" if i % 10 == 9 else "200"
            labels = dict(method=method, path=path, status=status, endpoint_class=cls)
            DURATION.labels(**labels).observe(0.003 * (i % 7) + 0.001)
            REQUESTS.labels(**labels).inc()
            PAYLOAD.labels(endpoint_class=cls).observe(10 + i)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--error-ratio", type=float, default=0.0)
    parser.add_argument("--traffic", type=float, default=0.0)
    parser.add_argument("--prime", type=int, default=0)
    args = parser.parse_args()
    settings["latency"] = args.latency
    settings["error_ratio"] = args.error_ratio
    prime(args.prime)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: (server.server_close(), sys.exit(0)))
    if args.traffic > 0:
        threading.Thread(target=traffic, args=(args.port, args.traffic), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
