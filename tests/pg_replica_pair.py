"""A PostgreSQL primary with a streaming read replica, each its own server on a free loopback port.

The read-replica tests need a real replica: a hot standby that replays the primary's WAL, refuses
writes, and can be paused mid-stream (``pg_wal_replay_pause()``) to show a replica that lags. The
machine's own server does not allow replication connections, and changing its configuration is not
the tests' business, so :func:`replica_pair` builds a throwaway pair from the PostgreSQL binaries on
the machine: ``initdb`` of a primary (trust authentication on loopback only, replication allowed),
``pg_basebackup --write-recovery-conf`` of a standby, both started with ``pg_ctl``, and both stopped
and deleted afterwards. As root (PostgreSQL refuses to run as root), the servers run as the
``postgres`` user through ``runuser``.

``fsync`` is off on both: these servers hold test data only, and are deleted when the tests end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from stripe_support import free_port

STARTUP_TIMEOUT_S = 60.0
DRIVER = "postgresql+psycopg"


class ReplicaPairUnavailable(RuntimeError):
    """The machine cannot run a throwaway PostgreSQL pair (no binaries, or no user to run them as)."""


@dataclass(frozen=True)
class ReplicaPair:
    primary_url: str
    replica_url: str
    directory: Path

    def pause_replay(self, timeout_s: float = 30.0) -> None:
        """Stop the replica applying WAL: it keeps answering, with what it had (a lagging replica).

        Waits until the pause has taken effect (a pause is first only requested, PostgreSQL 14+)."""
        _execute(self.replica_url, "SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + timeout_s
        while _scalar(self.replica_url, "SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not pause its replay in {timeout_s} s")
            time.sleep(0.02)

    def resume_replay(self) -> None:
        _execute(self.replica_url, "SELECT pg_wal_replay_resume()")

    def delay_apply(self, milliseconds: int) -> None:
        """Have the replica apply each transaction only this long after the primary committed it
        (``recovery_min_apply_delay``, as for a delayed standby): a replica always a little behind."""
        _execute(self.replica_url, f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(milliseconds)}ms'")
        _execute(self.replica_url, "SELECT pg_reload_conf()")

    def wait_caught_up(self, timeout_s: float = 30.0) -> None:
        """Until the replica has replayed all the WAL the primary has written so far."""
        target = _scalar(self.primary_url, "SELECT pg_current_wal_flush_lsn()::text")
        deadline = time.monotonic() + timeout_s
        query = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        while not _scalar(self.replica_url, query):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not replay up to {target} in {timeout_s} s")
            time.sleep(0.05)


def postgres_bindir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: ``pg_config --bindir``, else Debian's versioned folders."""
    candidates: list[str] = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ReplicaPairUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) were found")


def _run_as() -> list[str]:
    """The command prefix that runs a server program as a user PostgreSQL accepts (not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ReplicaPairUnavailable(
            "running as root, and there is no postgres user to run servers as"
        ) from exc
    if not shutil.which("runuser"):
        raise ReplicaPairUnavailable("running as root, and runuser is missing")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def replica_pair() -> Iterator[ReplicaPair]:
    bindir = postgres_bindir()
    prefix = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="tanhui-pg-pair-"))
    if prefix:
        shutil.chown(directory, user="postgres")
    primary, replica = directory / "primary", directory / "replica"
    primary_port, replica_port = free_port(), free_port()
    started: list[Path] = []

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {(done.stderr or done.stdout).strip()}")

    def start(data: Path) -> None:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / f"{data.name}.log"), "-w", "start")
        started.append(data)

    try:
        run(str(bindir / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync")  # fmt: skip
        _configure(primary, primary_port, directory)
        (primary / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
        )
        start(primary)
        run(str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
            "-D", str(replica), "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast",
            "--no-sync")  # fmt: skip
        _configure(replica, replica_port, directory)
        start(replica)
        pair = ReplicaPair(
            f"{DRIVER}://postgres@127.0.0.1:{primary_port}/postgres",
            f"{DRIVER}://postgres@127.0.0.1:{replica_port}/postgres",
            directory,
        )
        _wait_for_standby(pair.replica_url)
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(directory, ignore_errors=True)


def _configure(data: Path, port: int, sockets: Path) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sockets}'\n"
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n"
            "full_page_writes = off\nshared_buffers = 32MB\n"
        )


def _wait_for_standby(url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            if _scalar(url, "SELECT pg_is_in_recovery()"):
                return
        except OperationalError:  # not accepting connections yet
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("the replica did not come up as a hot standby")
        time.sleep(0.1)


def _scalar(url: str, sql: str) -> object:
    """One statement, committed on its own (autocommit: ALTER SYSTEM refuses a transaction block), on a
    connection of its own: its first value."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _execute(url: str, sql: str) -> None:
    _scalar(url, sql)
