#!/usr/bin/env python3
"""Peak RSS (VmHWM) of `tracegate collect` under the hostile request shapes of issue #15.

Usage: bench/receiver-rss.py [--only SHAPE,SHAPE] [path/to/tracegate ...]
       (default binary: target/debug/tracegate; SHAPE: a function name below)

Each shape runs against a fresh collector; the figure is its VmHWM after the requests.
gRPC is sent with curl --http2-prior-knowledge (a hand-made gRPC frame).
"""
import gzip
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client

MIB = 1024 * 1024


def start(binary, *extra):
    proc = subprocess.Popen(
        [binary, "collect", "--otlp-http", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    http_addr = re.search(r"http://([\d.:]+)", proc.stdout.readline()).group(1)
    grpc_addr = re.search(r"on ([\d.:]+)", proc.stdout.readline()).group(1)
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, http_addr, grpc_addr


def peak_mb(proc):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def post(addr, body, content_type, encoding="gzip", timeout=120):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/v1/traces", body=body, headers={
            "content-type": content_type, "content-encoding": encoding})
        return conn.getresponse().status
    except Exception as e:  # a receiver that dies or resets counts as a failure
        return f"error: {e.__class__.__name__}"
    finally:
        conn.close()


EMPTY_RS = gzip.compress(b"\x0a\x00" * 10_000_000, 9)
EMPTY_RS_JSON = gzip.compress(b'{"resourceSpans":[' + b",".join([b"{}"] * 10_000_000) + b"]}", 9)


EMPTY_RS_4M = gzip.compress(b"\x0a\x00" * 4_000_000, 9)


def minimal_spans(n):
    """An ExportTraceServiceRequest of n minimal valid spans (30 bytes each), one trace each."""
    spans = bytearray()
    for i in range(1, n + 1):
        trace = i.to_bytes(16, "big")
        span = i.to_bytes(8, "big")
        spans += b"\x12\x1c\x0a\x10" + trace + b"\x12\x08" + span
    scope = b"\x12" + varint(len(spans)) + bytes(spans)
    return b"\x0a" + varint(len(scope)) + scope


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def http_protobuf_accepted(binary):
    proc, http_addr, _ = start(binary)
    status = post(http_addr, EMPTY_RS_4M, "application/x-protobuf")
    return proc, f"status {status}"


def concurrent_accepted(binary):
    proc, http_addr, _ = start(binary)
    results = []
    threads = [threading.Thread(target=lambda: results.append(post(http_addr, EMPTY_RS_4M, "application/x-protobuf")))
               for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summary = {s: results.count(s) for s in set(results)}
    return proc, f"statuses {summary}"


def million_spans(binary):
    proc, http_addr, _ = start(binary)
    body = gzip.compress(minimal_spans(1_000_000), 1)
    status = post(http_addr, body, "application/x-protobuf")
    return proc, f"status {status}"


def million_spans_unlimited(binary):
    """The same with the per-request span limit lifted: what it cost before the limit."""
    proc, http_addr, _ = start(binary, "--max-spans-per-request", "2000000")
    body = gzip.compress(minimal_spans(1_000_000), 1)
    status = post(http_addr, body, "application/x-protobuf")
    return proc, f"status {status}"


def largest_accepted_spans(binary):
    """The most minimal spans the default --max-spans-per-request accepts (262,144)."""
    proc, http_addr, _ = start(binary)
    body = gzip.compress(minimal_spans(262_144), 1)
    status = post(http_addr, body, "application/x-protobuf")
    return proc, f"status {status}"


def http_protobuf(binary):
    proc, http_addr, _ = start(binary)
    status = post(http_addr, EMPTY_RS, "application/x-protobuf")
    return proc, f"status {status}"


def http_json(binary):
    proc, http_addr, _ = start(binary)
    status = post(http_addr, EMPTY_RS_JSON, "application/json")
    return proc, f"status {status}"


def grpc(binary):
    proc, _, grpc_addr = start(binary)
    frame = b"\x01" + len(EMPTY_RS).to_bytes(4, "big") + EMPTY_RS
    with tempfile.NamedTemporaryFile() as f:
        f.write(frame)
        f.flush()
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-D", "-", "--http2-prior-knowledge",
             "-H", "content-type: application/grpc", "-H", "grpc-encoding: gzip",
             "-H", "te: trailers", "--data-binary", f"@{f.name}", "--max-time", "120",
             f"http://{grpc_addr}/opentelemetry.proto.collector.trace.v1.TraceService/Export"],
            capture_output=True, text=True).stdout
    status = re.findall(r"grpc-status: (\d+)", out)
    return proc, f"grpc-status {status[0] if status else '0 (in trailers)'}"


def concurrent_bombs(binary):
    proc, http_addr, _ = start(binary)
    results = []
    threads = [threading.Thread(target=lambda: results.append(post(http_addr, EMPTY_RS, "application/x-protobuf")))
               for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summary = {s: results.count(s) for s in set(results)}
    return proc, f"statuses {summary}"


def stalled_bodies(binary):
    proc, http_addr, _ = start(binary)
    host, port = http_addr.rsplit(":", 1)
    size = 8 * MIB
    chunk = b"\x0a" * MIB
    socks = []

    def stall():
        s = socket.create_connection((host, int(port)))
        socks.append(s)
        s.sendall(f"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: {size}\r\n\r\n".encode())
        try:
            for _ in range(7):
                s.sendall(chunk)
            s.sendall(chunk[:-1])
        except OSError:
            pass

    threads = [threading.Thread(target=stall) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(2)
    return proc, f"{len(socks)} connections stalled"


SHAPES = [
    ("gzip bomb: 10M empty resource_spans, HTTP protobuf (20 KB)", http_protobuf),
    ("the same, OTLP/JSON over HTTP", http_json),
    ("the same, gRPC", grpc),
    ("64 concurrent HTTP protobuf gzip bombs", concurrent_bombs),
    ("100 stalled 8 MiB bodies (all but one byte sent)", stalled_bodies),
    ("gzip bomb: 4M empty resource_spans (under the message budget)", http_protobuf_accepted),
    ("64 concurrent bombs of 4M empty resource_spans", concurrent_accepted),
    ("1M minimal valid spans, one trace each (30 MB, gzip)", million_spans),
    ("the same, --max-spans-per-request 2000000 (no span limit)", million_spans_unlimited),
    ("262,144 minimal valid spans (the most the defaults accept)", largest_accepted_spans),
]


def main():
    """Arguments: binaries; `--only NAME,NAME` picks shapes by function name."""
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
    binaries = args or ["target/debug/tracegate"]
    print("| shape | " + " | ".join(os.path.basename(b) for b in binaries) + " |")
    print("|---|" + "---|" * len(binaries))
    for name, shape in SHAPES:
        if only is not None and shape.__name__ not in only:
            continue
        cells = []
        for binary in binaries:
            proc, outcome = shape(binary)
            cells.append(f"{peak_mb(proc):.0f} MB ({outcome})")
            proc.kill()
            proc.wait()
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
