"""`pst serve` as a real process: the embedded database starts with it and never outlives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from server.embedded import free_port

START_TIMEOUT = 60.0


def _db_processes(data_dir: Path) -> list[int]:
    """PIDs of secantusd processes storing under `data_dir`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if "secantusd" in cmd and str(data_dir) in cmd and state != "Z":
            found.append(int(proc.name))
    return found


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "PST_", "SMTP_", "REDIS_"))}
    env.update(extra)
    return env


def _start(data_dir: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited early ({proc.returncode}):\n{out}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def _wait_gone(pids: list[int], timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = pids
    while time.monotonic() < deadline:
        alive = [
            p for p in pids if Path(f"/proc/{p}").exists() and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"
        ]
        if not alive:
            return []
        time.sleep(0.1)
    return alive


def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_server_and_database_and_data_survives(tmp_path: Path, sig: signal.Signals) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _start(data, port)
    try:
        _wait_healthy(port, proc)
        dbs = _db_processes(data)
        assert len(dbs) == 1, dbs
        status, _ = _post(
            port, "/auth/register", {"email": "tetap@example.id", "password": "rahasia-123", "name": "Tetap"}
        )
        assert status == 202
        # The notifier delivers the verification e-mail to the file sink (no SMTP_URL).
        deadline = time.monotonic() + 15
        while not list((data / "mail").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(sig)
        assert proc.wait(30) == 0
        assert _wait_gone(dbs) == [], "database outlived the server"
    finally:
        if proc.poll() is None:
            proc.kill()
    emls = list((data / "mail").glob("*.eml"))
    assert emls and "tetap@example.id" in emls[0].read_text()
    # Restart: the account is still there (registering again answers as for a new address, 202, and
    # mails the unverified owner a new verification link instead of creating anything).
    port2 = free_port()
    proc = _start(data, port2)
    try:
        _wait_healthy(port2, proc)
        status, body = _post(
            port2, "/auth/register", {"email": "tetap@example.id", "password": "rahasia-123", "name": "Tetap"}
        )
        assert status == 202, body
        deadline = time.monotonic() + 15
        while len(list((data / "mail").glob("*.eml"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list((data / "mail").glob("*.eml"))) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert _wait_gone(_db_processes(data)) == []


def test_killed_server_takes_its_database_along(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _start(data, port)
    try:
        _wait_healthy(port, proc)
        dbs = _db_processes(data)
        assert len(dbs) == 1
        proc.kill()  # a crash: no cleanup code runs
        proc.wait(10)
        assert _wait_gone(dbs) == [], "orphan database after the server was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
    # And the next start works on the same data dir.
    port2 = free_port()
    proc = _start(data, port2)
    try:
        _wait_healthy(port2, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_with_mongodb_uri_no_database_is_started(tmp_path: Path, mongo_uri: str) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _start(data, port, MONGODB_URI=mongo_uri, PST_DB_NAME="serve_external")
    try:
        _wait_healthy(port, proc)
        assert _db_processes(data) == []
        assert not (data / "db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.mark.parametrize(
    "var,value",
    [
        ("MONGODB_URI", "http://nope"),
        ("SMTP_URL", "ftp://x"),
        ("PUBLIC_BASE_URL", "not a url"),
        ("REDIS_URL", "memcached://x"),
    ],
)
def test_bad_configuration_stops_with_one_line(tmp_path: Path, var: str, value: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--data-dir", str(tmp_path)],
        env=_env(**{var: value}),
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 2
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and var in lines[0], lines


def test_admin_create_user_reads_password_from_stdin(tmp_path: Path, mongo_uri: str) -> None:
    env = _env(MONGODB_URI=mongo_uri, PST_DB_NAME="cli_admin")
    cmd = [
        sys.executable,
        "-m",
        "server",
        "admin",
        "create-user",
        "--email",
        "kepala@bps.go.id",
        "--name",
        "Kepala PST",
        "--role",
        "supervisor",
        "--office",
        "7501",
    ]
    proc = subprocess.run(cmd, input=b"sangat-rahasia\n", env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "supervisor kepala@bps.go.id" in proc.stdout.decode()
    again = subprocess.run(cmd, input=b"sangat-rahasia\n", env=env, capture_output=True, timeout=60)
    assert again.returncode == 2 and "email_taken" in again.stderr.decode()
    bad = subprocess.run(cmd[:-1] + ["9999"], input=b"sangat-rahasia\n", env=env, capture_output=True, timeout=60)
    assert bad.returncode == 2 and "invalid_office" in bad.stderr.decode()
