"""The outside view of scripts/deploy-check.sh: a client on the network, through the proxy
only, with the stack's own CA. Run by deploy-check.sh in a container of the image (its
Python has requests and pyvo), or by hand:

    python scripts/deploy_check_client.py SETTINGS.json

SETTINGS: viewer and vo (https base URLs), ca (the CA certificate file), resolve (host
name -> address, as a DNS would), password (of the users member and stranger), authority, embargoed
and public (accref, file_id, filename and sha256 of an embargoed and a public product).
Prints one line per check and exits 1 at the first that fails, naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import time

import pyvo
import requests
from astropy.table import Table


def resolve_as(table: dict[str, str]) -> None:
    """Make the check's host names resolve to the stack's address (no /etc/hosts edit)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(table.get(host, host), *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def check(name: str, ok: bool, detail: object = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + str(detail) if detail else ''}",
          flush=True)
    if not ok:
        sys.exit(1)


def session(ca: str, auth: tuple[str, str] | None = None) -> requests.Session:
    s = requests.Session()
    s.verify = ca
    s.auth = auth
    return s


def sha256_of(resp: requests.Response) -> str:
    digest = hashlib.sha256()
    for chunk in resp.iter_content(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def check_https_and_login(cfg: dict) -> None:
    anon = session(cfg["ca"])
    page = anon.get(f"{cfg['viewer']}/login", timeout=30)
    check("viewer /login over HTTPS with the stack's CA", page.status_code == 200,
          page.status_code)
    check("HSTS header", "max-age" in page.headers.get("Strict-Transport-Security", ""))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = anon.post(f"{cfg['viewer']}/login", data={
        "username": "member", "password": cfg["password"], "csrf_token": token},
        allow_redirects=False, timeout=30)
    check("viewer login", done.status_code == 302 and "musedc_session" in done.cookies,
          done.status_code)
    cookie = next(c for c in anon.cookies if c.name == "musedc_session")
    check("session cookie Secure and HttpOnly", cookie.secure and
          cookie.has_nonstandard_attr("HttpOnly"))
    home = anon.get(f"{cfg['viewer']}/", timeout=60)
    check("summary page as member", home.status_code == 200 and "member" in home.text,
          home.status_code)


def check_tap(cfg: dict) -> int:
    s = session(cfg["ca"])
    tap = pyvo.dal.TAPService(f"{cfg['vo']}/tap", session=s)
    count = int(tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore").to_table()["n"][0])
    check("TAP sync query through the proxy", count > 0, f"{count} ObsCore rows")
    job = tap.submit_job("SELECT TOP 5 obs_publisher_did FROM ivoa.obscore")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
    # several DaCHS processes: each poll may reach another one, all see the same job
    phases = {tap.get_job(job.job_id).phase for _ in range(6)}
    rows = len(job.fetch_result().to_table())
    check("TAP async job across the DaCHS processes", phases == {"COMPLETED"} and rows > 0,
          f"phases {phases}, {rows} rows")
    job.delete()
    # an upload is kept in the job's folder: any process runs and answers the job
    ids = Table({"did": [str(d) for d in tap.search(
        "SELECT TOP 3 obs_publisher_did FROM ivoa.obscore").to_table()["obs_publisher_did"]]})
    job = tap.submit_job("SELECT o.obs_publisher_did FROM ivoa.obscore AS o "
                         "JOIN TAP_UPLOAD.mine AS m ON o.obs_publisher_did = m.did",
                         uploads={"mine": ids})
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
    got = len(job.fetch_result().to_table()) if job.phase == "COMPLETED" else job.phase
    check("TAP async job with an upload, across the DaCHS processes", got == len(ids), got)
    job.delete()
    return count


def check_files(cfg: dict) -> None:
    emb, pub = cfg["embargoed"], cfg["public"]
    url = f"{cfg['vo']}/getproduct/{emb['accref']}"
    anon = session(cfg["ca"]).get(url, timeout=30)
    check("embargoed /getproduct refused anonymously (401)", anon.status_code == 401,
          anon.status_code)
    other = session(cfg["ca"], ("stranger", cfg["password"])).get(url, timeout=30)
    check("embargoed /getproduct refused to a non-member (403)", other.status_code == 403,
          other.status_code)
    with session(cfg["ca"], ("member", cfg["password"])).get(url, stream=True,
                                                             timeout=60) as got:
        check("embargoed /getproduct delivered to a member",
              got.status_code == 200 and sha256_of(got) == emb["sha256"], got.status_code)
        check("bytes sent by the proxy (file_server: ETag, Accept-Ranges)",
              "ETag" in got.headers and got.headers.get("Accept-Ranges") == "bytes")
    part = session(cfg["ca"], ("member", cfg["password"])).get(
        url, headers={"Range": "bytes=100-199"}, timeout=30)
    check("Range request (resume)", part.status_code == 206 and len(part.content) == 100,
          part.status_code)
    with session(cfg["ca"]).get(f"{cfg['vo']}/getproduct/{pub['accref']}", stream=True,
                                timeout=60) as got:
        check("public product delivered anonymously",
              got.status_code == 200 and sha256_of(got) == pub["sha256"], got.status_code)
    files = f"{cfg['viewer']}/files/{emb['file_id']}/{emb['filename']}"
    hidden = session(cfg["ca"], ("stranger", cfg["password"])).get(files, timeout=30)
    check("viewer /files hides the embargoed file from a non-member (404)",
          hidden.status_code == 404, hidden.status_code)
    with session(cfg["ca"], ("member", cfg["password"])).get(files, stream=True,
                                                             timeout=60) as got:
        check("viewer /files delivers it to the member, sent by the proxy",
              got.status_code == 200 and sha256_of(got) == emb["sha256"]
              and "ETag" in got.headers, got.status_code)
    forged = session(cfg["ca"]).get(url, headers={"X-Musedc-File": "/etc/passwd"},
                                    timeout=30)
    check("a client cannot name a file to the proxy", forged.status_code == 401,
          forged.status_code)


def check_compression(cfg: dict) -> None:
    """FITS leaves as it is (DaCHS would gzip it in its one thread for any client that
    accepts gzip, as requests and pyvo do), text is compressed by the proxy."""
    s = session(cfg["ca"])
    did = f"ivo://{cfg['authority']}/~?{cfg['public']['accref']}"
    cut = s.get(f"{cfg['vo']}/muse/q/dl/dlget", params={"ID": did, "BAND": "6.0e-7 6.1e-7"},
                stream=True, timeout=60)
    check("SODA cut-out sent uncompressed to a client accepting gzip",
          cut.status_code == 200 and "Content-Encoding" not in cut.headers
          and cut.raw.read(9) == b"SIMPLE  =",
          f"{cut.status_code}, {cut.headers.get('Content-Encoding', 'identity')}")
    tap = s.get(f"{cfg['vo']}/tap/sync", params={
        "REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT * FROM ivoa.obscore"},
        timeout=60)
    check("TAP VOTable compressed by the proxy", tap.status_code == 200 and
          tap.headers.get("Content-Encoding") == "gzip", tap.headers.get("Content-Encoding"))


def main(path: str) -> None:
    with open(path) as f:
        cfg = json.load(f)
    resolve_as(cfg["resolve"])
    t = time.monotonic()
    check_https_and_login(cfg)
    check_tap(cfg)
    check_files(cfg)
    check_compression(cfg)
    print(f"client checks passed in {time.monotonic() - t:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
