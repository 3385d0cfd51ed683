"""Download throughput of a large product through the public path of the production stack
(HTTPS, Caddy, the gate's decision, Caddy's file_server) against a local
``cat FILE > /dev/null`` of the same file, and the memory of the serving processes (Caddy,
the gate, DaCHS) before and after: it must stay flat.

    scripts/deploy-check.sh --no-build --keep          # leaves the stack, prints STACK.json
    .venv/bin/python bench/bench_download.py STACK.json [--gb 1.5] [--via-dachs]

It writes a MUSE-like cube of the given size into the stack's data folder, catalogues and
publishes it (public), warms the page cache with one local read, then times a local read
and a download through the proxy (both from the page cache, so both measure the serving
path, not the disk). ``--via-dachs`` also times DaCHS's own /getproduct (the path before,
~27 MB/s). Target: the proxy at least 0.5 of the local read.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from bench_vo import _cube
from benchlib import Report, bench_arguments

PLANE = 320 * 320 * 4   # bytes of one plane of a 320x320-spaxel float32 cube


def _engine(stack: dict, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([stack["engine"], *args], input=stdin, capture_output=True,
                          text=True, check=True, env={"CONTAINERS_CONF": stack["containers_conf"],
                                                      "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
                          ).stdout


def _psql(stack: dict, sql: str) -> str:
    return _engine(stack, "exec", "-i", stack["db"], "psql", "-qAt", "-U", "musedc", "-d",
                   "musedc", "-v", "ON_ERROR_STOP=1", stdin=sql).strip()


def _publish(stack: dict, name: str) -> str:
    """Catalogue and publish the cube; its accref."""
    musedc = ["exec", stack["viewer"], "/opt/musedc/.venv/bin/musedc"]
    _engine(stack, *musedc, "ingest", "--no-checksum", "--no-progress", "/data/bench")
    file_id = _psql(stack, f"SELECT file_id FROM qc.files WHERE filename = '{name}';")
    _psql(stack, f"UPDATE qc.files SET release_date = '2020-01-01' WHERE file_id = {file_id};"
                 f"INSERT INTO qc.qa (file_id, auto_state, state) VALUES ({file_id}, 'Pass',"
                 f" 'Pass') ON CONFLICT (file_id) DO UPDATE SET state = 'Pass';")
    _engine(stack, *musedc, "vo", "publish")
    return f"muse/{file_id}/{name}"


def _pids(stack: dict) -> dict[str, list[int]]:
    """The host pids of the serving processes, by container."""
    out = {}
    for role in ("proxy", "gate", "dachs"):
        top = _engine(stack, "top", stack[role], "hpid", "args").splitlines()[1:]
        out[role] = [int(line.split()[0]) for line in top if line.split()
                     and line.split()[0].isdigit()]
    return out


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total / 1024


def _curl_rate(stack: dict, url: str, https: bool) -> float:
    """Bytes per second of one download to /dev/null."""
    args = ["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{speed_download}"]
    if https:
        args += ["--cacert", stack["ca"], "--resolve", stack["resolve"]]
    return float(subprocess.run([*args, url], capture_output=True, text=True,
                                check=True).stdout)


def _cat_rate(path: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)
    return path.stat().st_size / (time.perf_counter() - t0)


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="STACK.json of scripts/deploy-check.sh --keep")
    parser.add_argument("--gb", type=float, default=1.5)
    parser.add_argument("--via-dachs", action="store_true")
    args = parser.parse_args()
    stack = json.loads(Path(args.stack).read_text())
    if args.quick:
        args.gb = 0.2
    report = Report("download")
    name = f"DATACUBE_FINAL_bench{args.gb:g}.fits"
    path = Path(stack["data"]) / "bench" / name
    path.parent.mkdir(exist_ok=True)
    path.parent.chmod(0o755)
    if not path.exists():
        _cube(path, (max(1, int(args.gb * 1e9 / PLANE)), 320, 320))
        path.chmod(0o644)
    size = path.stat().st_size
    ref = _publish(stack, name)
    pids = _pids(stack)
    before = {role: _rss_mb(p) for role, p in pids.items()}
    _cat_rate(path)                                   # into the page cache
    local = _cat_rate(path)
    proxy = _curl_rate(stack, f"{stack['vo']}/getproduct/{ref}", https=True)
    after = {role: _rss_mb(p) for role, p in pids.items()}
    print(f"  {size / 1e9:.2f} GB: local {local / 1e6:.0f} MB/s, through the proxy "
          f"{proxy / 1e6:.0f} MB/s; RSS before {before}, after {after} (MB)")
    report.add(f"{size / 1e9:.2f} GB product through HTTPS + Caddy file_server", proxy / 1e6,
               "MB/s", local / 1e6, "local cat > /dev/null", better="higher")
    for role in before:
        report.add(f"RSS of {role} after the download", after[role], "MB", before[role],
                   "before")
    report.check(f"proxy download >= 0.5 x local read ({proxy / local:.2f})",
                 proxy >= 0.5 * local)
    report.check("serving memory flat (growth < 50 MB per service)",
                 all(after[r] - before[r] < 50 for r in before))
    if args.via_dachs:
        dachs = _curl_rate(stack, f"http://127.0.0.1:{stack['vo_port']}/getproduct/{ref}",
                           https=False)
        report.add("the same through DaCHS's own /getproduct", dachs / 1e6, "MB/s",
                   local / 1e6, "local cat > /dev/null", better="higher")
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
