"""A throwaway PostgreSQL cluster in a temp folder (Debian's postgresql package): initdb, pg_ctl start, a URL, stop.

Without the package the tests that need it are skipped, or fail when CI=true (scripts/test.sh installs it)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def require_postgres() -> Path:
    found = bindir()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is missing (Debian's postgresql package): scripts/test.sh installs it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl in a folder of its own; as root, the server runs as the postgres user (it refuses root)."""

    def __init__(self):
        self.bin = require_postgres()
        self.root = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            uid = pwd.getpwnam(self.user).pw_uid
            os.chown(self.root, uid, -1)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off", "start")

    def _run(self, *argv: str) -> None:
        if self.user:
            argv = ("runuser", "-u", self.user, "--", *argv)
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/postgres?host={self.root}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off", "start")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
