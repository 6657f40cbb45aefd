"""What a policy rule may say: one validator for every kind's `spec`, and for whole import documents.

Specs are stored exactly as given once valid (no defaults filled in), so export → import → export is exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from governance.policies.models import RuleKind, Severity

MAX_RULES = 1000
MAX_PATTERN = 300

# Claim types a required disclaimer can be triggered by (`when.claims`); retailers name them, the patterns are ours.
CLAIM_PATTERNS: dict[str, str] = {
    "health": (r"\b(?:cur(?:e|es|ing)|heal(?:s|ing)?|reliev(?:e|es|ing)|prevent(?:s|ing)?|immun(?:e|ity)|detox\w*"
               r"|clinically|supports?\s+(?:\w+\s+){0,2}(?:health|immunity|digestion|sleep|energy|metabolism"
               r"|joints?|focus|recovery))\b"),
    "price": (r"(?:[$€£]\s?\d|\b\d+\s?%\s?off\b|\bsav(?:e|es|ings)\b|\bdiscount\w*|\bdeals?\b|\bsale\b"
              r"|\bclearance\b|\bbogo\b|\bbuy\s+one,?\s+get\s+one\b|\blowest\b|\bcheapest\b)"),
    "sweepstakes": r"\b(?:sweepstakes|giveaway|contest|(?:enter|chance)\s+to\s+win|prizes?)\b",
    "environmental": (r"\b(?:eco[\s-]?friendly|sustainabl[ey]|recyclable|recycled|compostable|biodegradable"
                      r"|carbon[\s-]neutral|plastic[\s-]free|planet[\s-]friendly)\b"),
    "results": r"\b(?:results?|guaranteed|lose\s+\d+|in\s+(?:just\s+)?\d+\s+days)\b",
    "nutrition": (r"\b(?:low[\s-](?:fat|sugar|sodium|calorie|carb)s?|sugar[\s-]free|fat[\s-]free"
                  r"|high[\s-](?:protein|fiber)|\d+\s?g\s+(?:of\s+)?(?:protein|fiber)|keto|heart[\s-]healthy)\b"),
}

NOT_AN_OBJECT = "A policy document is a JSON object."
NOT_A_FIELD_OBJECT = "Must be a JSON object."
UNKNOWN_FIELD = "Unknown field."
MISSING = "This field is required."
WRONG_RETAILER = "This document is for retailer {document!r}, not {retailer!r}."
NOT_A_POSITIVE_INT = "Must be a whole number of at least {minimum}."
NOT_A_NUMBER = "Must be a number above 0."
NOT_A_BOOL = "Must be true or false."
NOT_TEXT = "Must be non-empty text of at most {limit} characters."
NOT_A_LIST = "Must be a non-empty list of non-empty texts."
NOT_A_CHOICE = "Must be one of: {choices}."
NO_RULES = "A policy set needs at least one rule and at most {limit}."
BAD_RULE_ID = "A rule id is a slug: lowercase letters, digits, '-' and '_', at most 100 characters."
DUPLICATE_RULE_ID = "Rule id {rule_id!r} is used twice (first at entry {first})."
INVALID_REGEX = "Not a valid regular expression: {error}."
EMPTY_MATCH = "This pattern matches empty text, so it would flag everything."
WORD_HAS_SPACE = "A word has no spaces; use match 'phrase' for several words."
NOT_A_CHAR_CLASS = "Must be one regular-expression character class, such as [A-Za-z0-9 .,!?'&-]."
UNKNOWN_CLAIM = "Unknown claim type {claim!r}; known: {known}."
NOTHING_TO_CHECK = "Say at least one of: {fields}."
EPSILON_NEEDED = "epsilon_max is required when dp_required is true."

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


class PolicyError(Exception):
    """A rule or document that cannot be stored; `entry` is the rule's index in the document's `rules` list."""

    def __init__(self, field: str, message: str, *, entry: int | None = None, rule_id: str | None = None) -> None:
        super().__init__(message)
        self.field, self.message, self.entry, self.rule_id = field, message, entry, rule_id

    @property
    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {} if self.entry is None else {"entry": self.entry}
        if self.rule_id:
            details["rule_id"] = self.rule_id
        return {**details, "field": self.field, "message": self.message}


# Field checks: each takes (value, field path) and raises PolicyError.
Check = Callable[[Any, str], None]


def _text(value: Any, field: str, limit: int = 1000) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise PolicyError(field, NOT_TEXT.format(limit=limit))


def _texts(value: Any, field: str) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(field, NOT_A_LIST)


def _bool(value: Any, field: str) -> None:
    if not isinstance(value, bool):
        raise PolicyError(field, NOT_A_BOOL)


def _int(minimum: int) -> Check:
    def check(value: Any, field: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise PolicyError(field, NOT_A_POSITIVE_INT.format(minimum=minimum))
    return check


def _positive(value: Any, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PolicyError(field, NOT_A_NUMBER)


def _choice(*choices: str) -> Check:
    def check(value: Any, field: str) -> None:
        if value not in choices:
            raise PolicyError(field, NOT_A_CHOICE.format(choices=", ".join(choices)))
    return check


def compile_regex(value: Any, field: str, flags: int = re.IGNORECASE) -> re.Pattern:
    _text(value, field, MAX_PATTERN)
    try:
        compiled = re.compile(value, flags)
    except re.error as exc:
        raise PolicyError(field, INVALID_REGEX.format(error=exc)) from exc
    if compiled.search("") is not None:
        raise PolicyError(field, EMPTY_MATCH)
    return compiled


def _regex(value: Any, field: str) -> None:
    compile_regex(value, field)


def _char_class(value: Any, field: str) -> None:
    _text(value, field, MAX_PATTERN)
    if not re.fullmatch(r"\[.+\]", value, re.DOTALL):
        raise PolicyError(field, NOT_A_CHAR_CLASS)
    compile_regex(value, field, 0)


def term_regex(spec: dict) -> re.Pattern:
    """A disallowed term as a regex. Words and phrases match whole words only ("cure" never hits "secure"),
    and a phrase's words may be split by any spaces or hyphens."""
    flags = 0 if spec.get("case_sensitive") else re.IGNORECASE
    pattern = spec["pattern"]
    if spec["match"] == "regex":
        return compile_regex(pattern, "spec.pattern", flags)
    if spec["match"] == "word" and len(pattern.split()) != 1:
        raise PolicyError("spec.pattern", WORD_HAS_SPACE)
    body = r"[\s-]+".join(re.escape(word) for word in pattern.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", flags)


def _claims(value: Any, field: str) -> None:
    _texts(value, field)
    for claim in value:
        if claim not in CLAIM_PATTERNS:
            raise PolicyError(field, UNKNOWN_CLAIM.format(claim=claim, known=", ".join(CLAIM_PATTERNS)))


def _object(fields: dict[str, tuple[Check, bool]]) -> Check:
    """A JSON object with exactly these fields: (check, required) each; unknown fields are refused."""
    def check(value: Any, field: str) -> None:
        prefix = f"{field}." if field else ""
        if not isinstance(value, dict):
            raise PolicyError(field, NOT_A_FIELD_OBJECT)
        for key in value:
            if key not in fields:
                raise PolicyError(f"{prefix}{key}", UNKNOWN_FIELD)
        for key, (check_one, required) in fields.items():
            if key in value:
                check_one(value[key], f"{prefix}{key}")
            elif required:
                raise PolicyError(f"{prefix}{key}", MISSING)
    return check


_SCOPE = _object({"placements": (_texts, False), "categories": (_texts, False), "brands": (_texts, False)})
_WHEN = _object({"placements": (_texts, False), "categories": (_texts, False), "claims": (_claims, False),
                 "pattern": (_regex, False)})

SPEC_FIELDS: dict[str, dict[str, tuple[Check, bool]]] = {
    RuleKind.DISALLOWED_TERM: {
        "match": (_choice("word", "phrase", "regex"), True), "pattern": (lambda v, f: _text(v, f, MAX_PATTERN), True),
        "case_sensitive": (_bool, False), "applies_to": (_SCOPE, False), "unless": (_regex, False),
        "replacement": (_text, False), "reason": (_text, False), "fix": (_text, False),
    },
    RuleKind.REQUIRED_DISCLAIMER: {"text": (_text, True), "when": (_WHEN, False)},
    RuleKind.CREATIVE_SPEC: {
        "placements": (_texts, True), "headline_max": (_int(1), False), "body_max": (_int(1), False),
        "allowed_chars": (_char_class, False), "no_all_caps_words_longer_than": (_int(1), False),
        "all_caps_allowed": (_texts, False), "no_repeated_punctuation": (_bool, False),
        "max_exclamation_marks": (_int(0), False), "capitalization": (_choice("sentence", "title"), False),
        "formats": (_texts, False),
    },
    RuleKind.TARGETING_RESTRICTION: {
        "applies_to": (_SCOPE, False), "min_age": (_int(13), False), "blocked_audiences": (_texts, False),
        "blocked_geos": (_texts, False), "reason": (_text, False),
    },
    RuleKind.DATA_ACCESS: {
        "views": (_texts, True), "k_min": (_int(2), True), "dp_required": (_bool, True),
        "epsilon_max": (_positive, False), "epsilon_daily_budget": (_positive, False),
        "min_window_days": (_int(1), False), "allowed_dimensions": (_texts, False),
    },
}
# A creative spec or targeting restriction that restricts nothing is a mistake, not a rule.
_ONE_OF = {
    RuleKind.CREATIVE_SPEC: tuple(k for k in SPEC_FIELDS[RuleKind.CREATIVE_SPEC] if k != "placements"),
    RuleKind.TARGETING_RESTRICTION: ("min_age", "blocked_audiences", "blocked_geos"),
}
_RULE = _object({"rule_id": (lambda v, f: None, True), "kind": (_choice(*RuleKind.values), True),
                 "severity": (_choice(*Severity.values), True), "category": (lambda v, f: _text(v, f, 100), True),
                 "spec": (lambda v, f: None, True)})


def rule_validate(rule: Any) -> None:
    """Raise PolicyError (with the field path inside the rule) unless `rule` is a storable rule."""
    _RULE(rule, "")
    if not isinstance(rule["rule_id"], str) or not _RULE_ID.fullmatch(rule["rule_id"]):
        raise PolicyError("rule_id", BAD_RULE_ID)
    spec_validate(rule["kind"], rule["spec"])


def spec_validate(kind: str, spec: Any) -> None:
    _object(SPEC_FIELDS[kind])(spec, "spec")
    if kind in _ONE_OF and not any(key in spec for key in _ONE_OF[kind]):
        raise PolicyError("spec", NOTHING_TO_CHECK.format(fields=", ".join(_ONE_OF[kind])))
    if kind == RuleKind.DISALLOWED_TERM:
        term_regex(spec)
    if kind == RuleKind.DATA_ACCESS and spec["dp_required"] and "epsilon_max" not in spec:
        raise PolicyError("spec.epsilon_max", EPSILON_NEEDED)


def policy_document_validate(document: Any, *, retailer_slug: str) -> list[dict]:
    """The document's rules, if every one is valid; otherwise the first problem, naming its entry and field."""
    if not isinstance(document, dict):
        raise PolicyError("", NOT_AN_OBJECT)
    for key in document:
        if key not in ("retailer", "version", "rules", "notes"):
            raise PolicyError(key, UNKNOWN_FIELD)
    if "retailer" in document and document["retailer"] != retailer_slug:
        raise PolicyError("retailer", WRONG_RETAILER.format(document=document["retailer"], retailer=retailer_slug))
    if "version" in document:
        _int(1)(document["version"], "version")
    if "notes" in document and not isinstance(document["notes"], str):
        raise PolicyError("notes", NOT_TEXT.format(limit=10_000))
    rules = document.get("rules")
    if not isinstance(rules, list) or not 0 < len(rules) <= MAX_RULES:
        raise PolicyError("rules", NO_RULES.format(limit=MAX_RULES))
    first_seen: dict[str, int] = {}
    for entry, rule in enumerate(rules):
        rule_id = rule.get("rule_id") if isinstance(rule, dict) else None
        rule_id = rule_id if isinstance(rule_id, str) else None
        try:
            rule_validate(rule)
        except PolicyError as exc:
            raise PolicyError(exc.field, exc.message, entry=entry, rule_id=rule_id) from None
        if rule_id in first_seen:
            raise PolicyError("rule_id", DUPLICATE_RULE_ID.format(rule_id=rule_id, first=first_seen[rule_id]),
                              entry=entry, rule_id=rule_id)
        first_seen[rule_id] = entry
    return rules
