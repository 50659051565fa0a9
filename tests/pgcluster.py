"""A throw-away PostgreSQL cluster for the store and sync tests: `initdb` into a temp folder, `pg_ctl start`
on a free loopback port, a fresh database per test, everything removed at the end of the session.

Finds the server's binaries on PATH or in Debian's /usr/lib/postgresql/<version>/bin. When they are missing
the PostgreSQL tests are skipped, except under CI=true, where a missing server fails them (CI installs
Debian's postgresql). PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user
(Debian's package creates it) or else `nobody`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    port: int
    user: str
    bin: Path
    run_as: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:secret-pw@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.folder / "db"), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )


def start_cluster() -> Cluster:
    binaries = find_binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL's initdb and pg_ctl are not installed")
    folder = Path(tempfile.mkdtemp(prefix="leads-pg-"))
    run_as: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:
        account = "postgres"
        try:
            pwd.getpwnam(account)
        except KeyError:
            account = "nobody"
        entry = pwd.getpwnam(account)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        run_as = ["runuser", "-u", account, "--"]
    (folder / "pw").write_text("secret-pw\n")
    os.chmod(folder / "pw", 0o644)
    subprocess.run(
        [
            *run_as,
            str(binaries / "initdb"),
            "-D",
            str(folder / "db"),
            "-U",
            user,
            "--auth=scram-sha-256",
            f"--pwfile={folder / 'pw'}",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        check=True,
    )
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *run_as,
            str(binaries / "pg_ctl"),
            "-D",
            str(folder / "db"),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        capture_output=True,
        check=True,
    )
    cluster = Cluster(folder, port, user, binaries, run_as)
    deadline = time.monotonic() + 30
    import psycopg

    while True:
        try:
            psycopg.connect(cluster.url(), connect_timeout=2).close()
            return cluster
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                cluster.stop()
                raise


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL cluster (skipped when PostgreSQL is not installed, failed under CI=true)."""
    try:
        cluster = start_cluster()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        failed = isinstance(exc, subprocess.CalledProcessError)
        detail = exc.stderr.decode(errors="replace") if failed else exc
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is needed under CI=true: {detail}")
        pytest.skip(f"PostgreSQL is not available here: {detail}")
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a new, empty PostgreSQL database (with a password)."""
    return pg_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """Each test using it runs twice: on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "store" / "dashboard.sqlite3")
    return request.getfixturevalue("pg_url")
