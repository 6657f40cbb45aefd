"""Policy check: one ~300-character creative against MegaMart's whole demo policy set (every rule kind), with the
set compiled once per version (what the API does) against compiling it for every check (the baseline, with
Python's own regex cache cleared so it really compiles). Pure Python: no database is needed.
"""

from __future__ import annotations

import os
import re
import statistics
import time

from _harness import report, say

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmn_saas.settings")
import django  # noqa: E402

django.setup()

from governance.policies.checker import Targeting, check_creative, policy_compile  # noqa: E402
from governance.policies.demo import MEGAMART_POLICY_RULES  # noqa: E402

CHECKS = int(os.environ.get("RMN_BENCH_POLICY_CHECKS", "5000"))
BASELINE_CHECKS = 300
GOAL_MS = 2.0

BODY = ("Crunchy kettle chips made with sea salt and real olive oil, cooked in small batches for a golden, satisfying "
        "crunch. Gluten-free and non-GMO, perfect for lunchboxes, game day and road trips. Try all five flavors, "
        "from smoky barbecue to tangy sour cream and onion, and share a bag with friends tonight!")
RISKY = ("The BEST immunity boost on the market!!! Clinically proven to prevent colds and cure fatigue, cheaper than "
         "Walmart or Amazon with the lowest price guaranteed. Visit www.acme-vitamins.com for a FREE gift, act now. "
         "Number one for families, recommended by moms, sugar free and gluten-free, just two gummies a day. Hurry!")
CREATIVES = [
    {"headline": "Kettle chips, small batch", "body": BODY, "placement": "top_of_search", "category": "snacks"},
    {"headline": "Immunity gummies #1", "body": RISKY, "placement": "in_grid", "category": "supplements",
     "targeting": Targeting(audiences=("Parents", "Diabetes management"), age_min=18)},
    {"headline": "Crisp Summer Lager", "body": BODY.replace("chips", "lager"), "placement": "homepage",
     "category": "alcohol/beer", "format": "970x250", "targeting": Targeting(audiences=("Sports fans",), age_min=21)},
]


def _timed(function, n: int) -> list[float]:
    seconds = []
    for i in range(n):
        started = time.perf_counter()
        function(CREATIVES[i % len(CREATIVES)])
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    say(f"{len(MEGAMART_POLICY_RULES)} rules; creatives of {', '.join(str(len(c['body'])) for c in CREATIVES)} "
        "characters plus headline")
    policy = policy_compile(MEGAMART_POLICY_RULES, version=1)
    found = [len(check_creative(policy, **creative)) for creative in CREATIVES]
    say(f"violations per creative: {found}")

    def compiled_once(creative):
        return check_creative(policy, **creative)

    def compiled_each_time(creative):
        re.purge()
        return check_creative(policy_compile(MEGAMART_POLICY_RULES, version=1), **creative)

    _timed(compiled_once, 200)  # warm up
    fast = _timed(compiled_once, CHECKS)
    slow = _timed(compiled_each_time, BASELINE_CHECKS)
    p50, p95 = statistics.median(fast) * 1000, statistics.quantiles(fast, n=20)[-1] * 1000
    base_p50 = statistics.median(slow) * 1000
    say(f"compiled once per version: p50 {p50:.3f} ms, p95 {p95:.3f} ms over {CHECKS} checks")
    say(f"compiled for every check:  p50 {base_p50:.3f} ms over {BASELINE_CHECKS} checks")
    report(
        name="policy_check",
        figures={"rules": len(MEGAMART_POLICY_RULES), "checks": CHECKS, "p50_ms": round(p50, 4),
                 "p95_ms": round(p95, 4), "mean_ms": round(statistics.fmean(fast) * 1000, 4)},
        baseline={"compile_per_check_p50_ms": round(base_p50, 4), "checks": BASELINE_CHECKS},
        ratio=base_p50 / p50,
        goal=f"a ~300-character creative checked against every rule of the demo set in < {GOAL_MS} ms (p95)",
        met=p95 < GOAL_MS,
    )


if __name__ == "__main__":
    main()
