"""Download throughput of a large product through the public path of the production stack
(HTTPS, Caddy, the gate's decision, Caddy's file_server) against a local
``cat FILE > /dev/null`` of the same file, and the memory of the serving processes (Caddy,
the gate, DaCHS) before and after: it must stay flat.

    scripts/deploy-check.sh --no-build --keep          # leaves the stack, prints STACK.json
    .venv/bin/python bench/bench_download.py STACK.json [--gb 1.5] [--repeats 5] [--http2]
        [--via-dachs]

It writes a MUSE-like cube of the given size into the stack's data folder, catalogues and
publishes it (public), then times a local read and a download through the proxy, both
from the disk (the file's pages dropped from the page cache first: the issue's
comparison, 53 s against 2.2 s for 1.5 GB) and both from the page cache (the serving path
alone), several times (medians), with the CPU time of Caddy, curl and cat per GB. It
also times a SODA cut-out of ~130 MB of the cube through the stack, asking for gzip as
requests and pyvo do (DaCHS computes it; it used to gzip it too). ``--via-dachs`` also
times DaCHS's own /getproduct inside its container. Target: the proxy at least 0.5 of the
local read from the disk.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from benchlib import Report, bench_arguments

PLANE = 320 * 320 * 4   # bytes of one plane of a 320x320-spaxel float32 cube


def _muse_cube(path: Path, template: Path, planes: int) -> None:
    """A 320x320-spaxel cube of ``planes`` planes with the headers of a simulated MUSE
    cube (what ingest needs), written plane by plane (no memory for the whole)."""
    with fits.open(template) as hdul:
        primary, data = hdul[0].header.copy(), hdul["DATA"].header.copy()
    fits.PrimaryHDU(header=primary).writeto(path, overwrite=True)
    data["NAXIS1"], data["NAXIS2"], data["NAXIS3"] = 320, 320, planes
    plane = np.arange(320 * 320, dtype=">f4").reshape(320, 320)
    with open(path, "ab") as f:
        f.write(data.tostring().encode("ascii"))
        for z in range(planes):
            f.write((plane + z).tobytes())
        f.write(b"\0" * ((-planes * PLANE) % 2880))


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


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total / 1024


def _curl(stack: dict, url: str, http: str = "--http1.1") -> float:
    """Bytes per second of one download through the proxy to /dev/null. HTTP/1.1 is what
    requests (under musedc download and pyvo) speaks."""
    return float(subprocess.run([
        "curl", "-sS", "-f", http, "-o", "/dev/null", "-w", "%{speed_download}",
        "--cacert", stack["ca"], "--resolve", stack["resolve"], url], capture_output=True,
        text=True, check=True).stdout)


def _negotiated(stack: dict, url: str, http: str = "--http1.1") -> str:
    """The TLS version, cipher and HTTP version curl negotiates with the proxy."""
    err = subprocess.run([
        "curl", "-sS", "-v", "-f", http, "-r", "0-0", "-o", "/dev/null", "--cacert",
        stack["ca"], "--resolve", stack["resolve"], url], capture_output=True, text=True,
        check=True).stderr
    tls = re.search(r"SSL connection using (\S+) / (\S+)", err)
    proto = re.search(r"^< (HTTP/\S+)", err, re.M)
    return f"{tls.group(1)} {tls.group(2)}, {proto.group(1)}" if tls and proto else "?"


_DACHS_CLIENT = """
import sys, time, urllib.request
t, n = time.perf_counter(), 0
with urllib.request.urlopen("http://127.0.0.1:8090/getproduct/" + sys.argv[1]) as r:
    while chunk := r.read(1 << 20):
        n += len(chunk)
print(n / (time.perf_counter() - t))
"""


def _cutout(stack: dict, path: Path, ref: str, mb: float = 130) -> tuple[float, int]:
    """Bytes per second and size of a SODA BAND cut-out of ``mb`` MB of the cube through
    the proxy, with the Accept-Encoding of requests (and so of pyvo)."""
    header = fits.getheader(path, "DATA")
    planes = int(mb * 1e6 / PLANE)
    first = 200 + 1 - header["CRPIX3"]
    lo = header["CRVAL3"] + first * header["CD3_3"]          # Angstrom, plane centres
    hi = lo + (planes - 1) * header["CD3_3"]
    band = f"{(lo - 0.1) * 1e-10:.6e} {(hi + 0.1) * 1e-10:.6e}"
    did = f"ivo://{stack['authority']}/~?{ref}"
    out = subprocess.run([
        "curl", "-sS", "-f", "--http1.1", "-o", "/dev/null", "-w",
        "%{speed_download} %{size_download}", "-H", "Accept-Encoding: gzip, deflate",
        "--cacert", stack["ca"], "--resolve", stack["resolve"], "-G",
        "--data-urlencode", f"ID={did}", "--data-urlencode", f"BAND={band}",
        f"{stack['vo']}/muse/q/dl/dlget"], capture_output=True, text=True,
        check=True).stdout.split()
    return float(out[0]), int(out[1])


def _dachs_rate(stack: dict, ref: str) -> float:
    """Bytes per second of DaCHS's own /getproduct, inside its container (the old path)."""
    return float(_engine(stack, "exec", stack["dachs"], "python3", "-c", _DACHS_CLIENT, ref))


def _evict(path: Path) -> None:
    """Drop this file's pages from the page cache (this file only: the machine is shared),
    so that the next read comes from the disk (of this virtual machine: the host may still
    cache it); util-linux's fincore checks that none stayed."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    resident = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES",
                               str(path)], capture_output=True, text=True, check=True).stdout
    if int(resident) > path.stat().st_size // 100:
        raise RuntimeError(f"{path}: {int(resident)} bytes still cached after DONTNEED")


def _cat_rate(path: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)
    return path.stat().st_size / (time.perf_counter() - t0)


def _one_run(stack: dict, path: Path, url: str, pids: list[int], http: str) -> dict:
    """Local read and download, from the disk (the file's pages dropped for both) and from
    the page cache; rates in B/s and the CPU seconds of Caddy and of curl per download."""
    out = {}
    for cache in ("cold", "warm"):
        if cache == "cold":
            _evict(path)
        else:
            _cat_rate(path)
        cat0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["local", cache] = _cat_rate(path)
        cat1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["cat cpu", cache] = cat1.ru_utime + cat1.ru_stime - cat0.ru_utime - cat0.ru_stime
        if cache == "cold":
            _evict(path)
        cpu0, client0 = _cpu_s(pids), resource.getrusage(resource.RUSAGE_CHILDREN)
        out["proxy", cache] = _curl(stack, url, http)
        client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["caddy cpu", cache] = _cpu_s(pids) - cpu0
        out["curl cpu", cache] = (client1.ru_utime + client1.ru_stime
                                  - client0.ru_utime - client0.ru_stime)
    return out


def _median(runs: list[dict], *key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _report(report: Report, runs: list[dict], size: int, http: str) -> None:
    """Median rates and CPU over the runs, against the local read of the same run."""
    for run in runs:
        print(f"  {size / 1e9:.2f} GB, MB/s: " + ", ".join(
            f"{where} {cache} {run[where, cache] / 1e6:.0f}"
            for where in ("local", "proxy") for cache in ("cold", "warm"))
            + "; CPU s/GB caddy/curl/cat: " + ", ".join(
            f"{cache} " + "/".join(f"{run[who + ' cpu', cache] / size * 1e9:.2f}"
                                   for who in ("caddy", "curl", "cat"))
            for cache in ("cold", "warm")))
    for cache in ("cold", "warm"):
        ratio = statistics.median(r["proxy", cache] / r["local", cache] for r in runs)
        report.add(f"{http} {size / 1e9:.2f} GB through HTTPS + Caddy, {cache} cache "
                   f"(median of {len(runs)}; median ratio {ratio:.2f})",
                   _median(runs, "proxy", cache) / 1e6, "MB/s",
                   _median(runs, "local", cache) / 1e6, f"local cat, {cache}",
                   better="higher")
        report.add(f"{http} CPU of Caddy per GB sent, {cache} cache",
                   _median(runs, "caddy cpu", cache) / size * 1e9, "s",
                   _median(runs, "curl cpu", cache) / size * 1e9,
                   "CPU of the client (curl) per GB")
        if http == "http1.1" and cache == "cold":
            report.check(f"proxy download >= 0.5 x local read, both from the disk "
                         f"(median ratio {ratio:.2f})", ratio >= 0.5)


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="STACK.json of scripts/deploy-check.sh --keep")
    parser.add_argument("--gb", type=float, default=1.5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--http2", action="store_true", help="also time HTTP/2")
    parser.add_argument("--via-dachs", action="store_true")
    args = parser.parse_args()
    stack = json.loads(Path(args.stack).read_text())
    if args.quick:
        args.gb, args.repeats = 0.2, 1
    report = Report("download")
    name = f"DATACUBE_FINAL_bench{args.gb:g}.fits"
    path = Path(stack["data"]) / "bench" / name
    path.parent.mkdir(exist_ok=True)
    path.parent.chmod(0o755)
    if not path.exists():
        _muse_cube(path, next(Path(stack["data"]).rglob("DATACUBE_FINAL_2.fits")),
                   max(1, int(args.gb * 1e9 / PLANE)))
        path.chmod(0o644)
    size = path.stat().st_size
    ref = _publish(stack, name)
    pids = _pids(stack)
    before = {role: _rss_mb(p) for role, p in pids.items()}
    url = f"{stack['vo']}/getproduct/{ref}"
    protocols = ["--http1.1", "--http2"] if args.http2 else ["--http1.1"]
    for http in protocols:
        print(f"  {http[2:]}: {_negotiated(stack, url, http)}")
        runs = [_one_run(stack, path, url, pids["proxy"], http) for _ in range(args.repeats)]
        _report(report, runs, size, http[2:])
    rate, got = _cutout(stack, path, ref)
    report.add(f"SODA cut-out of {got / 1e6:.0f} MB through the stack (DaCHS)", rate / 1e6,
               "MB/s", _median(runs, "proxy", "warm") / 1e6, "the whole file, warm",
               better="higher")
    after = {role: _rss_mb(p) for role, p in pids.items()}
    for role in before:
        report.add(f"RSS of {role} after the downloads", after[role], "MB", before[role],
                   "before")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    report.check("serving memory flat (growth < 50 MB per service)",
                 all(after[r] - before[r] < 50 for r in before))
    if args.via_dachs:
        dachs = _dachs_rate(stack, ref)
        report.add("warm, through DaCHS's own /getproduct", dachs / 1e6, "MB/s",
                   _median(runs, "local", "warm") / 1e6,
                   "local cat, warm", better="higher")
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
