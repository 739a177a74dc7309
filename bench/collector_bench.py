#!/usr/bin/env python3
"""Collector benchmark: prints its figures (medians of several runs, min-max).

    .venv/bin/python bench/collector_bench.py            # everything (~10 min)
    .venv/bin/python bench/collector_bench.py --quick    # smaller backlogs, 1 run each

Measured against the Events API simulator (tests/simulator) over HTTPS on
loopback (its self-signed certificate as the CA bundle). The
collector runs from the BUILT add-on (output/, pure-Python lib only) under
Python 3.13 with -I -S, pinned to CPU 0; the simulator and the reader of the
modular-input stream run in this process, pinned to CPU 1.

The "go" step runs 1Password's own Go collector beside the input when a Go
toolchain and its source are here (BENCH_GO_SOURCE, BENCH_GO: see
bench/go_collector.py); otherwise it says in one line why it is skipped.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON = os.path.join(ROOT, "output", "TA-1password-events")
DRIVERS = os.path.join(ROOT, "bench", "drivers")
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "package", "bin"), os.path.join(ROOT, "bench")]

from simulator import EventsApiSimulator  # noqa: E402

PYTHON = os.environ.get("BENCH_PYTHON", "python3.13")
PYENV = {"PYENV_VERSION": os.environ.get("BENCH_PYENV_VERSION", "3.13.0")}
COLLECTOR_CPU, SERVER_CPU = 0, 1
# bytecode cached between runs, outside output/ (what ships must stay free of it)
PYCACHE = os.path.join(tempfile.gettempdir(), "onepassword-bench-pycache")


def real_interpreter(python):
    """The interpreter's own file: a pyenv shim is a shell script whose start-up
    (about 40 ms of CPU per process) no splunkd pays."""
    env = dict(os.environ, **PYENV)
    env.pop("PYTHONPATH", None)
    found = subprocess.run([python, "-I", "-S", "-c", "import sys; print(sys.executable)"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    return found or python


def pin(cpu):
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > cpu:
        os.sched_setaffinity(0, {cpu})


def run_driver(driver, simulator, streams, state_dir, extra_env=None, page_size=1000):
    """Run one driver to completion; returns its figures plus stdout bytes.

    Its stdout goes to `wc -c` on the other CPU: a native reader draining the
    pipe as splunkd does (a Python thread here would compete with the
    simulator for the GIL and make the writer wait on a full pipe).
    """
    env = dict(os.environ, **PYENV, **(extra_env or {}))
    env.pop("PYTHONPATH", None)
    if simulator.tls:
        env["BENCH_CA_BUNDLE"] = simulator.cert_file
    reader = subprocess.Popen(["wc", "-c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              preexec_fn=lambda: pin(SERVER_CPU))
    process = subprocess.Popen(
        [PYTHON, "-I", "-S", "-X", "pycache_prefix=" + PYCACHE, os.path.join(DRIVERS, driver), ADDON, simulator.url, state_dir, ",".join(streams),
         str(page_size)],
        stdin=subprocess.PIPE, stdout=reader.stdin, stderr=subprocess.PIPE, env=env,
        preexec_fn=lambda: pin(COLLECTOR_CPU),
    )
    reader.stdin.close()  # the driver holds the only write end now
    process.stdin.write((simulator.token + "\n").encode())
    process.stdin.close()
    err = process.stderr.read().decode()
    process.wait()
    counted = int(reader.stdout.read().split()[0])
    reader.wait()
    if process.returncode != 0:
        raise SystemExit(f"{driver} failed ({process.returncode}):\n{err[-2000:]}")
    figures = json.loads(err.strip().splitlines()[-1])
    figures["stdout_bytes"] = counted
    return figures


def median_range(values, fmt="{:,.0f}"):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def throughput(drivers, backlog, runs, stream="signinattempts"):
    """{driver: [figures per run]}; the drivers take turns, so drift in the
    machine's speed (a shared VM) touches each the same."""
    results = {driver: [] for driver in drivers}
    with EventsApiSimulator(seed=7, **{stream: backlog}, late_fraction=0, tls=True) as simulator:
        for _ in range(runs):
            for driver in drivers:
                with tempfile.TemporaryDirectory() as state:
                    simulator.clear_log()
                    figures = run_driver(driver, simulator, [stream], state)
                    assert figures["events"] == backlog, figures
                    figures["requests"] = simulator.count(stream)
                    results[driver].append(figures)
    return results


def bench_throughput(args):
    backlog = args.backlog
    print(f"== throughput: {backlog:,} sign-in attempts backlog, 1 stream, limit 1000, {args.runs} runs each, "
          f"alternating")
    results = throughput(["ours.py", "naive.py"], backlog, args.runs)
    ours, naive = results["ours.py"], results["naive.py"]
    rate = lambda r: r["events"] / r["wall_s"]  # noqa: E731
    cpu = lambda r: r["cpu_s"] / r["events"] * 1e6  # noqa: E731
    for name, runs in (("add-on input", ours), ("naive pipeline", naive)):
        print(f"  {name:15s} events/s {median_range([rate(r) for r in runs])}   "
              f"CPU µs/event {median_range([cpu(r) for r in runs], '{:.1f}')}   "
              f"peak RSS MB {median_range([r['maxrss_kb'] / 1024 for r in runs], '{:.1f}')}   "
              f"requests {runs[0]['requests']}")
    ratios = [rate(a) / rate(b) for a, b in zip(ours, naive)]
    cpu_ratios = [cpu(b) / cpu(a) for a, b in zip(ours, naive)]
    print(f"  speed-up over the naive pipeline (per pair of runs): events/s {median_range(ratios, '{:.2f}')}x, "
          f"CPU per event {median_range(cpu_ratios, '{:.2f}')}x")
    return {"ours": ours, "naive": naive, "ratios": ratios}


SMALL_PAGE = 20


def bench_beside_go(args):
    """The add-on's input and 1Password's own Go collector (bench/go_collector.py) drain the
    same sign-in backlog from the same simulator over HTTPS, each pinned to the same CPU, at
    page size 1000 and 100, taking turns in every round."""
    import go_collector
    from simulator.tls import make_self_signed
    from splunkd_fake import FakeSplunkd

    backlog, rounds = args.backlog, args.runs + 2
    print(f"== beside 1Password's Go collector: {backlog:,} sign-in attempts, 1 stream, page size 1000 and 100, "
          f"{rounds} interleaved rounds")
    try:
        binary = go_collector.build(["signinattempts"])["signinattempts"]
        cert, key = make_self_signed(tempfile.mkdtemp(prefix="go-splunkd-tls-"))
        splunkd = go_collector.splunkd_for_go(FakeSplunkd, cert, key)
    except go_collector.Skipped as why:
        print(f"  Go collector: skipped: {why}")
        return None
    figures = {(who, limit): [] for who in ("ours", "go") for limit in (1000, 100)}
    with EventsApiSimulator(seed=17, signinattempts=backlog, late_fraction=0, tls=True) as simulator, splunkd:
        for _ in range(rounds):
            for limit in (1000, 100):
                with tempfile.TemporaryDirectory() as state:
                    ours = run_driver("ours.py", simulator, ["signinattempts"], state, page_size=limit)
                go = go_collector.run(binary, simulator, splunkd, "signinattempts", limit, backlog, pin_cpu=COLLECTOR_CPU)
                assert ours["events"] == go["events"] == backlog, (ours, go)
                figures[("ours", limit)].append(ours)
                figures[("go", limit)].append(go)
    cpu = lambda r: r["cpu_s"] / r["events"] * 1e6  # noqa: E731
    rate = lambda r: r["events"] / r["wall_s"]  # noqa: E731
    for limit in (1000, 100):
        for who, name in (("ours", "add-on input"), ("go", "Go collector")):
            runs = figures[(who, limit)]
            print(f"  limit {limit:4d} {name:13s} CPU µs/event {median_range([cpu(r) for r in runs], '{:.1f}')}   "
                  f"events/s {median_range([rate(r) for r in runs])}   "
                  f"peak RSS MB {median_range([r['maxrss_kb'] / 1024 for r in runs], '{:.1f}')}")
        pairs = list(zip(figures[("ours", limit)], figures[("go", limit)]))
        print(f"  limit {limit:4d} add-on / Go (per round): CPU per event "
              f"{median_range([cpu(a) / cpu(b) for a, b in pairs], '{:.2f}')}x, "
              f"events/s {median_range([rate(a) / rate(b) for a, b in pairs], '{:.2f}')}x")
    return figures


def bench_per_request(args):
    """The fixed cost of one request: the same backlog drained at page size
    1000 and at page size 20 handles the same events, so the difference in
    CPU over the difference in requests is what each request adds (HTTP,
    envelope, checkpoint save, read-ahead), with process start-up and
    per-event work cancelled out. Page size 20 makes 50 times the requests,
    enough for the floor's small cost to stand out of the noise. The add-on
    and the floor (a bare http.client loop on the same HTTPS connection)
    take turns in each round."""
    backlog = args.small_pages
    rounds = args.rounds or args.runs + 2  # a difference of two noisy totals: two more rounds than elsewhere
    drivers = ["ours.py", "floor.py"]
    small = SMALL_PAGE
    print(f"== CPU per request over HTTPS: {backlog:,} item usages drained at page size 1000 and at {small}, 1 stream, "
          f"{rounds} interleaved rounds of {', '.join(drivers)}: the CPU difference over the request difference")
    costs = {driver: [] for driver in drivers}
    per_event = {driver: {1000: [], small: []} for driver in drivers}
    with EventsApiSimulator(seed=11, itemusages=backlog, late_fraction=0, tls=True) as simulator:
        for _ in range(rounds):
            for driver in drivers:
                figures = {}
                for limit in (1000, small):
                    with tempfile.TemporaryDirectory() as state:
                        simulator.clear_log()
                        result = run_driver(driver, simulator, ["itemusages"], state, page_size=limit)
                        assert result["events"] == backlog, result
                        figures[limit] = (result["cpu_s"], simulator.count("itemusages"))
                        per_event[driver][limit].append(result["cpu_s"] / backlog * 1e6)
                (cpu_big, requests_big), (cpu_small, requests_small) = figures[1000], figures[small]
                costs[driver].append(1000 * (cpu_small - cpu_big) / (requests_small - requests_big))
    for driver in drivers:
        print(f"  {driver:9s} CPU ms per request {median_range(costs[driver], '{:.2f}')}   "
              f"CPU µs per event at limit 1000 {median_range(per_event[driver][1000], '{:.1f}')}, "
              f"at {small} {median_range(per_event[driver][small], '{:.1f}')}")
    ratios = [ours / floor for ours, floor in zip(costs["ours.py"], costs["floor.py"]) if floor > 0]
    if ratios:
        print(f"  add-on / http.client floor, per request (per round): {median_range(ratios, '{:.2f}')}x")
    return {"cpu_ms_per_request": costs, "per_event_us": per_event}


def bench_memory(args):
    print(f"== memory: peak RSS of the input draining 100k vs {args.big:,} events ({args.runs} runs each)")
    small = throughput(["ours.py"], 100_000, args.runs)["ours.py"]
    big = throughput(["ours.py"], args.big, args.runs)["ours.py"]
    s = statistics.median([r["maxrss_kb"] / 1024 for r in small])
    b = statistics.median([r["maxrss_kb"] / 1024 for r in big])
    print(f"  100k: {median_range([r['maxrss_kb'] / 1024 for r in small], '{:.1f}')} MB   "
          f"{args.big:,}: {median_range([r['maxrss_kb'] / 1024 for r in big], '{:.1f}')} MB   growth {100 * (b / s - 1):+.1f} %")
    return {"small": small, "big": big}


def bench_requests(args):
    print("== requests per stream: backlog vs idle poll")
    with EventsApiSimulator(seed=3, signinattempts=2500, itemusages=1200, auditevents=999, late_fraction=0,
                            tls=True) as sim:
        with tempfile.TemporaryDirectory() as state:
            streams = ["signinattempts", "itemusages", "auditevents"]
            run_driver("ours.py", sim, streams, state)
            backlog = {s: sim.count(s) for s in streams}
            sim.clear_log()
            run_driver("ours.py", sim, streams, state)
            idle = {s: sim.count(s) for s in streams}
    for stream in streams:
        print(f"  {stream:15s} backlog requests {backlog[stream]}   idle poll requests {idle[stream]}")
    return {"backlog": backlog, "idle": idle}


def bench_idle(args):
    """The generated input script, started as splunkd starts it, against the fake splunkd
    over HTTPS as splunkd's management port speaks (real config reads and KV store checkpoints).
    With --baseline, a build of an earlier commit runs in the same interleaved rounds."""
    import ssl

    import certifi
    from splunkd_fake import FakeSplunkd

    print(f"== CPU of one idle input run: bin/onepassword.py as splunkd starts it (process start, imports, "
          f"account/proxy/log-level reads, 1 request per stream x3 with a certifi-sized CA bundle, KV checkpoints; "
          f"splunkd over HTTPS), bytecode cached, {args.idle_runs} interleaved rounds")
    streams = ["signinattempts", "itemusages", "auditevents"]
    builds = {"this build": ADDON}
    if args.baseline:
        builds["baseline"] = os.path.abspath(args.baseline)
    with EventsApiSimulator(seed=5, signinattempts=10, itemusages=10, auditevents=10, late_fraction=0,
                            tls=True) as sim:
        splunkd_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # splunkd's own (self-signed) certificate
        splunkd_tls.load_cert_chain(sim.cert_file, sim.key_file)
        with FakeSplunkd(tls_context=splunkd_tls) as splunkd:
            # certifi's bundle plus the simulator's certificate: a CA bundle of the size every real run loads
            bundle = os.path.join(splunkd.splunk_home, "bench-ca-bundle.pem")
            with open(bundle, "w") as out, open(certifi.where()) as public, open(sim.cert_file) as own:
                out.write(public.read() + own.read())
            splunkd.set_account("bench", token=sim.token, region="custom", custom_url=sim.url, ca_bundle=bundle)
            definition = splunkd.input_definition({"onepassword://bench": {"account": "bench", "index": "main",
                                                                           "interval": "60"}}).encode()
            env = splunkd.env(PYENV)
            commands = {}
            for label, build in builds.items():
                if label == "this build":
                    app = splunkd.install_app(build)
                else:  # same app name, same confs: only its code runs, from outside etc/apps
                    app = os.path.join(splunkd.splunk_home, "baseline", os.path.basename(build))
                    shutil.copytree(build, app, ignore=shutil.ignore_patterns("__pycache__"))
                commands[label] = splunkd.python_command(PYTHON, os.path.join(app, "bin", "onepassword.py"))
                if label == "this build":
                    # floors, in the same rounds: a process that only imports what the generated script
                    # itself imports, and one that imports everything the input imports but runs nothing
                    for name, imports in IDLE_FLOORS.items():
                        floor_script = os.path.join(app, "bin", f"bench_idle_{name}.py")
                        with open(floor_script, "w") as out:
                            out.write(imports.replace("BUNDLE", repr(bundle)) + "\n")
                        commands[name] = splunkd.python_command(PYTHON, floor_script)

            def one_run(argv):
                # getrusage, not os.times: the latter counts in clock ticks (10 ms here), too coarse for a run of 0.2 s
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                result = subprocess.run(argv, input=definition, capture_output=True, env=env,
                                        cwd=splunkd.splunk_home, preexec_fn=lambda: pin(COLLECTOR_CPU), timeout=120)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if result.returncode != 0:
                    raise SystemExit(f"input run failed:\n{result.stderr.decode()[-2000:]}")
                return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

            one_run(commands["this build"])  # drains the 30 events and writes the bytecode caches
            for argv in commands.values():
                one_run(argv)
            cpu = {label: [] for label in commands}
            asked = {}
            for _ in range(args.idle_runs):
                for label, argv in commands.items():
                    sim.clear_log()
                    splunkd.clear_requests()
                    cpu[label].append(one_run(argv))
                    if label in builds:
                        assert [sim.count(s) for s in streams] == [1, 1, 1], [sim.count(s) for s in streams]
                        asked[label] = (len(splunkd.requests), len({r.connection for r in splunkd.requests}))
            checkpoints = len(splunkd.kv_records())
    for label in builds:
        requests_, connections = asked[label]
        print(f"  {label}: CPU ms per idle run {median_range([c * 1000 for c in cpu[label]], '{:.0f}')} "
              f"(Events API requests per stream 1; splunkd: {requests_} requests over {connections} connections; "
              f"{checkpoints} KV checkpoints)")
    if args.baseline:
        ratios = [new / old for new, old in zip(cpu["this build"], cpu["baseline"])]
        print(f"  this build / baseline, per round: {median_range(ratios, '{:.2f}')}x")
    for name, imports in IDLE_FLOORS.items():
        print(f"  floor, {IDLE_FLOOR_NAMES[name]} ({imports}): CPU ms "
              f"{median_range([c * 1000 for c in cpu[name]], '{:.0f}')}")
    return {"cpu_s": cpu}


IDLE_FLOORS = {
    "script": "import import_declare_test; from splunklib import modularinput",
    # what any input that speaks to the API through urllib3 (requests' engine) pays before its first request
    "urllib3": "import import_declare_test; from splunklib import modularinput; import ssl, urllib3; "
               "ssl.create_default_context(cafile=BUNDLE)",
    "imports": "import import_declare_test; from splunklib import modularinput; import onepassword_events_helper",
}
IDLE_FLOOR_NAMES = {"script": "the generated script's own imports",
                    "urllib3": "those, urllib3 and one load of the CA bundle",
                    "imports": "every import of the input, no run"}


def bench_kv_saves(args):
    """One checkpoint save per page into the KV store (the input's store), against the fake
    splunkd over HTTPS: this build's store over the edge's connection, beside solnlib's
    checkpointer (the store before 5382f74), in interleaved rounds."""
    import ssl

    from splunkd_fake import FakeSplunkd
    from simulator.tls import make_self_signed

    saves, rounds = 200, args.rounds or args.runs + 2
    print(f"== CPU per KV store checkpoint save (one per page in the input), {saves} saves, splunkd over HTTPS, "
          f"{rounds} interleaved rounds")
    with tempfile.TemporaryDirectory() as cert_dir:
        cert_file, key_file = make_self_signed(cert_dir)
        splunkd_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        splunkd_tls.load_cert_chain(cert_file, key_file)
        with FakeSplunkd(tls_context=splunkd_tls) as splunkd:
            splunkd.install_app(ADDON)
            env = dict(os.environ, **PYENV)
            env.pop("PYTHONPATH", None)
            per_save = {"ours": [], "solnlib": []}
            for _ in range(rounds):
                for store in per_save:
                    result = subprocess.run(
                        [PYTHON, "-I", "-S", "-X", "pycache_prefix=" + PYCACHE, os.path.join(DRIVERS, "kv_saves.py"),
                         ADDON, splunkd.url, splunkd.session_key, store, str(saves)],
                        capture_output=True, env=env, preexec_fn=lambda: pin(COLLECTOR_CPU), timeout=300)
                    if result.returncode != 0:
                        raise SystemExit(f"kv_saves.py failed:\n{result.stderr.decode()[-2000:]}")
                    figures = json.loads(result.stderr.decode().strip().splitlines()[-1])
                    per_save[store].append(figures["cpu_s"] / saves)
    ratios = [ours / theirs for ours, theirs in zip(per_save["ours"], per_save["solnlib"])]
    print(f"  this build: {median_range([c * 1e6 for c in per_save['ours']], '{:.0f}')} µs per save; "
          f"solnlib's checkpointer: {median_range([c * 1e6 for c in per_save['solnlib']], '{:.0f}')} µs; "
          f"ratio per round {median_range(ratios, '{:.2f}')}")
    return per_save


def bench_rate_limited(args):
    """The simulator's limiter uses fixed windows from the first request (600 per
    60 s): the collector uses the ceiling fully if every complete window serves
    600 requests, and well if it resumes promptly when a window opens."""
    if args.quick:
        print("== rate limits: skipped in --quick (it needs two full one-minute windows of the 600/min limit)")
        return None
    pages = args.limited // 100
    print(f"== rate limits on (600/min, 30,000/h): draining {args.limited:,} events at page size 100 "
          f"({pages} requests, {args.runs} runs)")
    used, resume, refused = [], [], []
    for _ in range(args.runs):
        with EventsApiSimulator(seed=9, itemusages=args.limited, late_fraction=0, rate_limits=True, tls=True) as sim:
            with tempfile.TemporaryDirectory() as state:
                figures = run_driver("ours.py", sim, ["itemusages"], state, page_size=100)
                assert figures["events"] == args.limited, figures  # the run did not fail
                served = sorted(r.at for r in sim.stream_requests("itemusages") if r.status == 200)
                refused.append(sim.count("itemusages", status=429))
        start = served[0]
        windows = int((served[-1] - start) // 60)  # complete one-minute windows
        if windows == 0:
            raise SystemExit("the rate-limit run did not span a full window; use a larger backlog")
        in_full = sum(1 for t in served if t < start + 60 * windows)
        used.append(100 * in_full / (600 * windows))
        # delay from a window opening to its first served request
        resume += [min(t for t in served if t >= start + 60 * k) - (start + 60 * k) for k in range(1, windows + 1)]
    print(f"  share of the 600/min ceiling used in complete windows: {median_range(used, '{:.1f}')} %; "
          f"a new window's first request after {median_range(resume, '{:.2f}')} s; "
          f"429 answers per run {median_range(refused)}; every run drained its backlog")
    return {"used_percent": used, "resume_s": resume}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, help="interleaved rounds of the per-request part (default: 5, --quick 3)")
    parser.add_argument("--baseline", metavar="ADDON_DIR",
                        help="idle step: a built add-on (output/TA-1password-events of an earlier commit) to run "
                             "in the same interleaved rounds")
    parser.add_argument("--only", choices=["throughput", "go", "per_request", "memory", "requests", "idle", "kv_saves", "rate"], action="append")
    args = parser.parse_args()
    args.runs = 1 if args.quick else 3
    args.backlog = 20_000 if args.quick else 200_000
    args.big = 200_000 if args.quick else 1_000_000
    args.idle_runs = 3 if args.quick else 7
    args.small_pages = 10_000 if args.quick else 20_000
    # enough requests to span two full one-minute windows
    args.limited = 130_000
    if not os.path.isdir(ADDON):
        raise SystemExit("build the add-on first: ./ucc_build.sh --skip-appinspect")
    pin(SERVER_CPU)
    global PYTHON
    PYTHON = real_interpreter(PYTHON)
    print(f"collector: {PYTHON} (pyenv {PYENV['PYENV_VERSION']}) from {ADDON}, CPU {COLLECTOR_CPU}; "
          f"simulator + reader on CPU {SERVER_CPU}")
    steps = {"throughput": bench_throughput, "go": bench_beside_go, "per_request": bench_per_request, "memory": bench_memory, "requests": bench_requests,
             "idle": bench_idle, "kv_saves": bench_kv_saves, "rate": bench_rate_limited}
    for name in args.only or steps:
        steps[name](args)


if __name__ == "__main__":
    main()
