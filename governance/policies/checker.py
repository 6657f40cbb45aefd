"""The policy checker: a creative's text and context → the rules it breaks, each citing rule id and version.

`policy_compile` turns one policy-set version into regexes and lookups once; `check_creative` is then a few regex
scans and comparisons, with no database and no randomness (same input, same violations, same order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from governance.policies.models import RuleKind
from governance.policies.rules import CLAIM_PATTERNS, term_regex

TEXT_FIELDS = ("headline", "body", "disclaimer")
_SEVERITY_RANK = {"block": 0, "warn": 1, "info": 2}
_FIELD_RANK = {name: rank for rank, name in enumerate((*TEXT_FIELDS, None))}
_CLAIMS = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in CLAIM_PATTERNS.items()}
_REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_TITLE_SMALL_WORDS = frozenset("a an and as at but by for from in into nor of on or per the to vs with".split())


@dataclass(frozen=True)
class Targeting:
    audiences: tuple[str, ...] = ()
    age_min: int | None = None
    geos: tuple[str, ...] = ()


@dataclass(frozen=True)
class Creative:
    headline: str = ""
    body: str = ""
    disclaimer: str = ""
    placement: str = ""
    category: str = ""
    brand: str = ""
    format: str = ""
    targeting: Targeting | None = None

    def texts(self) -> dict[str, str]:
        return {name: value for name in TEXT_FIELDS if (value := getattr(self, name))}


@dataclass(frozen=True)
class Violation:
    rule_id: str
    version: int
    kind: str
    severity: str
    category: str
    message: str
    fix: str
    field: str | None = None
    span: tuple[int, int] | None = None

    def as_dict(self) -> dict:
        found = asdict(self)
        found["span"] = list(self.span) if self.span else None
        return found

    def sort_key(self) -> tuple:
        return (_SEVERITY_RANK[self.severity], _FIELD_RANK[self.field], self.span or (0, 0), self.rule_id)


def _lowered(values: Iterable[str] | None) -> frozenset[str] | None:
    return frozenset(v.strip().lower() for v in values) if values else None


def _category_in(categories: frozenset[str] | None, category: str) -> bool:
    """`alcohol` covers `alcohol` and its subcategories (`alcohol/wine`)."""
    return categories is None or any(category == c or category.startswith(f"{c}/") for c in categories)


@dataclass(frozen=True)
class _Scope:
    placements: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    brands: frozenset[str] | None = None

    @classmethod
    def of(cls, scope: Mapping | None) -> _Scope:
        scope = scope or {}
        return cls(*(_lowered(scope.get(key)) for key in ("placements", "categories", "brands")))

    def covers(self, context: _Context) -> bool:
        return ((self.placements is None or "*" in self.placements or context.placement in self.placements)
                and _category_in(self.categories, context.category)
                and (self.brands is None or context.brand in self.brands))


@dataclass(frozen=True)
class _Context:
    placement: str
    category: str
    brand: str

    @classmethod
    def of(cls, creative: Creative) -> _Context:
        return cls(*(value.strip().lower() for value in (creative.placement, creative.category, creative.brand)))


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    version: int
    kind: str
    severity: str
    category: str
    spec: Mapping = field(hash=False, compare=False)

    def violation(self, message: str, fix: str, *, field: str | None = None,
                  span: tuple[int, int] | None = None) -> Violation:
        return Violation(self.rule_id, self.version, self.kind, self.severity, self.category, message, fix,
                         field, span)


@dataclass(frozen=True)
class _Term:
    rule: _Rule
    scope: _Scope
    regex: re.Pattern
    unless: re.Pattern | None


@dataclass(frozen=True)
class _Disclaimer:
    rule: _Rule
    finder: re.Pattern
    scope: _Scope
    claims: tuple[re.Pattern, ...]
    pattern: re.Pattern | None


@dataclass
class CompiledPolicy:
    version: int
    terms: list[_Term] = field(default_factory=list)
    disclaimers: list[_Disclaimer] = field(default_factory=list)
    specs: list[tuple[_Rule, frozenset[str], re.Pattern | None]] = field(default_factory=list)
    targeting: list[tuple[_Rule, _Scope, tuple[re.Pattern, ...]]] = field(default_factory=list)
    mask: re.Pattern | None = None


def _disclaimer_finder(text: str) -> str:
    # Case, spacing and punctuation between words do not matter: "Please drink responsibly" finds
    # "please  drink responsibly." too.
    return r"(?<!\w)" + r"\W+".join(re.escape(word) for word in re.findall(r"\w+", text)) + r"(?!\w)"


def policy_compile(rules: Iterable[Mapping], *, version: int) -> CompiledPolicy:
    """Compile validated rules (dicts with rule_id, kind, severity, category, spec) of one policy-set version."""
    policy = CompiledPolicy(version=version)
    finders = []
    for row in rules:
        rule = _Rule(row["rule_id"], version, row["kind"], row["severity"], row["category"], row["spec"])
        spec = rule.spec
        if rule.kind == RuleKind.DISALLOWED_TERM:
            unless = re.compile(spec["unless"], re.IGNORECASE) if spec.get("unless") else None
            policy.terms.append(_Term(rule, _Scope.of(spec.get("applies_to")), term_regex(spec), unless))
        elif rule.kind == RuleKind.REQUIRED_DISCLAIMER:
            when = spec.get("when") or {}
            finders.append(_disclaimer_finder(spec["text"]))
            policy.disclaimers.append(_Disclaimer(
                rule, re.compile(finders[-1], re.IGNORECASE), _Scope.of(when),
                tuple(_CLAIMS[name] for name in when.get("claims", ())),
                re.compile(when["pattern"], re.IGNORECASE) if when.get("pattern") else None))
        elif rule.kind == RuleKind.CREATIVE_SPEC:
            allowed = spec.get("allowed_chars")
            outside = re.compile(f"(?!{allowed})(?s:.)") if allowed else None
            policy.specs.append((rule, _lowered(spec["placements"]), outside))
        elif rule.kind == RuleKind.TARGETING_RESTRICTION:
            blocked = tuple(re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)
                            for term in spec.get("blocked_audiences", ()))
            policy.targeting.append((rule, _Scope.of(spec.get("applies_to")), blocked))
    if finders:
        policy.mask = re.compile("|".join(finders), re.IGNORECASE)
    return policy


def check_creative(policy: CompiledPolicy, *, placement: str, category: str = "", brand: str = "",
                   headline: str = "", body: str = "", text: str | None = None, disclaimer: str = "",
                   format: str = "", targeting: Targeting | None = None) -> list[Violation]:
    """Every violation of the creative against `policy`, most severe first, then by field and position.

    `text` is a creative without a headline; it is checked as the body."""
    creative = Creative(headline=headline, body=body if text is None else text, disclaimer=disclaimer,
                        placement=placement, category=category, brand=brand, format=format, targeting=targeting)
    context = _Context.of(creative)
    texts = creative.texts()
    # A required disclaimer may itself say "cure" or "prevent any disease"; its text is never a claim.
    masked = {name: policy.mask.sub(lambda m: " " * len(m.group()), text) if policy.mask else text
              for name, text in texts.items()}
    found = [
        *_term_violations(policy, context, texts, masked),
        *_disclaimer_violations(policy, context, texts, masked),
        *_spec_violations(policy, context, creative),
        *_targeting_violations(policy, context, creative.targeting),
    ]
    return sorted(found, key=Violation.sort_key)


def _term_violations(policy, context, texts, masked) -> Iterable[Violation]:
    for term in policy.terms:
        if not term.scope.covers(context):
            continue
        if term.unless is not None and any(term.unless.search(text) for text in texts.values()):
            continue  # substantiated, e.g. a cited source next to a superlative
        spec = term.rule.spec
        for name, text in masked.items():
            for match in term.regex.finditer(text):
                said = match.group()
                reason = spec.get("reason") or f"{term.rule.category.replace('_', ' ')} are not allowed."
                if spec.get("fix"):
                    fix = spec["fix"].replace("{term}", said)
                elif spec.get("replacement"):
                    fix = f'Replace "{said}" with "{spec["replacement"]}".'
                else:
                    fix = f'Remove "{said}".'
                yield term.rule.violation(f'The {name} says "{said}": {reason}', fix, field=name, span=match.span())


def _disclaimer_violations(policy, context, texts, masked) -> Iterable[Violation]:
    for disclaimer in policy.disclaimers:
        if not disclaimer.scope.covers(context):
            continue
        if disclaimer.claims and not any(c.search(t) for c in disclaimer.claims for t in masked.values()):
            continue
        if disclaimer.pattern is not None and not any(disclaimer.pattern.search(t) for t in masked.values()):
            continue
        if any(disclaimer.finder.search(text) for text in texts.values()):
            continue
        text = disclaimer.rule.spec["text"]
        why = f" ({', '.join(disclaimer.rule.spec['when'].get('claims', ()))} claim)" if disclaimer.claims else ""
        yield disclaimer.rule.violation(f"This creative{why} needs the disclaimer: {text}",
                                        f'Add the disclaimer "{text}".', field="disclaimer")


def _trimmed(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return cut[:limit].rstrip(" ,;:-")


def _title_cased(text: str) -> str:
    def word(match: re.Match) -> str:
        small = match.start() > 0 and match.group().lower() in _TITLE_SMALL_WORDS
        return match.group() if small else match.group()[0].upper() + match.group()[1:]
    return _WORD.sub(word, text)


def _spec_violations(policy, context, creative: Creative) -> Iterable[Violation]:
    fields = {name: getattr(creative, name) for name in ("headline", "body") if getattr(creative, name)}
    for rule, placements, outside in policy.specs:
        if "*" not in placements and context.placement not in placements:
            continue
        spec, where = rule.spec, context.placement or "this placement"
        for name, text in fields.items():
            limit = spec.get(f"{name}_max")
            if limit is not None and len(text) > limit:
                yield rule.violation(
                    f"The {name} has {len(text)} characters; {where} allows at most {limit}.",
                    f'Shorten the {name} to {limit} characters or fewer, e.g. "{_trimmed(text, limit)}".',
                    field=name, span=(limit, len(text)))
            if outside is not None and (bad := list(outside.finditer(text))):
                chars = ", ".join(f'"{c}"' for c in dict.fromkeys(m.group() for m in bad))
                yield rule.violation(f"The {name} has characters {where} does not allow: {chars}.",
                                     f"Remove {chars}.", field=name, span=bad[0].span())
            yield from _caps_violations(rule, name, text)
            if spec.get("no_repeated_punctuation"):
                for match in _REPEATED_PUNCTUATION.finditer(text):
                    yield rule.violation(f'The {name} repeats punctuation: "{match.group()}".',
                                         f'Use a single "{match.group()[0]}".', field=name, span=match.span())
        yield from _shape_violations(rule, creative, fields, where)


def _caps_violations(rule: _Rule, name: str, text: str) -> Iterable[Violation]:
    longest = rule.spec.get("no_all_caps_words_longer_than")
    if longest is None:
        return
    allowed = {word.upper() for word in rule.spec.get("all_caps_allowed", ())}
    for match in _WORD.finditer(text):
        word = match.group()
        if len(word) > longest and word.isupper() and word not in allowed:
            yield rule.violation(f'The {name} writes "{word}" in capitals; words over {longest} letters may not be.',
                                 f'Write "{word.capitalize()}".', field=name, span=match.span())


def _shape_violations(rule: _Rule, creative: Creative, fields: dict[str, str], where: str) -> Iterable[Violation]:
    spec = rule.spec
    most = spec.get("max_exclamation_marks")
    marks = sum(text.count("!") for text in fields.values())
    if most is not None and marks > most:
        yield rule.violation(f"The creative has {marks} exclamation marks; {where} allows {most}.",
                             f"Remove {marks - most} of them.")
    headline = creative.headline.strip()
    if spec.get("capitalization") == "sentence" and headline and headline[0].isalpha() and headline[0].islower():
        yield rule.violation("The headline must start with a capital letter.",
                             f'Write "{headline[0].upper()}{headline[1:]}".', field="headline", span=(0, 1))
    if spec.get("capitalization") == "title" and headline and _title_cased(headline) != headline:
        yield rule.violation("The headline must be in title case.", f'Write "{_title_cased(headline)}".',
                             field="headline")
    formats = spec.get("formats")
    if formats and creative.format and creative.format.lower() not in {f.lower() for f in formats}:
        yield rule.violation(f'Format "{creative.format}" is not accepted for {where}.',
                             f"Use one of: {', '.join(formats)}.")


def _targeting_violations(policy, context, targeting: Targeting | None) -> Iterable[Violation]:
    if targeting is None:
        return
    for rule, scope, blocked in policy.targeting:
        if not scope.covers(context):
            continue
        spec, reason = rule.spec, f" {rule.spec['reason']}" if rule.spec.get("reason") else ""
        minimum = spec.get("min_age")
        if minimum is not None and (targeting.age_min is None or targeting.age_min < minimum):
            now = "no age floor" if targeting.age_min is None else f"ages {targeting.age_min}+"
            yield rule.violation(f"This targeting must be limited to ages {minimum}+ (it has {now}).{reason}",
                                 f"Set the minimum age to {minimum}.")
        for audience in targeting.audiences:
            if any(term.search(audience) for term in blocked):
                yield rule.violation(f'Audience "{audience}" may not be targeted.{reason}',
                                     f'Remove the audience "{audience}".')
        geos = {geo.lower() for geo in spec.get("blocked_geos", ())}
        for geo in targeting.geos:
            if geo.lower() in geos:
                yield rule.violation(f'Region "{geo}" may not be targeted.{reason}', f'Remove the region "{geo}".')
