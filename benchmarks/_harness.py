"""Shared pieces of the benchmarks: Django set-up against the `bin/rmn bench` services, and the result line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def say(message: str) -> None:
    print(message, flush=True)


def setup_django(*, seed: bool = True, seed_data: bool = False) -> None:
    """Migrate and seed the benchmark database (idempotent), then configure Django in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmn_saas.settings")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate_schemas", "--noinput", "-v", "0"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    if seed:
        extra = [] if seed_data else ["--no-data"]
        subprocess.run([*manage, "seed_demo", *extra], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    import django

    django.setup()


def start_worker(queue: str, *, log: Path, extra: list[str] | None = None) -> subprocess.Popen:
    env = dict(os.environ, RMN_PRELOAD_MODEL="1" if queue == "gpu" else "0")
    log.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "rmn_saas", "worker", "-Q", queue, "-n", f"bench-{queue}@%h",
         "--loglevel", "INFO", "--logfile", str(log), *(extra or [])],
        env=env, cwd=ROOT,
    )
    deadline = time.monotonic() + 600
    while "ready." not in (log.read_text() if log.exists() else ""):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker for {queue} did not start; see {log}")
        time.sleep(0.2)
    return process


def report(*, name: str, figures: dict, baseline: dict, ratio: float, goal: str, met: bool) -> None:
    print(json.dumps({"benchmark": name, "figures": figures, "baseline": baseline, "ratio": round(ratio, 4),
                      "goal": goal, "met": met}), flush=True)
