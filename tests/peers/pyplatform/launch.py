"""Start the Python platform: one process per service, all on 127.0.0.1.

Usage:
  launch.py [--ports gateway=P,catalog=P,stock=P,pricing=P] [--uninstrumented SERVICE]
            [--otlp-endpoint URL] [--stable-semconv SERVICE,…] [--flaky SERVICE,…]
            [--watch-stdin]

Each option falls back to an environment variable: PYPLATFORM_PORTS,
PYPLATFORM_UNINSTRUMENTED, OTEL_EXPORTER_OTLP_ENDPOINT (default http://127.0.0.1:4318),
PYPLATFORM_STABLE_SEMCONV (default `pricing`: the services that emit the stable HTTP semantic
conventions, OTEL_SEMCONV_STABILITY_OPT_IN=http; the others keep the instrumentations' default,
the older `http.status_code`/`http.url`/`net.*` names, as many real teams still do; `none` for none),
PYPLATFORM_FLAKY (default none: services that answer 503 to the first request for each {n};
their callers retry through urllib3, inside one CLIENT span).
Default ports: 8081…8084. Every service gets OTEL_SERVICE_NAME=its name and a 200 ms batch
span processor delay (OTEL_BSP_SCHEDULE_DELAY) unless the environment sets one;
the uninstrumented service runs plain Flask and plain requests.

Prints `ready gateway=URL …` once every service answers /health (bounded: 30 s), then runs
until it gets SIGTERM/SIGINT, a service exits, or (with --watch-stdin) its standard input
closes, so a test harness that dies takes the platform with it. The services die with the launcher even when it is
killed with SIGKILL (PR_SET_PDEATHSIG).
"""

import argparse
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request

SERVICES = ["gateway", "catalog", "stock", "pricing"]
DEFAULT_PORTS = "gateway=8081,catalog=8082,stock=8083,pricing=8084"
HERE = os.path.dirname(os.path.abspath(__file__))


def die_with_parent():
    """Runs in the child between fork and exec: SIGTERM it when the launcher dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def parse_ports(text):
    ports = {}
    for item in text.split(","):
        name, sep, port = item.strip().partition("=")
        if not sep or not port.isdigit():
            raise SystemExit(f"launch.py: bad port assignment {item!r} (want NAME=PORT)")
        ports[name] = int(port)
    missing = [s for s in SERVICES if s not in ports]
    if missing:
        raise SystemExit(f"launch.py: no port for {', '.join(missing)}")
    return ports


def wait_ready(ports, procs, deadline_s=30.0):
    deadline = time.monotonic() + deadline_s
    pending = dict(ports)
    while pending:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"launch.py: {name} exited with {proc.returncode} while starting")
        for name, port in list(pending.items()):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        del pending[name]
            except OSError:
                pass
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"launch.py: not answering after {deadline_s:.0f} s: {', '.join(pending)}")
        if pending:
            time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", default=os.environ.get("PYPLATFORM_PORTS", DEFAULT_PORTS))
    parser.add_argument(
        "--uninstrumented", default=os.environ.get("PYPLATFORM_UNINSTRUMENTED", ""),
        help="a service to run without OpenTelemetry (it drops the trace context)",
    )
    parser.add_argument(
        "--otlp-endpoint",
        default=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
    )
    parser.add_argument(
        "--stable-semconv", default=os.environ.get("PYPLATFORM_STABLE_SEMCONV", "pricing"),
        help="comma-separated services that emit the stable HTTP semantic conventions",
    )
    parser.add_argument(
        "--flaky", default=os.environ.get("PYPLATFORM_FLAKY", ""),
        help="comma-separated services that fail the first request for each {n} with 503",
    )
    parser.add_argument(
        "--watch-stdin", action="store_true", help="stop when standard input closes"
    )
    args = parser.parse_args()
    ports = parse_ports(args.ports)
    if args.uninstrumented and args.uninstrumented not in SERVICES:
        raise SystemExit(
            f"launch.py: unknown service {args.uninstrumented!r} (one of {', '.join(SERVICES)})"
        )

    stable = {s.strip() for s in args.stable_semconv.split(",") if s.strip() not in ("", "none")}
    unknown = sorted(stable - set(SERVICES))
    if unknown:
        raise SystemExit(f"launch.py: unknown service in --stable-semconv: {', '.join(unknown)}")

    flaky = {s.strip() for s in args.flaky.split(",") if s.strip()}
    unknown = sorted(flaky - set(SERVICES))
    if unknown:
        raise SystemExit(f"launch.py: unknown service in --flaky: {', '.join(unknown)}")

    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    procs = {}
    for name in SERVICES:
        env = dict(os.environ)
        env.update(
            PYPLATFORM_PORTS=",".join(f"{s}={p}" for s, p in ports.items()),
            PYPLATFORM_INSTRUMENTED="0" if name == args.uninstrumented else "1",
            OTEL_SERVICE_NAME=name,
            OTEL_EXPORTER_OTLP_ENDPOINT=args.otlp_endpoint,
            PYTHONUNBUFFERED="1",
            PYPLATFORM_FLAKY=",".join(sorted(flaky)),
        )
        if name in stable:
            env["OTEL_SEMCONV_STABILITY_OPT_IN"] = "http"
        env.setdefault("OTEL_BSP_SCHEDULE_DELAY", "200")
        env.setdefault("OTEL_TRACES_EXPORTER", "otlp")
        procs[name] = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "service.py"), name],
            env=env,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
    try:
        wait_ready(ports, procs)
        print(
            "ready " + " ".join(f"{s}=http://127.0.0.1:{p}" for s, p in ports.items())
            + (f" uninstrumented={args.uninstrumented}" if args.uninstrumented else ""),
            flush=True,
        )
        watch = selectors.DefaultSelector()
        if args.watch_stdin:
            watch.register(sys.stdin, selectors.EVENT_READ)
        while not stopping:
            if any(p.poll() is not None for p in procs.values()):
                dead = [f"{n} ({p.returncode})" for n, p in procs.items() if p.poll() is not None]
                print(f"launch.py: exited: {', '.join(dead)}", file=sys.stderr, flush=True)
                break
            if not args.watch_stdin:
                time.sleep(0.2)
            elif watch.select(timeout=0.2) and not sys.stdin.buffer.read1(4096):
                break
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
