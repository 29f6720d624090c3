"""A real IMAP server for the tests: Debian's dovecot, started on a free port with a throw-away config.

Plain-text login (loopback only, no TLS), one passwd-file user, a maildir under a temporary folder.
As root the mail processes run as the `dovecot` user (dovecot refuses root for them); otherwise as the
current user. Mail is delivered by IMAP APPEND, or for very large messages by writing the maildir file.
Use it with `from tests.fakes.dovecot import dovecot_server  # noqa: F401` (fixture `dovecot`).
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.embedded import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


@dataclass
class Dovecot:
    root: Path
    port: int
    user: str
    password: str
    uid: int
    gid: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX"

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def append(self, *raws: bytes) -> None:
        """Deliver mails into the INBOX over IMAP APPEND, in order."""
        conn = self.connect()
        try:
            for raw in raws:
                typ, data = conn.append("INBOX", None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def drop_into_maildir(self, raw: bytes) -> None:
        """Deliver a mail by writing it into the maildir's new/ (as an MTA's local delivery would)."""
        new = self.root / "mail" / self.user / "new"
        new.mkdir(parents=True, exist_ok=True)
        name = f"{int(time.time())}.P{os.getpid()}Q{secrets.token_hex(4)}.pst-test"
        tmp = self.root / "mail" / self.user / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        path = tmp / name
        path.write_bytes(raw)
        for p in (path, new, tmp, new.parent, new.parent.parent):
            os.chown(p, self.uid, self.gid)
        os.replace(path, new / name)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "dovecot.log").read_text(errors="replace")
        return ""


def _config(root: Path, port: int, uid: str, gid: str, as_root: bool) -> str:
    users = (
        ""
        if as_root
        else (f"default_internal_user = {uid}\ndefault_internal_group = {gid}\ndefault_login_user = {uid}\n")
    )
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mailbox_idle_check_interval = 1 secs
mail_location = maildir:{root}/mail/%u
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture(name="dovecot")
def dovecot_server() -> Iterator[Dovecot]:
    """dovecot on a free port, with user `pst7406` and an empty INBOX; stopped and removed afterwards."""
    if not os.path.exists(DOVECOT):
        pytest.fail("dovecot is not installed (Debian package dovecot-imapd; .ci/run installs it)")
    as_root = os.geteuid() == 0
    if as_root:
        owner = pwd.getpwnam("dovecot")
        uid_name, gid_name, uid, gid = "dovecot", grp.getgrgid(owner.pw_gid).gr_name, owner.pw_uid, owner.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
        uid_name, gid_name = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
    # Not pytest's tmp_path: it is private to the test's user, and dovecot's processes must reach it.
    root = Path(tempfile.mkdtemp(prefix="pst-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid)
    port = free_port()
    user, password = "pst7406", secrets.token_urlsafe(12)
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    (root / "dovecot.conf").write_text(_config(root, port, uid_name, gid_name, as_root))
    proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = Dovecot(root, port, user, password, uid, gid, proc)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"dovecot did not start: {err}\n{server.log()}")
            time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
