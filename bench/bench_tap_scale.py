"""TAP throughput with several DaCHS server processes: 1, 2, 4 and 8 concurrent clients
sending ObsCore cone queries (p50, p99, req/s, errors) to N processes started by the
production script (docker/dachs-serve.sh) against the same clients on one process.

    .venv/bin/python bench/bench_tap_scale.py [--processes N] [--rows R] [--seconds S]
    .venv/bin/python bench/bench_tap_scale.py --quick --json out.json

The clients spread their requests over the processes in turn (what the proxy's
load balancer does; the proxy itself is measured by scripts/deploy-check.sh). Target on
2 cores: 8 clients reach at least 1.7x the rate of one client. Everything runs for real
in a temporary folder: an embedded PostgreSQL, a DaCHS instance, R rows behind
ivoa.obscore (as bench/bench_vo.py makes them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import psycopg2
import requests
from bench_vo import FILL_SQL, _cone_request, _cube, _stage_cube
from benchlib import Report, bench_arguments, free_port, load, scratch_instance

from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.lifetime import end_group
from qcservice.serviceuser import service_account, switch_kwargs
from qcservice.vo.config import load_vo_config
from qcservice.vo.instance import Instance

REPO = Path(__file__).resolve().parents[1]
CLIENTS = (1, 2, 4, 8)


def _ports(n: int) -> int:
    """The first of ``n`` consecutive free loopback ports."""
    import socket

    while True:
        base = free_port()
        try:
            socks = [socket.create_server(("127.0.0.1", base + i)) for i in range(n)]
        except OSError:
            continue
        for s in socks:
            s.close()
        return base


def _cone(base: int, processes: int):
    """The k-th request: bench_vo's cone query at the k-th random position, sent to
    process k mod N."""
    per_process = [_cone_request(SimpleNamespace(vo=SimpleNamespace(
        tap_url=f"http://127.0.0.1:{base + i}/tap"))) for i in range(processes)]

    def request(k: int) -> str | None:
        return per_process[k % processes](k)
    return request


def _serve(inst: Instance, home: Path, processes: int, log: Path) -> subprocess.Popen:
    """docker/dachs-serve.sh with ``processes`` processes on the instance's port on."""
    env = {"MUSEDC_HOME": str(home), "MUSEDC_DACHS_PROCESSES": str(processes),
           "MUSEDC_VO_PORT": str(inst.vo.port), "MUSEDC_DACHS_SKIP_INIT": "1",
           "PATH": "/usr/bin:/bin"}
    account = service_account(inst.vo.settings.service_user, "DaCHS", RuntimeError)
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(REPO / "docker" / "dachs-serve.sh")], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                **switch_kwargs(account))
    deadline = time.monotonic() + 120
    for i in range(processes):
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{inst.vo.port + i}/tap/capabilities",
                                timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"DaCHS processes did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
    return proc


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--max-requests", type=int, default=3000)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.seconds = 5_000, 4.0
    report = Report("tap_scale")
    home, settings = scratch_instance()
    make_engine(settings).dispose()
    inst = Instance(load_vo_config(settings, port=_ports(max(args.processes, 1))))
    try:
        inst.init()
        cube = home / "cube.fits"
        _cube(cube, (40, 40, 40))
        _stage_cube(inst, cube)
        cluster = EmbeddedCluster(settings)
        conn = psycopg2.connect(host=str(cluster.socket_dir), port=settings.pg_port,
                                user="musedc", password=cluster.password(), dbname="musedc")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(FILL_SQL, {"n": args.rows})
            cur.execute("ANALYZE muse.cubes")
        conn.close()
        runs: dict[tuple[int, int], dict] = {}
        for processes in sorted({1, args.processes}):
            proc = _serve(inst, Path(settings.home), processes, home / "dachs.log")
            try:
                request = _cone(inst.vo.port, processes)
                load(request, processes, 2.0, 50)   # warm every process up
                for clients in CLIENTS:
                    runs[processes, clients] = result = load(
                        request, clients, args.seconds, args.max_requests)
                    print(f"  {processes} process(es), {clients} clients: "
                          f"{result['rate']:.1f} req/s, p50 {result['p50'] * 1e3:.0f} ms, "
                          f"p99 {result['p99'] * 1e3:.0f} ms, {len(result['errors'])} errors")
            finally:
                end_group(proc)   # the script and its DaCHS processes
        _report(report, runs, args.processes)
    finally:
        EmbeddedCluster(settings).stop()
        shutil.rmtree(home, ignore_errors=True)
    return report.finish(args.json)


def _report(report: Report, runs: dict[tuple[int, int], dict], n: int) -> None:
    one = runs[1, 1]
    for (processes, clients), r in sorted(runs.items()):
        label = f"{processes} DaCHS process(es), {clients} clients"
        report.add(f"{label}: throughput", r["rate"], "req/s", one["rate"],
                   "1 process, 1 client", better="higher")
        report.add(f"{label}: p50", r["p50"] * 1e3, "ms", one["p50"] * 1e3, "1 process, 1 client")
        report.add(f"{label}: p99", r["p99"] * 1e3, "ms", one["p99"] * 1e3, "1 process, 1 client")
        report.check(f"{label}: 0 errors in {r['requests']} requests", not r["errors"])
        for error in r["errors"][:3]:
            print("  FAILED", error)
    report.add(f"8 clients: {n} processes against 1", runs[n, 8]["rate"], "req/s",
               runs[1, 8]["rate"], "1 process, 8 clients", better="higher")
    report.check(f"{n} processes, 8 clients >= 1.7x one client's rate "
                 f"({runs[n, 8]['rate'] / runs[n, 1]['rate']:.2f}x)",
                 runs[n, 8]["rate"] >= 1.7 * runs[n, 1]["rate"])


if __name__ == "__main__":
    sys.exit(main())
