"""The embedded database: SecantusDB run as a child process (never imported: it is GPL-2.0).

The child is put in its own process group and given PR_SET_PDEATHSIG on Linux, so it dies with us
even when we are killed with SIGKILL; a lock file under the data dir lets the next start reap any
child left over from a crash on systems without that signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import AsyncMongoClient

log = logging.getLogger(__name__)

START_TIMEOUT_SECS = 30.0
STOP_TIMEOUT_SECS = 10.0
# How often the supervisor looks whether the child is still running.
SUPERVISE_INTERVAL_SECS = 0.25
# Waits before each restart while the child keeps dying: quick at first, then at most every 30 s.
RESTART_BACKOFF_SECS = (0.2, 1.0, 2.0, 5.0, 10.0, 30.0)
# A child that has run this long counts as healthy again: the next crash restarts it quickly.
HEALTHY_AFTER_SECS = 60.0


def free_port(avoid: frozenset[int] = frozenset()) -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now, and not one of `avoid` (a port about to be
    taken: the web server binds its own only after the embedded database has started)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in avoid:
            return port


def _secantusd_command() -> list[str]:
    exe = Path(sys.executable).with_name("secantusd-py")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("secantusd-py")
    if found:
        return [found]
    raise RuntimeError("secantusd-py not found: pip install secantusdb==0.7.0b3")


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask Linux to SIGTERM it when we die.
    os.setsid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_secantusd(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "secantusd" in cmdline


def _read_pid_file(pid_file: Path) -> dict[str, int] | None:
    try:
        data = json.loads(pid_file.read_text())
        return {"pid": int(data["pid"]), "port": int(data["port"]), "owner": int(data["owner"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_instance(storage_path: Path) -> int | None:
    """The port of a database another live `pst` process runs on this storage path, if any."""
    info = _read_pid_file(storage_path.parent / f".{storage_path.name}.pid")
    if info and _alive(info["owner"]) and _alive(info["pid"]) and _is_secantusd(info["pid"]):
        return info["port"]
    return None


def _reap_stale(pid_file: Path) -> None:
    """Stop a database child whose owner died without stopping it (a crash on a system without PDEATHSIG)."""
    info = _read_pid_file(pid_file)
    if info is None:
        return
    pid = info["pid"]
    if _alive(info["owner"]) and info["owner"] != os.getpid():
        raise RuntimeError(f"another pst process (pid {info['owner']}) is using this data directory")
    if not _is_secantusd(pid):
        return
    log.warning("stopping database process %s left over from an earlier run", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECS
    while time.monotonic() < deadline and _alive(pid) and _is_secantusd(pid):
        time.sleep(0.1)
    if _alive(pid) and _is_secantusd(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# A watchdog in its own process: PR_SET_PDEATHSIG alone was seen to miss (the database outlived a
# SIGKILLed server), so this polls the server's pid and stops the database's process group when the
# server is gone. It exits by itself once the database has exited.
_WATCHDOG = """
import os, signal, sys, time
server, db = int(sys.argv[1]), int(sys.argv[2])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True
while alive(db):
    if not alive(server):
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(db, sig)
            except ProcessLookupError:
                sys.exit(0)
            end = time.monotonic() + wait
            while time.monotonic() < end and alive(db):
                time.sleep(0.1)
        sys.exit(0)
    time.sleep(0.5)
"""


class EmbeddedDatabase:
    """Starts SecantusDB on a free port storing under `storage_path`, and stops it."""

    def __init__(
        self,
        storage_path: Path | str,
        port: int | None = None,
        *,
        log_path: Path | None = None,
        avoid: frozenset[int] = frozenset(),
    ):
        self.storage_path = Path(storage_path)
        self.port = port or free_port(avoid)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.watchdog: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def _pid_file(self) -> Path:
        return self.storage_path.parent / f".{self.storage_path.name}.pid"

    def start_process(self) -> None:
        """Spawn the server without waiting for it."""
        if str(self.storage_path) != ":memory:":
            self.storage_path.mkdir(parents=True, exist_ok=True)
            _reap_stale(self._pid_file)
        cmd = _secantusd_command() + [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage_path),
            "--log-level",
            "WARNING",
        ]
        if self.watchdog is not None:
            self.watchdog.poll()  # reap the previous child's watchdog (it exits with its database)
        log_file = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            stdout=log_file if log_file is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        if log_file is not None:
            log_file.close()  # the child has its own copy of the descriptor
        self.watchdog = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.proc.pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if str(self.storage_path) != ":memory:":
            self._pid_file.write_text(json.dumps({"pid": self.proc.pid, "port": self.port, "owner": os.getpid()}))
        self.started_at = time.monotonic()
        log.info("embedded database starting (pid %s, port %s)", self.proc.pid, self.port)

    async def wait_ready(self, within_secs: float = START_TIMEOUT_SECS) -> None:
        """Poll until the server answers a ping; fail clearly if the child died."""
        # A deadline rather than asyncio.timeout: each ping has its own short timeouts, and on expiry we
        # want the clear RuntimeError below, not a TimeoutError out of a cancelled ping.
        deadline = time.monotonic() + within_secs
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"embedded database exited with code {self.proc.returncode}")
                try:
                    await client.admin.command("ping")
                    return
                except Exception:  # noqa: BLE001 - not up yet
                    if time.monotonic() > deadline:
                        raise RuntimeError("embedded database did not answer in time") from None
                    await asyncio.sleep(0.1)
        finally:
            await client.close()

    async def start(self) -> None:
        self.start_process()
        await self.wait_ready()
        log.info("embedded database ready at 127.0.0.1:%s", self.port)

    async def supervise(self) -> None:
        """Restart the child whenever it exits (killed, crashed) until `stop`; runs until cancelled.

        Same port and storage path, so the client reconnects by itself and finds every acknowledged
        write. Restarts back off while the child keeps dying (RESTART_BACKOFF_SECS).
        """
        failures = 0
        while True:
            await asyncio.sleep(SUPERVISE_INTERVAL_SECS)
            proc = self.proc
            if proc is None:
                return  # stopped on purpose
            if proc.poll() is None:
                if failures and time.monotonic() - self.started_at > HEALTHY_AFTER_SECS:
                    failures = 0
                continue
            delay = RESTART_BACKOFF_SECS[min(failures, len(RESTART_BACKOFF_SECS) - 1)]
            failures += 1
            log.error(
                "embedded database (pid %s) exited with code %s; restarting in %.1fs",
                proc.pid,
                proc.returncode,
                delay,
            )
            await asyncio.sleep(delay)
            if self.proc is not proc:
                return  # stopped (or replaced) while we waited
            try:
                self.start_process()
                await self.wait_ready()
            except Exception:  # noqa: BLE001 - logged; the loop tries again after a longer wait
                log.exception("embedded database did not come back (attempt %s)", failures)
                continue
            self.restarts += 1
            log.warning("embedded database restarted (pid %s, port %s)", self.proc.pid if self.proc else "?", self.port)

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL if it will not go."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_SECS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError):
            self._pid_file.unlink()
        log.info("embedded database stopped")
