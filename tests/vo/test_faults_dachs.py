"""DaCHS restarted while clients query TAP: before and after the restart every query gets
the right answer; while it restarts a client gets a refused connection or an HTTP error,
never a wrong answer; the restarted server has the same data and the same protection."""

from __future__ import annotations

import io
import threading
import time

import pytest
import requests
from astropy.io.votable import parse_single_table
from vo_support import PASSWORD

from qcservice.vo.server import serve, status, stop

pytestmark = pytest.mark.slow

QUERY = "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection = 'MUSE-GTO'"
CLIENTS = 4


def count(tap: str, timeout: float = 30) -> int:
    resp = requests.get(f"{tap}/sync", timeout=timeout,
                        params={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": QUERY})
    resp.raise_for_status()
    return int(parse_single_table(io.BytesIO(resp.content)).array["n"][0])


class Clients:
    """Threads asking the same query in a loop; each answer logged with the phase (0:
    before, 1: restarting, 2: after) at its start and at its end."""

    def __init__(self, tap: str, expected: int) -> None:
        self.tap, self.expected, self.phase = tap, expected, 0
        self.log: list[tuple[int, int, str]] = []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]

    def _run(self) -> None:
        while not self.done.is_set():
            start = self.phase
            try:
                n = count(self.tap)
                outcome = "ok" if n == self.expected else f"wrong answer {n}"
            except requests.HTTPError as exc:
                outcome = f"http {exc.response.status_code}"
            except (requests.ConnectionError, requests.Timeout) as exc:
                outcome = f"no connection: {type(exc).__name__}"
                time.sleep(0.05)   # a refused connection returns at once: do not spin
            except Exception as exc:   # an answer that does not parse is a wrong answer
                outcome = f"wrong answer: {type(exc).__name__}: {exc}"
            self.log.append((start, self.phase, outcome))

    def answered(self, phase: int) -> list[str]:
        return [o for s, e, o in self.log if s == e == phase]

    def wait_for(self, phase: int, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answered(phase)) < n:
            assert time.monotonic() < deadline, self.log[-5:]
            time.sleep(0.1)


def test_restart_while_clients_query(vo_service) -> None:
    expected = count(vo_service.tap)
    assert expected > 0
    inst = vo_service.instance
    old_pid = status(inst).pid
    clients = Clients(vo_service.tap, expected)
    for t in clients.threads:
        t.start()
    try:
        clients.wait_for(0, 3 * CLIENTS)
        clients.phase = 1
        assert stop(inst)
        assert serve(inst)                  # started again, answering
        clients.phase = 2
        clients.wait_for(2, 3 * CLIENTS)
    finally:
        clients.done.set()
        for t in clients.threads:
            t.join(60)
    assert set(clients.answered(0)) == {"ok"}
    assert set(clients.answered(2)) == {"ok"}
    during = [o for s, e, o in clients.log if (s, e) != (0, 0) and (s, e) != (2, 2)]
    assert not [o for o in during if o.startswith("wrong")], during
    new = status(inst)
    assert new.running and new.healthy and new.pid != old_pid
    protected = f"{vo_service.url}/getproduct/{vo_service.embargoed}"
    assert requests.get(protected, timeout=60).status_code in (401, 403)
    assert requests.get(protected, auth=("member", PASSWORD), timeout=60).status_code == 200
