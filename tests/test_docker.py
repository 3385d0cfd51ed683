"""The production deployment (docker/), checked as far as a machine without a Docker engine
allows: the compose file parses and hangs together, every command of the image is installed
by the README's set-up script (which the Dockerfile runs), and the services' own commands
and health checks run here for real: the Dask scheduler and worker, and DaCHS's entry
script, whose links must carry the public https URL behind the proxy.

The viewer's gunicorn command is run by tests/test_gunicorn.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import free_port, open_tempdir

from qcservice.config import load_settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.engine import make_engine
from qcservice.lifetime import end_group
from qcservice.serviceuser import service_account, switch_kwargs
from qcservice.vo.instance import DACHS

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
IMAGE_ROOT = "/opt/musedc"          # where the Dockerfile puts the repository
OUR_SERVICES = ("viewer", "gate", "dachs", "scheduler", "worker", "cli")
TEST_ENV = {  # what an operator puts into docker/.env
    "MUSEDC_DB_PASSWORD": "0123abcd", "MUSEDC_HOSTNAME": "musedc.example.org",
    "MUSEDC_VO_HOSTNAME": "vo.musedc.example.org", "MUSEDC_TLS": "internal",
    "MUSEDC_VO_AUTHORITY": "musedc.example.org", "MUSEDC_DATA_DIR": "/srv/muse"}
_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


# --- reading the compose file as compose does -----------------------------------------
def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} (KeyError with the error)."""
    def value(match: re.Match) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op and "?" in op:
            raise KeyError(f"{name}: {arg}")
        return arg if op else ""
    return _VAR.sub(value, text)


def compose(env: dict[str, str] | None = None) -> dict:
    """docker/compose.yaml, interpolated with ``env`` (default: TEST_ENV)."""
    text = (DOCKER / "compose.yaml").read_text()
    return yaml.safe_load(interpolate(text, TEST_ENV if env is None else env))


def localize(argv: list[str], replace: dict[str, str] | None = None) -> list[str]:
    """An image command as it runs here: /opt/musedc is this repository, and every
    ``replace`` key (ports, hosts, folders) found in an argument is replaced, once."""
    pattern = None
    if replace:
        keys = sorted(replace, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(k) for k in keys))
    out = []
    for arg in map(str, argv):  # compose interpolates after parsing: ${N:-2} is "2"
        if pattern is not None:
            arg = pattern.sub(lambda m: replace[m.group(0)], arg)
        if arg.startswith(IMAGE_ROOT + "/"):
            arg = str(REPO / arg[len(IMAGE_ROOT) + 1:])
        out.append(arg)
    return out


def compose_command(service: str, replace: dict[str, str] | None = None) -> list[str]:
    """Entry point and command of a service, localized."""
    spec = compose()["services"][service]
    return localize([*spec.get("entrypoint", []), *spec.get("command", [])], replace)


def health_command(service: str, replace: dict[str, str] | None = None) -> list[str]:
    test = compose()["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD", f"{service}: health check is not in exec form: {test}"
    return localize(test[1:], replace)


def wait_healthy(argv: list[str], proc: subprocess.Popen, log: Path,
                 timeout: float) -> None:
    """Run a health check until it passes; fail with the log if the service died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(argv, capture_output=True).returncode == 0:
            return
        assert proc.poll() is None, f"{argv}: service exited:\n{log.read_text()[-3000:]}"
        time.sleep(1)
    pytest.fail(f"{argv} not healthy within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def service(argv: list[str], env: dict[str, str], log: Path,
            **popen: object) -> Iterator[subprocess.Popen]:
    """A service's command in its own process group, ended by SIGTERM (after 30 s by
    SIGKILL, and then ``proc.killed`` is True)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                **popen)  # type: ignore[call-overload]
    proc.killed = False  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.killed = end_group(proc)  # type: ignore[attr-defined]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSEDC_", "FLASK_"))}
    env.update(extra)
    return env


# --- what the image's set-up installs ----------------------------------------------------
def debian_packages() -> set[str]:
    """scripts/debian-packages.txt (the runtime list, what the image gets) and everything
    they depend on."""
    listed = [line.strip() for line in (REPO / "scripts/debian-packages.txt").read_text()
              .splitlines() if line.strip() and not line.lstrip().startswith("#")]
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                          "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                          "--no-enhances", *listed], capture_output=True, text=True,
                         check=True).stdout
    return {line.strip() for line in out.splitlines() if line and not line[0].isspace()}


def debian_owner(path: str) -> str:
    out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=True)
    return out.stdout.split(":")[0].strip()


def python_requirements(root: str = "musedc") -> set[str]:
    """The project's runtime requirements, recursively (no extras: not the test ones)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def assert_installed_by_setup(path: str, debian: set[str], python: set[str],
                              executable: bool = True) -> None:
    """``path`` (as in the image) is made by scripts/setup.sh or is part of the tree."""
    if path.startswith(f"{IMAGE_ROOT}/.venv/bin/"):
        name = path.rsplit("/", 1)[1]
        local = REPO / ".venv" / "bin" / name
        assert local.exists(), f"{path}: setup.sh did not make {local}"
        if name.startswith("python"):
            return
        dists = {canonicalize_name(ep.dist.name) for ep in
                 metadata.entry_points(group="console_scripts", name=name)}
        assert dists & python, f"{path}: no runtime requirement of musedc provides {name}"
    elif path.startswith(IMAGE_ROOT + "/"):
        rel = path[len(IMAGE_ROOT) + 1:]
        assert (REPO / rel).is_file(), f"{path}: {rel} is not a file of the tree"
        assert not executable or os.access(REPO / rel, os.X_OK), f"{rel} is not executable"
    else:
        assert path.startswith("/usr/"), f"{path}: neither in the tree nor a Debian file"
        assert debian_owner(path) in debian, \
            f"{path} ({debian_owner(path)}) is not installed via scripts/debian-packages.txt"


# --- static checks -------------------------------------------------------------------------
def test_compose_services_volumes_and_health_checks():
    spec = compose()
    services = spec["services"]
    assert set(services) >= {"db", "proxy", *OUR_SERVICES}
    assert {"pgdata", "musedc-home"} <= set(spec["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    for name in OUR_SERVICES:
        svc = services[name]
        env = svc["environment"]
        assert svc["image"] == "musedc:latest" and svc["build"]["dockerfile"] == "docker/Dockerfile"
        assert svc["user"] == "musedc", f"{name} runs as root"
        assert f"musedc-home:{env['MUSEDC_HOME']}" in svc["volumes"]
        assert "/srv/muse:/data:ro" in svc["volumes"]
        db = env["MUSEDC_DATABASE_URL"]
        pg = services["db"]["environment"]
        assert db == (f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@db:5432/"
                      f"{pg['POSTGRES_DB']}")
        assert env["MUSEDC_VO_SERVER_URL"] == "https://vo.musedc.example.org"
        assert env["MUSEDC_VO_URL"] == "https://vo.musedc.example.org/"
        assert env["MUSEDC_VIEWER_URL"] == "https://musedc.example.org"
    for name, svc in services.items():
        assert ("ports" in svc) == (name == "proxy"), f"{name}: only the proxy publishes ports"
        if name != "cli":
            assert svc["healthcheck"]["test"], f"{name} has no health check"
    assert services["cli"]["profiles"] == ["tools"]   # 'up' does not start it
    worker = services["worker"]["command"]
    scheduler = services["scheduler"]["command"]
    assert f"tcp://scheduler:{scheduler[scheduler.index('--port') + 1]}" in worker


def test_compose_names_every_setting_it_needs():
    text = (DOCKER / "compose.yaml").read_text()
    required = {m.group(1) for m in _VAR.finditer(text) if m.group(2) == ":?"}
    assert required == set(TEST_ENV)
    bare = {m.group(1) for m in _VAR.finditer(text) if not m.group(2)}
    assert bare <= required, f"used without a default or an error: {bare - required}"
    example = (DOCKER / "env.example").read_text()
    for name in required:
        assert re.search(rf"^{name}=", example, re.M), f"env.example lacks {name}"
        with pytest.raises(KeyError, match=f"{name}: set {name} in docker/.env"):
            compose({k: v for k, v in TEST_ENV.items() if k != name})


def test_dockerfile_runs_the_readme_setup():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    steps = [line.split(None, 1) for line in re.sub(r"\\\n", " ", dockerfile).splitlines()
             if line.strip() and not line.startswith("#")]
    # a Debian base: build-images.sh passes its own (debootstrap), docker pulls debian:bookworm
    assert steps[:2] == [["ARG", "BASE=debian:bookworm"], ["FROM", "${BASE}"]]
    assert ["WORKDIR", IMAGE_ROOT] in steps and ["COPY", f". {IMAGE_ROOT}"] in steps
    runs = [arg for op, arg in steps if op == "RUN"]
    # twice: first from the files that decide what is installed (a cached layer), then
    # with the code; both the README's set-up
    assert len(runs) == 2
    for run in runs:
        commands = [c.strip() for c in run.split("&&")]
        assert commands[0].startswith('if [ -n "$PIP_CERT" ]')
        assert "scripts/setup.sh --runtime" in commands
    first_copies = [arg for op, arg in steps[:steps.index(["RUN", runs[0]])] if op == "COPY"]
    setup = (REPO / "scripts/setup.sh").read_text()
    for name in [*re.findall(r"(scripts/debian-packages[\w-]*\.txt)", setup), "pyproject.toml"]:
        assert any(name in copy for copy in first_copies), f"{name} not in the first layer"
    readme = (REPO / "README.md").read_text()
    assert "`scripts/setup.sh`" in readme
    run_script = (REPO / "run").read_text()
    assert run_script.count("scripts/setup.sh\n") == 2   # ./run demo and ./run test
    setup = (REPO / "scripts/setup.sh").read_text()
    assert "service_user=${MUSEDC_SERVICE_USER:-musedc}" in setup   # the user compose runs as
    assert 'pip install -q -e "$extras"' in setup       # into .venv, under IMAGE_ROOT
    assert "--runtime) mode=runtime" in setup and "extras='.'" in setup   # no test extras
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "var", ".git", "docker/.env", "docker/certs"} <= set(ignored)


def test_every_image_command_is_installed_by_the_setup():
    debian, python = debian_packages(), python_requirements()
    assert {"gunicorn", "dask", "distributed", "flask"} <= python
    services = compose()["services"]
    for name in OUR_SERVICES:
        svc = services[name]
        argv = [*svc.get("entrypoint", []), *svc.get("command", [])]
        assert_installed_by_setup(argv[0], debian, python)
        if "healthcheck" in svc:
            test = svc["healthcheck"]["test"]
            assert_installed_by_setup(test[1], debian, python)
            assert_installed_by_setup(test[2], debian, python)
    script = (DOCKER / "dachs-serve.sh").read_text()
    assert subprocess.run(["bash", "-n", str(DOCKER / "dachs-serve.sh")]).returncode == 0
    for rel in re.findall(r'"\$here/([^"]+)"', script):
        assert_installed_by_setup(f"{IMAGE_ROOT}/{rel}", debian, python, executable=False)
    for path in {*re.findall(r"(/usr/bin/[\w.-]+)", script), DACHS}:
        assert_installed_by_setup(path, debian, python)


def test_database_image_has_the_extensions_the_migrations_create():
    dockerfile = (DOCKER / "postgres.Dockerfile").read_text()
    assert re.search(r"^FROM \$\{BASE\}$", dockerfile, re.M)   # Debian's, no registry
    listed = (REPO / "scripts/debian-packages.txt").read_text()
    assert "postgresql-15\n" in listed   # the same major version as the embedded cluster
    assert re.search(r"\bpostgresql-15\b", dockerfile)
    created = set()
    for sql in (REPO / "sql").glob("*.sql"):
        created |= set(re.findall(r"CREATE EXTENSION IF NOT EXISTS (\w+)", sql.read_text()))
    assert created == {"pg_sphere", "q3c"}
    for extension in created:
        assert f"postgresql-15-{extension.replace('_', '')}" in dockerfile


def test_proxy_routes_both_hosts_to_their_services():
    spec = compose()
    services = spec["services"]
    proxy = services["proxy"]
    env = proxy["environment"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "/srv/muse:/data:ro" in proxy["volumes"]   # it sends the files itself
    caddyfile = (DOCKER / "Caddyfile").read_text()
    # every setting the Caddyfile reads comes from compose, or from proxy-start.sh
    used = set(re.findall(r"\{\$(\w+)(?::[^}]*)?\}", caddyfile))
    assert used <= set(env) | set(_proxy_start_env(env))
    sites = dict(re.findall(r"^\{\$(\w+)\} \{\n(.*?)^\}", caddyfile, re.M | re.S))

    def bind_port(name: str) -> str:
        command = services[name]["command"]
        return command[command.index("--bind") + 1].rsplit(":", 1)[1]

    assert env["MUSEDC_VIEWER_UPSTREAM"] == f"viewer:{bind_port('viewer')}"
    assert env["MUSEDC_GATE_UPSTREAM"] == f"gate:{bind_port('gate')}"
    assert "reverse_proxy {$MUSEDC_VIEWER_UPSTREAM:" in sites["MUSEDC_HOSTNAME"]
    vo = sites["MUSEDC_VO_HOSTNAME"]
    assert "reverse_proxy {$MUSEDC_DACHS_UPSTREAMS:" in vo
    assert "forward_auth /getproduct/* {$MUSEDC_GATE_UPSTREAM:" in vo
    # the gate's header is dropped from what clients send before the gate is asked
    assert vo.index("request_header -X-Musedc-File") < vo.index("forward_auth")
    # one upstream per DaCHS process, on the ports docker/dachs-serve.sh gives them
    vo_port = int(services["dachs"]["environment"]["MUSEDC_VO_PORT"])
    for n in (1, 3):
        upstreams = _proxy_start_env({**env, "MUSEDC_DACHS_PROCESSES": str(n)})
        assert upstreams["MUSEDC_DACHS_UPSTREAMS"].split() == [
            f"dachs:{vo_port + i}" for i in range(n)]
    assert services["dachs"]["environment"]["MUSEDC_VO_BIND"] == "0.0.0.0"
    assert all("import common" in body for body in sites.values())
    assert "tls {$MUSEDC_TLS}" in caddyfile


def _proxy_start_env(env: dict[str, str]) -> dict[str, str]:
    """The environment docker/proxy-start.sh hands to caddy (run with ``env``; a
    ``caddy`` on PATH that prints its environment instead of serving)."""
    with tempfile.TemporaryDirectory(prefix="musedc-proxy-start-") as folder:
        fake = Path(folder) / "caddy"
        fake.write_text("#!/bin/sh\nenv\n")
        fake.chmod(0o755)
        out = subprocess.run(["sh", str(DOCKER / "proxy-start.sh")], capture_output=True,
                             text=True, check=True,
                             env={**{k: str(v) for k, v in env.items()},
                                  "PATH": f"{folder}:/usr/bin:/bin"}).stdout
    got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {k: v for k, v in got.items() if k.startswith("MUSEDC_")}


# --- the services' commands, run here ---------------------------------------------------
@pytest.mark.slow
def test_dask_scheduler_and_worker_run_as_composed(tmp_path):
    from distributed import Client

    from qcservice.qc.jobs import Task, run_task

    port, board, worker_board = free_port(), free_port(), free_port()
    replace = {"tcp://scheduler:8786": f"tcp://127.0.0.1:{port}", "8786": str(port),
               ":8787": f"127.0.0.1:{board}", "127.0.0.1:8787": f"127.0.0.1:{board}",
               ":8789": f"127.0.0.1:{worker_board}",
               "127.0.0.1:8789": f"127.0.0.1:{worker_board}",
               "/tmp/dask-worker": str(tmp_path / "dask-worker")}
    env = clean_env()
    log = tmp_path / "dask.log"
    with service(compose_command("scheduler", replace), env, log) as scheduler:
        wait_healthy(health_command("scheduler", replace), scheduler, log, 60)
        with service(compose_command("worker", replace), env, log) as worker:
            wait_healthy(health_command("worker", replace), worker, log, 60)
            task = Task(1, "raw", str(tmp_path / "gone.fits"), None, None, None, "BIAS")
            with Client(f"tcp://127.0.0.1:{port}", timeout="30s") as client:
                assert len(client.scheduler_info()["workers"]) == 1
                _, result = client.submit(run_task, task, pure=False).result(timeout=60)
    assert result == f"file is gone: {tmp_path / 'gone.fits'}"


@pytest.mark.slow
@pytest.mark.dachs   # with a PostgreSQL of its own: set by hand, no shared fixture
def test_dachs_entry_script_serves_https_links_and_restarts(tmp_path):
    """DaCHS started by the compose service's script as in its container: as the
    unprivileged user musedc, on a database given by URL. The database is a PostgreSQL
    cluster of its own: 'dachs init' sets the passwords of cluster-wide roles, which would
    lock out the VO tests' DaCHS on the session's cluster."""
    home = open_tempdir("musedc-dachs-")
    settings = load_settings(clean_env(), home=str(home), pg_port=free_port())
    account = service_account(settings.service_user, "DaCHS", RuntimeError)
    vo_port = _free_ports(2)
    try:
        make_engine(settings).dispose()   # creates, starts and migrates the cluster
        if account is not None:
            os.chown(home, account.pw_uid, account.pw_gid)
        env = clean_env(**{k: str(v) for k, v in compose()["services"]["dachs"]
                           ["environment"].items()})
        env.update(MUSEDC_HOME=str(home), MUSEDC_DATABASE_URL=EmbeddedCluster(settings).url(),
                   MUSEDC_VO_PORT=str(vo_port), MUSEDC_VO_BIND="127.0.0.1",
                   MUSEDC_DACHS_PROCESSES="2")
        public = env["MUSEDC_VO_SERVER_URL"]
        replace = {"127.0.0.1:8090": f"127.0.0.1:{vo_port}"}
        url = f"http://127.0.0.1:{vo_port}"
        log = tmp_path / "dachs.log"
        for start in ("first", "again"):
            with service(compose_command("dachs"), env, log,
                         **switch_kwargs(account)) as dachs:
                wait_healthy(health_command("dachs", replace), dachs, log, 240)
                if start == "first":
                    second = f"http://127.0.0.1:{vo_port + 1}"
                    wait_healthy(health_command("dachs", {
                        "127.0.0.1:8090": f"127.0.0.1:{vo_port + 1}"}), dachs, log, 120)
                    _check_async_job_across(url, second)
                    _check_links_and_no_exit_page(url, public)
                    shown = subprocess.run([str(REPO / ".venv" / "bin" / "musedc"), "vo",
                                            "status"], env=env, capture_output=True,
                                           text=True, timeout=120)
                    assert shown.returncode == 0, shown.stdout + shown.stderr
                    assert "not started by 'musedc vo serve'" in shown.stdout
            assert not dachs.killed, "DaCHS did not stop on SIGTERM"
        output = log.read_text()
        assert output.count("DaCHS instance ready") == 2    # vo init twice: idempotent
    finally:
        EmbeddedCluster(settings).stop()
        shutil.rmtree(home, ignore_errors=True)


def _free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports on 127.0.0.1."""
    while True:
        base = free_port()
        try:
            with contextlib.ExitStack() as stack:
                for i in range(n):
                    stack.enter_context(socket.create_server(("127.0.0.1", base + i)))
            return base
        except OSError:
            continue


def _check_async_job_across(one: str, other: str) -> None:
    """An async TAP job created on one DaCHS process is run, seen and delivered by the
    other: they share the job store (uwsWD and the job table)."""
    import requests
    from astropy.io.votable import parse_single_table

    created = requests.post(f"{one}/tap/async", allow_redirects=False, timeout=30, data={
        "LANG": "ADQL", "QUERY": "SELECT TOP 3 table_name FROM tap_schema.tables"})
    assert created.status_code == 303, created.text
    job = created.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    started = requests.post(f"{other}/tap/async/{job}/phase", data={"PHASE": "RUN"},
                            allow_redirects=False, timeout=30)
    assert started.status_code == 303, started.text
    deadline = time.monotonic() + 60
    phase = ""
    while phase != "COMPLETED" and time.monotonic() < deadline:
        phase = requests.get(f"{one}/tap/async/{job}/phase", timeout=30).text.strip()
        assert phase not in ("ERROR", "ABORTED"), phase
        time.sleep(0.5)
    assert phase == "COMPLETED"
    result = requests.get(f"{other}/tap/async/{job}/results/result", timeout=30)
    assert result.status_code == 200
    assert len(parse_single_table(io.BytesIO(result.content)).to_table()) == 3


def _check_links_and_no_exit_page(url: str, public: str) -> None:
    with urllib.request.urlopen(f"{url}/__system__/siap2/sitewide/siap2.xml") as resp:
        siap = resp.read().decode()
    assert f"{public}/__system__/obscore/dl/dlmeta" in siap   # DataLink descriptor
    assert public.replace("https://", "http://") not in siap
    with urllib.request.urlopen(f"{url}/tap/capabilities") as resp:
        assert f"<accessURL use=\"full\">{public}/tap</accessURL>" in resp.read().decode()
    with pytest.raises(urllib.error.HTTPError) as exc:   # 'dachs serve debug' would stop on it
        urllib.request.urlopen(f"{url}/exit")
    assert exc.value.code == 404
    with urllib.request.urlopen(f"{url}/tap/capabilities") as resp:
        assert resp.status == 200


def test_every_musedc_command_of_the_guide_exists():
    import click
    from click.testing import CliRunner

    from qcservice.cli import main

    guide = (REPO / "docs" / "operations.md").read_text()
    code = [line for line in guide.splitlines() if line.startswith("    ")]
    code += [f"musedc {span}" for span in re.findall(r"`musedc ([^`]+)`", guide)]
    found = set()
    for line in code:
        for words in re.findall(r"(?:^|[\s(])musedc ((?:[a-z][\w-]*(?: |$))+)", line.strip()) + \
                re.findall(r"run --rm (?:-T )?cli ((?:[a-z][\w-]*(?: |$))+)", line):
            path, group = [], main
            for word in words.split():
                if not isinstance(group, click.Group) or word not in group.commands:
                    break
                path.append(word)
                group = group.commands[word]
            assert path, f"docs/operations.md: 'musedc {words}' is no command"
            found.add(tuple(path))
    for path in found:
        result = CliRunner().invoke(main, [*path, "--help"], prog_name="musedc")
        assert result.exit_code == 0, f"musedc {' '.join(path)} --help: {result.output}"
    assert {("db", "migrate"), ("qc", "run"), ("vo", "publish"), ("users", "add"),
            ("ingest",)} <= found


# --- the scripts that build and check the stack (scripts/deploy-check.sh runs them) ------
def test_build_script_builds_every_image_compose_uses():
    script = (REPO / "scripts" / "build-images.sh").read_text()
    built = dict((image, file) for image, file in
                 re.findall(r"^build (\S+) (docker/\S+) ", script, re.M))
    assert set(built.values()) == {f"docker/{p.name}" for p in DOCKER.glob("*Dockerfile")}
    for name, svc in compose()["services"].items():
        if "build" in svc:   # every image compose would build is built by the script
            dockerfile = f"docker/{svc['build']['dockerfile'].removeprefix('docker/')}"
            assert built.get(svc["image"]) == dockerfile, name
    for path in DOCKER.glob("*Dockerfile"):  # all on the Debian base the script makes
        assert re.search(r"^ARG BASE=debian:bookworm\nFROM \$\{BASE\}$", path.read_text(),
                         re.M), path.name
    assert '"BASE=$base"' in script and "debootstrap --variant=minbase bookworm" in script


def test_scripts_parse_and_podman_uses_runc():
    for name in ("scripts/build-images.sh", "scripts/deploy-check.sh", "scripts/lib.sh",
                 "scripts/container-engine.sh", "docker/dachs-serve.sh",
                 "docker/postgres-entrypoint.sh"):
        assert subprocess.run(["bash", "-n", str(REPO / name)]).returncode == 0, name
    assert subprocess.run(["sh", "-n", str(DOCKER / "proxy-start.sh")]).returncode == 0
    conf = (DOCKER / "containers.conf").read_text()
    assert re.search(r'^runtime = "runc"$', conf, re.M)      # crun fails on hybrid cgroups
    engine = (REPO / "scripts" / "container-engine.sh").read_text()
    assert "CONTAINERS_CONF=" in engine and "debian-packages-deploy.txt" in engine
    listed = [line.strip() for line in (REPO / "scripts/debian-packages-deploy.txt")
              .read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert {"podman", "runc", "podman-compose", "debootstrap"} <= set(listed)
    known = subprocess.run(["apt-cache", "show", "--no-all-versions", *listed],
                           capture_output=True, text=True).stdout
    assert set(re.findall(r"^Package: (\S+)", known, re.M)) == set(listed)


def test_deploy_check_sets_every_required_setting():
    script = (REPO / "scripts" / "deploy-check.sh").read_text()
    env = re.search(r'cat > "\$work/\.env" <<EOF\n(.*?)^EOF', script, re.M | re.S).group(1)
    names = set(re.findall(r"^(MUSEDC_\w+)=", env, re.M))
    assert set(TEST_ENV) <= names
    text = (DOCKER / "compose.yaml").read_text()
    assert names <= {m.group(1) for m in _VAR.finditer(text)}, "a setting compose ignores"
    client = (REPO / "scripts" / "deploy_check_client.py").read_text()
    for check in ("refused anonymously (401)", "refused to a non-member (403)",
                  "delivered to a member", "TAP async job", "viewer login"):
        assert check in client
