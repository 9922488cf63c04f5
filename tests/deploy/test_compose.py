"""The deployment kit in `deploy/` runs what it says: CI cannot run Docker, so the compose file's commands are
run here through the same `gateway` entry point the image's ENTRYPOINT names.

Each gateway service of `deploy/docker-compose.yml` is taken as compose would start it — its command line and
its environment, with compose's `${VAR:-default}` interpolation — with the database swapped for a
throw-away PostgreSQL schema, the named volumes for temporary folders and the rules volume for the folder it
mounts. `migrate` must exit 0 (twice: an upgrade runs it again), `api` must answer `GET /health` on the port
the image's HEALTHCHECK asks (and that HEALTHCHECK command itself must pass), `worker` must stay up until
SIGTERM and then exit 0. The Dockerfile's user is not root, every `GATEWAY_*` variable compose sets is a
real setting, and every systemd unit's `ExecStart` is a real CLI command (`--help` exits 0).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import Settings
from tests.conftest import SHARED, PostgresSchema

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
#: The installed console script: what `pip install` puts beside this interpreter, as in the image.
GATEWAY = Path(sys.executable).with_name("gateway")

#: What an operator exports before `docker compose up` (the variables compose insists on with `:?`).
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "compose-test",
    "GATEWAY_METRICS_TOKEN": "metrics-token-for-the-compose-test",
    "GATEWAY_CONSOLE_SECRET": "console-secret-for-the-compose-test",
    "GATEWAY_RULES_HOST_DIR": str(SHARED / "validation"),
}
#: Long enough for a slow CI machine to start a Python process; a hang guard, not a performance limit.
STARTUP_SECONDS = 120.0
#: How long the worker must stay up on its own before it is sent SIGTERM.
WORKER_UP_SECONDS = 4.0

# --- compose: interpolation and the services -----------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` (nested) and `${NAME:?error}`, as compose reads them."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        unset = value is None or (value == "" and operator and operator.startswith(":"))
        if not unset:
            return value or ""
        if operator in (":?", "?"):
            raise AssertionError(f"compose needs {name}: {argument}")
        if operator in (":-", "-"):
            return interpolate(argument, env)
        return ""

    return _VARIABLE.sub(replace, text)


def compose_file() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def gateway_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from deploy/Dockerfile: the ones that run the gateway."""
    found = {
        name: service
        for name, service in compose["services"].items()
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }
    assert set(found) == {"migrate", "api", "worker"}, found
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Launch:
    """One compose service as a local process: command, environment, volumes mapped to this machine."""

    def __init__(self, name: str, service: Mapping[str, Any], database_url: str, volumes_dir: Path) -> None:
        self.name = name
        self.command = [str(part) for part in service["command"]]
        env = {key: interpolate(str(value), OPERATOR_ENV) for key, value in service["environment"].items()}
        compose_database = env["GATEWAY_DATABASE_URL"]
        # the database compose names (the `postgres` service) → a fresh schema on the test server
        self.env = {key: database_url if value == compose_database else value for key, value in env.items()}
        for volume in service.get("volumes", []):
            source, target = interpolate(volume, OPERATOR_ENV).split(":")[:2]
            if source.startswith((".", "/")):  # a bind mount: that folder on this machine
                host = (DEPLOY / source).resolve()
                assert host.is_dir(), f"{name}: {volume} mounts a folder that is not there"
            else:  # a named volume: a fresh folder
                host = volumes_dir / source
                host.mkdir(parents=True, exist_ok=True)
            self.env = {
                key: str(host) + value[len(target) :]
                if value == target or value.startswith(target + "/")
                else value
                for key, value in self.env.items()
            }
        self.port: int | None = None
        if "--port" in self.command:
            at = self.command.index("--port") + 1
            self.container_port = int(self.command[at])
            self.port = free_port()
            self.command[at] = str(self.port)
            self.command[self.command.index("--host") + 1] = "127.0.0.1"

    def process_env(self) -> dict[str, str]:
        """This machine's environment without any GATEWAY_* of the test run, then the service's."""
        base = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
        return {**base, **self.env}

    def start(self, cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(GATEWAY), *self.command],
            env=self.process_env(),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GATEWAY), *self.command],
            env=self.process_env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """SIGTERM, as compose and systemd stop a service; the exit code and what it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def wait_for_health(process: subprocess.Popen[str], port: int) -> tuple[int, Any]:
    """Poll GET /health until it answers (the process must not have exited meanwhile): status and body."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the API exited with {process.returncode}: {process.communicate()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("GET /health never answered")


# --- Dockerfile ------------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions per stage (continuation lines joined, comments dropped)."""
    stages: list[list[tuple[str, str]]] = [[]]
    logical = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        logical += line.rstrip()
        if logical.endswith("\\"):
            logical = logical[:-1] + " "
            continue
        keyword, _, argument = logical.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), argument.strip()))
        logical = ""
    return stages


def instruction(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [argument for name, argument in stage if name == keyword]
    assert found, f"no {keyword} in the stage {stage[0]}"
    return found[-1]


def stage_named(name: str) -> list[tuple[str, str]]:
    [stage] = [stage for stage in dockerfile_stages() if stage and stage[0][1].endswith(f" AS {name}")]
    return stage


def json_form(argument: str) -> list[str]:
    value = json.loads(argument)
    assert isinstance(value, list), argument
    return [str(part) for part in value]


def healthcheck_command() -> list[str]:
    argument = instruction(stage_named("runtime"), "HEALTHCHECK")
    return json_form(argument[argument.index("CMD ") + 4 :])


# --- the tests -------------------------------------------------------------------------------------------


@pytest.fixture
def schema() -> Iterator[PostgresSchema]:
    created = PostgresSchema()
    try:
        yield created
    finally:
        created.drop()


def test_compose_services_run_against_a_fresh_database(schema: PostgresSchema, tmp_path: Path) -> None:
    """migrate exits 0 (and again: nothing to do), then api answers /health and worker runs until SIGTERM."""
    services = gateway_services(compose_file())
    launches = {
        name: Launch(name, service, schema.url, tmp_path / "volumes") for name, service in services.items()
    }
    assert launches["api"].env["GATEWAY_RULES_DIR"] == str((SHARED / "validation").resolve())
    assert launches["api"].env["GATEWAY_DATA_DIR"] == str(tmp_path / "volumes" / "gateway-data")

    migrated = launches["migrate"].run(tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated from empty to" in migrated.stdout
    again = launches["migrate"].run(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout

    api = launches["api"].start(tmp_path)
    worker = launches["worker"].start(tmp_path)
    worker_started = time.monotonic()
    try:
        port = launches["api"].port
        assert port is not None
        assert wait_for_health(api, port) == (200, {"status": "ok", "database": "postgresql"})
        # the image's own HEALTHCHECK command, pointed at this port, passes
        command = [part.replace(":8000/", f":{port}/") for part in healthcheck_command()]
        assert command[0] == "python"
        check = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        # a few seconds up: past its start-up checks and in its loop, not exited on a problem
        while time.monotonic() - worker_started < WORKER_UP_SECONDS:
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.2)
    finally:
        api_code, _, api_err = stop(api)
        worker_code, worker_out, worker_err = stop(worker)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so a supervisor sees why it stopped
    assert api_code in (0, -signal.SIGTERM), api_err
    assert "Application shutdown complete" in api_err
    assert worker_code == 0, worker_err
    assert "signal 15" in worker_err  # it was in its loop, and stopped on SIGTERM
    assert "claimed 0" in worker_out


def test_compose_ports_and_healthcheck_agree(tmp_path: Path) -> None:
    """The port the API listens on in its container is the one compose publishes and HEALTHCHECK asks."""
    services = gateway_services(compose_file())
    api = Launch("api", services["api"], "postgresql+psycopg://unused", tmp_path)
    published = [interpolate(str(port), {}).split(":")[-1] for port in services["api"]["ports"]]
    assert published == [str(api.container_port)]
    assert any(f"127.0.0.1:{api.container_port}/health" in part for part in healthcheck_command())
    # the image's default command is the API, as compose runs it
    assert json_form(instruction(stage_named("runtime"), "CMD")) == [
        str(part) for part in services["api"]["command"]
    ]
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_runs_the_gateway_as_a_user() -> None:
    """Slim Python base, non-root USER, ENTRYPOINT the package's `gateway` console script, /health checked."""
    stages = dockerfile_stages()
    arguments = dict(
        argument.split("=", 1) for name, argument in stages[0] if name == "ARG" and "=" in argument
    )
    assert arguments["PYTHON_IMAGE"] == "python:3.11-slim"
    runtime = stage_named("runtime")
    assert runtime[0][1].startswith("${PYTHON_IMAGE} ")
    user = instruction(runtime, "USER").split(":")[0]
    assert user not in ("root", "0", "")
    assert any(name == "RUN" and "useradd" in argument and user in argument for name, argument in runtime)
    assert json_form(instruction(runtime, "ENTRYPOINT")) == ["gateway"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["gateway"] == "gateway.cli:app"
    assert GATEWAY.is_file()
    assert any(name == "RUN" and "pip install" in argument for name, argument in runtime)
    # the default target (the last stage) is the runtime image, the rules mounted rather than baked in
    assert stages[-1][0] == ("FROM", "runtime")
    assert instruction(stage_named("with-rules"), "ENV") == "GATEWAY_RULES_DIR=/rules"


def test_compose_sets_only_real_settings() -> None:
    """Every GATEWAY_* variable compose gives the gateway is a Settings field (a typo would be ignored)."""
    fields = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}
    named: set[str] = set()
    for service in gateway_services(compose_file()).values():
        named |= set(service["environment"])
    assert named, "no environment"
    assert all(name.startswith("GATEWAY_") for name in named)
    unknown = named - fields
    assert not unknown, f"not settings: {sorted(unknown)}"
    # the Dockerfile's ENV too
    for name, argument in (item for stage in dockerfile_stages() for item in stage):
        if name == "ENV" and argument.startswith("GATEWAY_"):
            for assignment in shlex.split(argument):
                assert assignment.split("=")[0] in fields, assignment


def unit_file(path: Path) -> dict[str, list[str]]:
    """A systemd unit's `Key=value` lines (a key may repeat), sections ignored."""
    values: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_systemd_unit_runs_a_real_command(unit: Path, tmp_path: Path) -> None:
    """Each unit's ExecStart is a `gateway` command that exists (`--help` exits 0), run hardened."""
    values = unit_file(unit)
    [exec_start] = values["ExecStart"]
    argv = shlex.split(exec_start.replace("%H", "host").replace("%i", "1"))
    assert Path(argv[0]).name == "gateway"
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    shown = subprocess.run(
        [str(GATEWAY), *argv[1:], "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert f"gateway {argv[1]}" in " ".join(shown.stdout.split())
    assert values["NoNewPrivileges"] == ["yes"]
    assert values["ProtectSystem"] == ["strict"]
    assert values["ReadWritePaths"]
    assert values.get("User") != ["root"] and (values.get("User") or values.get("DynamicUser") == ["yes"])
    if unit.name == "gateway-migrate.service":
        assert values["Type"] == ["oneshot"]
    if unit.name.startswith("gateway-worker@"):
        assert "%i" in exec_start
