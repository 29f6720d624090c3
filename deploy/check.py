"""Check the deployment files without Docker or a VM: .venv/bin/python deploy/check.py

What it can check on any Debian machine with nginx installed:
- compose.yaml parses and hangs together (the services, networks, volumes and files it names exist;
  every PST process gets the replica set, Redis and the env file; nginx's upstream addresses are the
  web services' addresses);
- both nginx configurations pass `nginx -t` (with a throw-away self-signed certificate in place of the
  real one, and a minimal nginx.conf around them);
- the systemd units pass `systemd-analyze verify` (when systemd-analyze is there), with the
  executable path pointed at one that exists on this machine;
- pst.env.example names only real settings, and the product accepts its values;
- the backup scripts parse (`bash -n`) and the Dockerfile copies what the repository has.
It cannot build the image or start the containers: that needs Docker (see README.md).
Prints one line per check; exits 1 if any failed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PST_SERVICES = ("web1", "web2", "scheduler", "notifier")


class Failed(Exception):
    pass


def check_compose() -> str:
    try:
        import yaml
    except ImportError:
        raise Failed("PyYAML is needed to read compose.yaml (pip install pyyaml)") from None
    doc: dict[str, Any] = yaml.safe_load((HERE / "compose.yaml").read_text())
    services: dict[str, Any] = doc["services"]
    wanted = {"mongo1", "mongo2", "mongo3", "mongo-rs-init", "mongo-init", "redis", "nginx", *PST_SERVICES}
    missing = wanted - set(services)
    if missing:
        raise Failed(f"services missing: {sorted(missing)}")
    networks, volumes = set(doc.get("networks") or {}), set(doc.get("volumes") or {})
    for name, svc in services.items():
        for net in svc.get("networks") or []:
            if net not in networks:
                raise Failed(f"{name}: unknown network {net}")
        for vol in svc.get("volumes") or []:
            source = str(vol).split(":", 1)[0]
            if source.startswith("."):
                if source != "./certs" and not (HERE / source).exists():
                    raise Failed(f"{name}: {source} does not exist")
            elif source not in volumes:
                raise Failed(f"{name}: unknown volume {source}")
        for dep in svc.get("depends_on") or {}:
            if dep not in services:
                raise Failed(f"{name}: depends on unknown service {dep}")
    for name in ("mongo1", "mongo2", "mongo3"):
        if "--replSet" not in services[name]["command"]:
            raise Failed(f"{name} is not started as a replica set member")
    if "rs.initiate" not in " ".join(services["mongo-rs-init"]["command"]):
        raise Failed("mongo-rs-init does not initiate the replica set")
    if services["mongo-init"]["entrypoint"][-1] != "mongo_init":
        raise Failed("mongo-init does not run python -m mongo_init")
    upstream = re.findall(r"server (\d+\.\d+\.\d+\.\d+):(\d+)", (HERE / "nginx/compose.conf").read_text())
    for name in PST_SERVICES:
        svc = services[name]
        env = svc["environment"]
        if "replicaSet=rs0" not in env["MONGODB_URI"] or not env["REDIS_URL"].startswith("redis://"):
            raise Failed(f"{name}: not on the replica set and Redis")
        if svc["env_file"] != "pst.env" or svc["depends_on"]["mongo-init"]["condition"] != (
            "service_completed_successfully"
        ):
            raise Failed(f"{name}: env file or start order wrong")
        role = svc["command"][svc["command"].index("--role") + 1]
        if role != name.rstrip("12"):
            raise Failed(f"{name} runs role {role}")
        if role == "web":
            address = svc["networks"]["frontend"]["ipv4_address"]
            if (address, "8080") not in upstream:
                raise Failed(f"{name} ({address}) is not in nginx/compose.conf's upstream")
    proxy = services["nginx"]["networks"]["frontend"]["ipv4_address"]
    if services["web1"]["environment"]["PST_TRUSTED_PROXIES"] != f"{proxy}/32":
        raise Failed("PST_TRUSTED_PROXIES is not nginx's address")
    if not {"80:80", "443:443"} <= set(services["nginx"]["ports"]):
        raise Failed("nginx does not publish 80 and 443")
    return f"{len(services)} services, replica set of 3, {len(upstream)} web upstreams"


def _nginx() -> str:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if exe is None:
        raise Failed("nginx is not installed (apt-get install nginx)")
    return exe


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "fullchain.pem", tmp / "privkey.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=pst.example.go.id",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def check_nginx(site: str) -> str:
    exe = _nginx()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cert, key = _self_signed(tmp)
        text = (HERE / "nginx" / site).read_text()
        text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
        text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
        (tmp / "site.conf").write_text(text)
        user = "user root;" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(
            f"{user}\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
            f"http {{\n access_log off;\n client_body_temp_path {tmp}/body;\n proxy_temp_path {tmp}/proxy;\n"
            f" fastcgi_temp_path {tmp}/fcgi;\n uwsgi_temp_path {tmp}/uwsgi;\n scgi_temp_path {tmp}/scgi;\n"
            f" include {tmp}/site.conf;\n}}\n"
        )
        run = subprocess.run(
            [exe, "-t", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise Failed(run.stderr.strip())
        warnings = [line for line in run.stderr.splitlines() if "[warn]" in line]
    return "nginx -t passed" + (f" ({len(warnings)} warning(s): {warnings[0].split('] ')[-1]})" if warnings else "")


def check_systemd() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        return "SKIPPED: systemd-analyze is not installed"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for unit in (HERE / "systemd").iterdir():
            # The venv lives at /opt/pst on the VM; here any existing executable stands in for it.
            text = unit.read_text().replace("/opt/pst/.venv/bin/pst", "/bin/true")
            (tmp / unit.name).write_text(text)
        names = [str(tmp / n) for n in ("pst-web@8081.service", "pst-scheduler.service", "pst-notifier.service")]
        shutil.copy(tmp / "pst-web@.service", tmp / "pst-web@8081.service")
        run = subprocess.run(
            [exe, "verify", "--man=no", *names, str(tmp / "pst.target")],
            capture_output=True,
            text=True,
            env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
        )
        # Messages about the machine's own units (not ours) are not our concern.
        ours = [line for line in (run.stdout + run.stderr).splitlines() if "pst" in line]
        if run.returncode != 0 or ours:
            raise Failed("\n".join(ours) or run.stderr.strip())
    return "systemd-analyze verify passed for pst-web@8081, pst-scheduler, pst-notifier, pst.target"


def check_env_example() -> str:
    sys.path.insert(0, str(ROOT))
    from server.settings import Settings, SettingsError, load_settings

    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    values: dict[str, str] = {}
    named = []
    for line in (HERE / "pst.env.example").read_text().splitlines():
        m = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if not m:
            continue
        named.append(m.group(1))
        if m.group(1) not in aliases:
            raise Failed(f"pst.env.example names {m.group(1)}, which is no setting")
        if not line.startswith("#"):
            values[m.group(1)] = m.group(2)
    saved = dict(os.environ)
    try:
        for k in list(os.environ):
            if k in aliases:
                del os.environ[k]
        os.environ.update(values)
        try:
            load_settings()
        except SettingsError as exc:
            raise Failed(f"the product refuses pst.env.example: {exc}") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return f"{len(named)} settings named, {len(values)} set, accepted by load_settings()"


def check_scripts() -> str:
    for script in sorted((HERE / "backup").glob("*.sh")):
        run = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        if run.returncode != 0:
            raise Failed(f"{script.name}: {run.stderr.strip()}")
        if not os.access(script, os.X_OK):
            raise Failed(f"{script.name} is not executable")
    for line in (HERE / "Dockerfile").read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            for source in parts[1:-1]:
                if not (ROOT / source).exists():
                    raise Failed(f"Dockerfile copies {source}, which the repository does not have")
    return "backup scripts parse; the Dockerfile's sources exist"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("compose.yaml", check_compose),
    ("nginx/pst-site.conf", lambda: check_nginx("pst-site.conf")),
    ("nginx/compose.conf", lambda: check_nginx("compose.conf")),
    ("systemd units", check_systemd),
    ("pst.env.example", check_env_example),
    ("scripts and Dockerfile", check_scripts),
]


def main() -> int:
    failed = 0
    for name, check in CHECKS:
        try:
            print(f"ok    {name}: {check()}")
        except Failed as exc:
            failed += 1
            print(f"FAIL  {name}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
