#!/usr/bin/env python3
"""Compare tracegate builds on one tree: wall and CPU time (user + system, from wait4) of
`check TREE --format json`, runs interleaved and the order reversed every other run so that a
machine drifting in speed moves every build alike. Prints the median and the minimum of each.

    python3 bench/check-ab.py TREE RUNS OLD_BINARY NEW_BINARY [MORE_BINARIES...]
    e.g. python3 bench/gen-monorepo.py /tmp/realistic 1000 52 --profile realistic
         python3 bench/check-ab.py /tmp/realistic 21 /tmp/old/tracegate target/release/tracegate
"""
import os
import statistics
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    tree, runs, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    times = {b: {"wall": [], "cpu": []} for b in binaries}
    for i in range(runs):
        for b in binaries if i % 2 == 0 else binaries[::-1]:
            start = time.time()
            p = subprocess.Popen(
                [b, "check", tree, "--format", "json"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _, _, usage = os.wait4(p.pid, 0)
            times[b]["wall"].append(time.time() - start)
            times[b]["cpu"].append(usage.ru_utime + usage.ru_stime)
    for b in binaries:
        w, c = times[b]["wall"], times[b]["cpu"]
        print(
            f"{b}: wall median {statistics.median(w):.3f} s, min {min(w):.3f} s | "
            f"cpu median {statistics.median(c):.3f} s, min {min(c):.3f} s ({runs} runs)"
        )


if __name__ == "__main__":
    main()
