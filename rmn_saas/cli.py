"""The commands behind `bin/rmn`: up, test, manage, bench.

Each starts the embedded Postgres and Redis unless DATABASE_URL / REDIS_URL say otherwise, then runs its work.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rmn_saas.embedded import EmbeddedPostgres, EmbeddedRedis, remove_tree, start_postgres, start_redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _say(message: str) -> None:
    print(f"rmn: {message}", file=sys.stderr, flush=True)


class Services:
    """The database and broker a command runs against, embedded unless the environment names others."""

    def __init__(self, data_dir: Path, *, database: str = "rmn") -> None:
        self.data_dir = data_dir
        self.database = database
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None

    def start(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("RMN_DATA_DIR", str(ROOT / ".data"))
        if not env.get("DATABASE_URL"):
            self.postgres = start_postgres(self.data_dir / "pg", database=self.database)
            env["DATABASE_URL"] = self.postgres.uri
            _say(f"postgres (embedded) at {self.postgres.uri}")
        if not env.get("REDIS_URL"):
            self.redis = start_redis(self.data_dir / "redis")
            env["REDIS_URL"] = self.redis.url
            _say(f"redis (embedded) at {self.redis.url}")
        env["DJANGO_SETTINGS_MODULE"] = "rmn_saas.settings"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def _manage(env: dict[str, str], *args: str) -> int:
    return subprocess.call([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT)  # noqa: S603


class StopRequested(Exception):
    """Ctrl-C or SIGTERM: stop every process `up` started, in order, and the embedded services."""


def _raise_stop(signum, frame):  # noqa: ARG001
    raise StopRequested


def cmd_up(_: argparse.Namespace) -> int:
    started = time.monotonic()
    # From here on a signal unwinds into the `finally` below, whatever `up` is waiting on.
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    services = Services(ROOT / ".data")
    env = services.start()
    env.setdefault("DJANGO_DEBUG", "1")
    processes: list[subprocess.Popen] = []
    try:
        if _manage(env, "migrate_schemas", "--noinput", "-v", "0") != 0:
            return 1
        if _manage(env, "seed_demo") != 0:
            return 1
        celery = [PYTHON, "-m", "celery", "-A", "rmn_saas", "--workdir", str(ROOT)]
        commands = {
            "web": [PYTHON, str(ROOT / "manage.py"), "runserver", "127.0.0.1:8000", "--noreload"],
            "worker": [*celery, "worker", "-Q", "default", "-n", "default@%h", "--loglevel", "INFO"],
            # One process per accelerator: the model loads once, at start, and a few threads take jobs at once so
            # that concurrent generations meet in one mixed-stack batch (inference/serving.py).
            "gpu-worker": [
                *celery, "worker", "-Q", "gpu", "-n", "gpu@%h", "--pool", "threads",
                "--concurrency", env.get("RMN_GPU_CONCURRENCY", "4"), "--prefetch-multiplier", "1",
                "--loglevel", "INFO",
            ],
            "beat": [
                *celery, "beat", "--loglevel", "INFO",
                "--schedule", str(Path(env["RMN_DATA_DIR"]) / "celerybeat-schedule"),
            ],
        }
        for name, command in commands.items():
            proc_env = dict(env, RMN_PROCESS=name, RMN_PRELOAD_MODEL="1" if name == "gpu-worker" else "0")
            # Each child in its own session: Ctrl-C reaches the CLI alone, which stops them in order.
            processes.append(
                subprocess.Popen(command, env=proc_env, cwd=ROOT, start_new_session=True)  # noqa: S603
            )
        _wait_for_http("http://127.0.0.1:8000/healthz", timeout=60)
        _say(f"ready in {time.monotonic() - started:.1f}s")
        print(_banner(), flush=True)
        return _supervise(processes)
    except StopRequested:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in processes:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        services.stop()
        _say("stopped")


def _banner() -> str:
    return "\n".join(
        [
            "",
            "RMN Copilot is running.",
            "  Platform admin   http://localhost:8000/admin/        platform-admin / demo-pass-123",
            "  Brand (Acme)     http://acme.localhost:8000/         acme-admin | acme-analyst | acme-viewer",
            "  Retailer         http://megamart.localhost:8000/     megamart-admin | megamart-analyst | ...",
            "  API              http://acme.localhost:8000/api/v1/   docs at /api/docs/",
            "  Demo password for every demo user: demo-pass-123",
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def _wait_for_http(url: str, *, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local URL
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the web server did not answer at {url} within {timeout:.0f}s")


def _supervise(processes: list[subprocess.Popen]) -> int:
    """Wait until a signal (StopRequested) or until any child dies, which stops them all."""
    while True:
        for proc in processes:
            if proc.poll() is not None:
                _say(f"process {' '.join(proc.args[1:4])} exited with {proc.returncode}; stopping")
                return 1
        time.sleep(0.5)


def cmd_test(args: argparse.Namespace) -> int:
    lint = subprocess.call([PYTHON, "-m", "ruff", "check", "."], cwd=ROOT)  # noqa: S603
    if lint != 0:
        _say("ruff found problems")
        return lint
    throwaway = Path(tempfile.mkdtemp(prefix="rmn-test-"))
    # The embedded Postgres runs as its own system user when we are root, so it must traverse the folder.
    os.chmod(throwaway, 0o755)  # noqa: S103
    services = Services(throwaway, database="rmn")
    try:
        env = services.start()
        env["RMN_TESTING"] = "1"
        status = subprocess.call([PYTHON, "-m", "pytest", *args.pytest_args], env=env, cwd=ROOT)  # noqa: S603
        # pytest's 5 means no test ran, which is a failure for us.
        return 1 if status == 5 else status
    finally:
        services.stop()
        remove_tree(throwaway)


def cmd_manage(args: argparse.Namespace) -> int:
    services = Services(ROOT / ".data")
    try:
        env = services.start()
        return _manage(env, *args.manage_args)
    finally:
        services.stop()


def cmd_bench(args: argparse.Namespace) -> int:
    folder = ROOT / "benchmarks"
    names = [args.name] if args.name else sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    throwaway = Path(tempfile.mkdtemp(prefix="rmn-bench-"))
    os.chmod(throwaway, 0o755)  # noqa: S103 - see cmd_test
    services = Services(throwaway, database="rmn_bench")
    worst = 0
    try:
        env = services.start()
        for name in names:
            script = folder / f"{name}.py"
            if not script.exists():
                _say(f"no benchmark named {name!r} (have: {', '.join(names)})")
                return 2
            _say(f"benchmark {name}")
            worst = max(worst, subprocess.call([PYTHON, str(script)], env=env, cwd=ROOT))  # noqa: S603
        return worst
    finally:
        services.stop()
        remove_tree(throwaway)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/rmn", description="RMN Copilot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run the app with embedded Postgres, Redis, workers and beat").set_defaults(
        func=cmd_up
    )
    test = sub.add_parser("test", help="ruff, then pytest against a throwaway database")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=cmd_test)
    manage = sub.add_parser("manage", help="run a management command against the `up` services")
    manage.add_argument("manage_args", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    bench = sub.add_parser("bench", help="run benchmarks/NAME.py (all when no name)")
    bench.add_argument("name", nargs="?")
    bench.set_defaults(func=cmd_bench)
    argv = sys.argv[1:] if argv is None else argv
    # `test` and `manage` hand everything after them to pytest / manage.py untouched, options included.
    if argv and argv[0] in ("test", "manage"):
        args = parser.parse_args(argv[:1])
        setattr(args, "pytest_args" if argv[0] == "test" else "manage_args", argv[1:])
    else:
        args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
