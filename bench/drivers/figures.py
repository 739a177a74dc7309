"""The one JSON line of figures every benchmark driver prints on stderr."""

import json
import resource
import sys
import time


def report(events, started_wall):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and so counts the parent's
    # memory at fork (the benchmark process holding the simulator's backlog).
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(json.dumps({
        "events": events, "wall_s": time.perf_counter() - started_wall,
        "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": peak_kb,
    }) + "\n")
