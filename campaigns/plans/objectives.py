"""Budget objectives in plain words, each with the `allocate_budget` call it means: the planner task adapter's
training and evaluation data, built from the plan request format (`request.py`) itself.

An example draws a budget, an objective and a few constraints, each written in one of many phrasings, and places
them in a sentence frame. Frames are split into families: training draws from one set of frames, the held-out set
from frames it never saw, so an adapter is scored on sentences shaped unlike any it trained on. The call is the
plan request the optimizer takes, in canonical form (defaults left out), so exact match is dictionary equality.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from campaigns.plans.request import plan_request_from_dict

TOOL = "allocate_budget"
# Short on purpose: every training step runs the prompt through the model.
PLANNER_SYSTEM = "Write the allocate_budget arguments for this objective as JSON."
NETWORKS = {"amazon": ["Amazon", "Amazon Ads"], "walmart": ["Walmart", "Walmart Connect"],
            "instacart": ["Instacart"], "target": ["Target", "Roundel"], "kroger": ["Kroger", "KPM"],
            "megamart": ["MegaMart"]}
OBJECTIVES = {
    "margin": ["incremental margin", "incremental profit", "profit", "gross margin", "margin"],
    "revenue": ["incremental sales", "revenue", "sales", "incremental revenue", "top-line sales"],
    "conversions": ["conversions", "orders", "incremental orders", "purchases", "units sold"],
}
# The JSON schema of the call's arguments: decoding is constrained to it, so every answer is a valid call.
ARGUMENTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "budget": {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"},
        "objective": {"enum": list(OBJECTIVES)},
        "constraints": {
            "type": "object",
            "properties": {
                "min_roas": {"type": "number", "minimum": 0, "maximum": 50},
                "roas_basis": {"enum": ["attributed"]},
                "max_cpa": {"type": "string", "pattern": "^[1-9][0-9]{0,5}$"},
                "reserve_share": {"type": "number", "minimum": 0, "maximum": 0.99},
                "stockout_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                "node_bounds": {"type": "array", "maxItems": 3, "items": {
                    "type": "object",
                    "properties": {"network": {"enum": list(NETWORKS)},
                                   "max": {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"}},
                    "required": ["network", "max"], "additionalProperties": False}},
            },
            "additionalProperties": False,
        },
        "scope": {
            "type": "object",
            "properties": {"networks": {"type": "array", "items": {"enum": list(NETWORKS)}, "minItems": 1,
                                        "maxItems": len(NETWORKS)},
                           "days": {"type": "integer", "minimum": 1, "maximum": 366}},
            "additionalProperties": False,
        },
    },
    "required": ["budget", "objective"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Objective:
    text: str
    call: dict  # {"tool": "allocate_budget", "arguments": {...}}
    frame: str  # the sentence frame's id: train and held-out never share one


# -- the parts, each with many phrasings ---------------------------------------------------------------------------

def _amount_text(rng: random.Random, amount: int) -> str:
    """An amount as people write it: $2.5M, 2.5 million, 800k, $750,000, 1.2MM, 40 thousand dollars."""
    millions, thousands = amount / 1_000_000, amount / 1_000
    choices = [f"${amount:,}", f"{amount:,} dollars", f"${amount}"]
    if amount >= 1_000_000 and (amount % 100_000 == 0):
        m = f"{millions:g}"
        choices += [f"${m}M", f"{m} million", f"${m} million", f"{m}MM", f"${m}m", f"{m}M USD"]
    if amount % 1_000 == 0 and amount < 1_000_000:
        k = f"{thousands:g}"
        choices += [f"${k}k", f"{k}k", f"{k}K", f"${k}K", f"{k} thousand dollars", f"${k} thousand"]
    return rng.choice(choices)


def _budget(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.4:
        return rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 35]) * 100_000 * rng.choice([1, 1, 10])
    if kind < 0.8:
        return rng.randrange(5, 1000) * 1_000
    return rng.randrange(1, 60) * 50_000


def _roas(rng: random.Random) -> tuple[float, str, bool]:
    value = rng.choice([1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6])
    v = f"{value:g}"
    attributed = rng.random() < 0.25
    if attributed:
        text = rng.choice([f"attributed ROAS of at least {v}", f"platform-reported ROAS ≥ {v}",
                           f"keep attributed ROAS above {v}", f"a last-click ROAS floor of {v}x",
                           f"reported ROAS no lower than {v}"])
    else:
        text = rng.choice([f"ROAS ≥ {v}", f"ROAS of at least {v}", f"a {v}x ROAS floor", f"keep ROAS above {v}",
                           f"return at least ${v} per dollar", f"minimum ROAS {v}", f"ROAS no lower than {v}",
                           f"iROAS >= {v}", f"incremental ROAS of {v} or better"])
    return value, text, attributed


def _cpa(rng: random.Random) -> tuple[int, str]:
    value = rng.choice([5, 8, 10, 12, 15, 18, 20, 25, 30, 40, 50])
    return value, rng.choice([f"CPA under ${value}", f"cost per order no more than ${value}",
                              f"a max CPA of ${value}", f"keep cost per acquisition below ${value}",
                              f"CPA ≤ {value} dollars", f"at most ${value} per conversion"])


def _reserve(rng: random.Random) -> tuple[float, str]:
    share = rng.choice([5, 10, 15, 20, 25])
    return share / 100, rng.choice([f"hold back {share}%", f"keep {share}% in reserve", f"reserve {share}% of it",
                                    f"with a {share}% reserve", f"leave {share} percent unallocated",
                                    f"set aside {share}% for testing"])


def _stockout(rng: random.Random) -> tuple[float, str]:
    share = rng.choice([10, 20, 25, 30, 40])
    return share / 100, rng.choice([f"skip SKUs with over {share}% stock-out risk",
                                    f"avoid items more than {share}% likely to go out of stock",
                                    f"no spend on products above {share}% OOS risk",
                                    f"exclude SKUs whose out-of-stock risk exceeds {share}%"])


def _networks(rng: random.Random) -> tuple[list[str], str]:
    chosen = sorted(rng.sample(list(NETWORKS), rng.choice([1, 2, 2, 3])))
    names = [rng.choice(NETWORKS[n]) for n in chosen]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return chosen, rng.choice([f"only on {listed}", f"across {listed}", f"limited to {listed}",
                               f"on {listed} only", f"using just {listed}"])


def _cap(rng: random.Random, budget: int) -> tuple[dict, str]:
    network = rng.choice(list(NETWORKS))
    cap = max(1_000, int(budget * rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, 0.5]) // 1_000 * 1_000))
    name, amount = rng.choice(NETWORKS[network]), _amount_text(rng, cap)
    return {"network": network, "max": str(cap)}, rng.choice(
        [f"cap {name} at {amount}", f"no more than {amount} on {name}", f"{name} capped at {amount}",
         f"spend at most {amount} with {name}"])


def _days(rng: random.Random) -> tuple[int, str]:
    weeks = rng.choice([1, 2, 3, 4, 6, 8, 13])
    if rng.random() < 0.5:
        return weeks * 7, rng.choice([f"over {weeks} weeks", f"for the next {weeks} weeks",
                                      f"across a {weeks}-week flight"])
    days = rng.choice([10, 14, 21, 28, 30, 45, 60, 90])
    return days, rng.choice([f"over {days} days", f"for {days} days", f"in a {days}-day flight"])


# -- sentence frames --------------------------------------------------------------------------------------------
# {budget} {objective} and {constraints} (a list of phrases joined naturally). Train and held-out frames differ in
# verbs, order and register.

TRAIN_FRAMES = {
    "t-allocate": "Allocate {budget} to maximize {objective}{with}.",
    "t-spread": "Spread {budget} across our retail media to get the most {objective}{with}.",
    "t-plan": "Plan a {budget} budget for maximum {objective}{with}.",
    "t-want": "I want the most {objective} from {budget}{with}.",
    "t-optimize": "Optimize {budget} of spend for {objective}{with}.",
    "t-split": "How should we split {budget}? Goal: {objective}{with}.",
    "t-budget-first": "Budget: {budget}. Objective: maximize {objective}{with}.",
    "t-give": "Give me a plan that puts {budget} to work for {objective}{with}.",
    "t-invest": "We have {budget} to invest; maximize {objective}{with}.",
    "t-please": "Please allocate a budget of {budget} to drive {objective}{with}.",
}
HELD_OUT_FRAMES = {
    "h-help": "Can you help me deploy {budget} where it earns the most {objective}{with}?",
    "h-boss": "My boss approved {budget} for next quarter. Find the allocation with the highest {objective}{with}.",
    "h-terse": "{budget}, maximize {objective}{with}",
    "h-need": "Need a {budget} retail media plan focused on {objective}{with}.",
    "h-what": "What's the best way to use {budget} if we care about {objective}{with}?",
}
FRAMES = {**TRAIN_FRAMES, **HELD_OUT_FRAMES}


def _join(phrases: list[str], rng: random.Random) -> str:
    if not phrases:
        return ""
    joined = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return rng.choice([", with ", "; ", " — ", ", "]) + joined


def objective_example(rng: random.Random, frame: str) -> Objective:
    budget = _budget(rng)
    objective = rng.choice(list(OBJECTIVES))
    arguments: dict[str, Any] = {"budget": str(budget), "objective": objective}
    constraints: dict[str, Any] = {}
    scope: dict[str, Any] = {}
    phrases = []
    parts = ["roas", "cpa", "reserve", "stockout", "networks", "cap", "days"]
    for part in rng.sample(parts, rng.choice([0, 1, 2, 2, 3])):
        if part == "roas":
            value, text, attributed = _roas(rng)
            constraints["min_roas"] = value
            if attributed:
                constraints["roas_basis"] = "attributed"
        elif part == "cpa":
            value, text = _cpa(rng)
            constraints["max_cpa"] = str(value)
        elif part == "reserve":
            constraints["reserve_share"], text = _reserve(rng)
        elif part == "stockout":
            constraints["stockout_threshold"], text = _stockout(rng)
        elif part == "networks":
            scope["networks"], text = _networks(rng)
        elif part == "cap":
            bound, text = _cap(rng, budget)
            constraints["node_bounds"] = [bound]
        else:
            scope["days"], text = _days(rng)
        phrases.append(text)
    if constraints:
        arguments["constraints"] = constraints
    if scope:
        arguments["scope"] = scope
    text = FRAMES[frame].format(budget=_amount_text(rng, budget),
                                objective=rng.choice(OBJECTIVES[objective]), **{"with": _join(phrases, rng)})
    return Objective(text=text, call={"tool": TOOL, "arguments": arguments}, frame=frame)


def objective_set(*, held_out: bool, n: int, seed: int) -> list[Objective]:
    """n examples drawn from the training frames, or from the held-out ones."""
    rng = random.Random(seed)  # noqa: S311 (data generation, not security)
    frames = sorted(HELD_OUT_FRAMES if held_out else TRAIN_FRAMES)
    return [objective_example(rng, frames[i % len(frames)]) for i in range(n)]


def call_json(arguments: dict) -> str:
    """The arguments as the model is taught to write them: compact JSON, keys in the schema's order."""
    def ordered(value: Any, schema: dict) -> Any:
        if isinstance(value, dict) and "properties" in schema:
            return {key: ordered(value[key], schema["properties"][key]) for key in schema["properties"] if key in value}
        if isinstance(value, list) and "items" in schema:
            return [ordered(item, schema["items"]) for item in value]
        return value

    return json.dumps(ordered(arguments, ARGUMENTS_SCHEMA), separators=(",", ":"), ensure_ascii=False)


def canonical_arguments(arguments: Any) -> dict | None:
    """The arguments as the optimizer reads them (through the real plan request parser), for exact-match scoring:
    equal meaning gives equal dictionaries whatever the formatting ("2500000" and "2500000.00"). None if invalid."""
    try:
        request = plan_request_from_dict(arguments)
    except (ValueError, TypeError, AttributeError):
        return None
    return {
        "budget": request.budget, "objective": request.objective, "min_roas": request.min_roas,
        "roas_basis": request.roas_basis, "max_cpa": request.max_cpa, "reserve_share": request.reserve_share,
        "stockout_threshold": request.stockout_threshold,
        "node_bounds": sorted((b[0].network, b[2] or Decimal(0)) for b in request.node_bounds),
        "networks": sorted(request.networks), "days": request.flight_days,
    }


def planner_messages(text: str) -> list[dict]:
    return [{"role": "system", "content": PLANNER_SYSTEM}, {"role": "user", "content": text}]


def planner_sft_examples(objectives: list[Objective]) -> list[dict]:
    """Conversational prompt/completion pairs: the objective in, the canonical arguments JSON out."""
    return [{"prompt": planner_messages(o.text),
             "completion": [{"role": "assistant", "content": call_json(o.call["arguments"])}]} for o in objectives]
