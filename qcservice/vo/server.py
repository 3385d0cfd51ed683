"""Start, stop and check the DaCHS server.

The server is ``dachs serve start --foreground`` (not ``serve debug``, whose /exit page
anyone could call; stops on SIGTERM) started through
``vo/dachs/dachs_launch.py`` in its own session, with a pid file under the instance's state
directory. ``dachs serve start`` would exit 0 even when its port is taken, so health is
always decided by polling the server's URL, never by an exit status.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from qcservice.vo.instance import LAUNCHER, SYSTEM_PYTHON, Instance, VOError

# servers started by this process, kept so that stop() can reap them (no zombies)
_CHILDREN: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    url: str
    healthy: bool
    local_url: str = ""

    def describe(self) -> str:
        state = "running" if self.running else "stopped"
        pid = f" (pid {self.pid})" if self.pid else ""
        if self.healthy and not self.pid:
            state, pid = "running", " (not started by 'musedc vo serve': no pid file)"
        health = "answers" if self.healthy else "does not answer"
        return (f"DaCHS: {state}{pid}\n  local  {self.local_url or self.url} ({health})\n"
                f"  TAP    {self.url}/tap")


def _pid(inst: Instance) -> int | None:
    try:
        pid = int(inst.pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def healthy(url: str, timeout: float = 3) -> bool:
    """True when DaCHS answers its TAP capabilities with 200."""
    try:
        with urllib.request.urlopen(f"{url}/tap/capabilities", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def status(inst: Instance) -> ServerStatus:
    pid = _pid(inst)
    # a DaCHS run by a supervisor (docker/dachs-serve.sh) has no pid file: ask its URL
    return ServerStatus(pid is not None, pid, inst.vo.url, healthy(inst.vo.local_url),
                        inst.vo.local_url)


def _port_taken(bind: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((bind, port)) == 0


def serve(inst: Instance, timeout: float = 120) -> bool:
    """Start the server unless it runs; wait until it answers. True when started here."""
    if _pid(inst) is not None:
        if not healthy(inst.vo.local_url, timeout=10):
            raise VOError(f"DaCHS runs (pid {_pid(inst)}) but {inst.vo.local_url} does not answer")
        return False
    if _port_taken(inst.vo.bind, inst.vo.port):
        raise VOError(f"port {inst.vo.port} on {inst.vo.bind} is taken by another program: "
                      f"set MUSEDC_VO_PORT")
    inst.log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(inst.log_file, "ab") as log:
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(LAUNCHER),
             "serve", "start", "--foreground"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=inst.env(),
            cwd=str(inst.root), start_new_session=True,
            **inst.popen_kwargs())  # type: ignore[arg-type]
    inst.pid_file.parent.mkdir(parents=True, exist_ok=True)
    inst.pid_file.write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            inst.pid_file.unlink(missing_ok=True)
            raise VOError(f"DaCHS exited ({proc.returncode}) on start; see {inst.log_file}")
        if healthy(inst.vo.local_url, timeout=2):
            return True
        time.sleep(0.5)
    stop(inst)
    raise VOError(f"DaCHS did not answer at {inst.vo.local_url} within {timeout:.0f} s; "
                  f"see {inst.log_file}")


def stop(inst: Instance, timeout: float = 30) -> bool:
    """SIGTERM the server and wait for it; True when it was running."""
    pid = _pid(inst)
    if pid is None:
        inst.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        inst.pid_file.unlink(missing_ok=True)
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                break
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    inst.pid_file.unlink(missing_ok=True)
    return True
