"""Turning knowledge sources into retrieval chunks: pure functions of plain data (no database, no model).

One chunk per policy rule (with its rule id and set version, what violations cite), per mapping spec, and per
`##` section of a markdown playbook; each chunk's text reads as a sentence a person (or a model) can quote.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre  # the parser's opcodes: a rule's pattern is read back as wording
from re import _parser as sre_parse

from inference.rag.models import SourceKind

PLAYBOOK_DIR = Path(__file__).resolve().parent / "playbooks"
MAX_EXAMPLES = 6
_EXPANSION_CAP = 256  # partial expansions kept per pattern node while reading a pattern back as wording
_GAP = "\x00"  # stands for "any text here" while expanding; a space in the result

_SEVERITY = {
    "block": "an ad that breaks it is blocked",
    "warn": "an ad that breaks it gets a warning",
    "info": "breaking it is noted for information only",
}
_KIND = {
    "disallowed_term": "disallowed wording",
    "required_disclaimer": "required disclaimer",
    "creative_spec": "creative specification",
    "targeting_restriction": "targeting restriction",
    "data_access": "clean-room data access terms",
}


@dataclass(frozen=True)
class Chunk:
    source_kind: str
    source_id: str
    version: int
    title: str
    text: str

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.source_kind, self.source_id, self.version)


def _words(slug: str) -> str:
    return slug.replace("_", " ").replace("-", " ")


def _listed(values: Iterable[str]) -> str:
    return ", ".join(str(value) for value in values)


# Reading a regular expression back as example wording ------------------------------------------------------------

def _expand_class(items: list) -> list[str]:
    for op, value in items:
        if op is sre.NEGATE:
            return [_GAP]
        if op is sre.CATEGORY and value in (sre.CATEGORY_SPACE, sre.CATEGORY_UNI_SPACE):
            return [" "]
        if op is sre.CATEGORY and value in (sre.CATEGORY_DIGIT, sre.CATEGORY_UNI_DIGIT):
            return ["5"]
        if op is sre.LITERAL and chr(value) in " -":
            return [" "]
    op, value = items[0]
    if op is sre.LITERAL:
        return [chr(value)]
    if op is sre.RANGE:
        return [chr(value[0])]
    return [""]


def _expand_node(op, value) -> list[str]:
    if op is sre.LITERAL:
        return [chr(value)]
    if op in (sre.NOT_LITERAL, sre.ANY):
        return [_GAP]
    if op is sre.IN:
        return _expand_class(value)
    if op is sre.CATEGORY:
        if value in (sre.CATEGORY_DIGIT, sre.CATEGORY_UNI_DIGIT):
            return ["5"]
        return [" "] if value in (sre.CATEGORY_SPACE, sre.CATEGORY_UNI_SPACE) else [""]
    if op is sre.BRANCH:
        return [text for branch in value[1] for text in _expand(branch)][:_EXPANSION_CAP]
    if op is sre.SUBPATTERN:
        return _expand(value[-1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        low, _, inner = value
        options = _expand(inner)
        if low > 0:
            return [option * low for option in options]
        if options[0] == _GAP:  # `[^.]{0,80}`: whatever comes between two words reads as a space
            return [_GAP]
        # An optional space (`[\s-]?`) is read both ways: "wal mart", "walmart".
        return [options[0], ""] if options[0] == " " else ["", options[0]]
    return [""]  # anchors, lookarounds, back-references: no wording of their own


def _expand(pattern) -> list[str]:
    texts = [""]
    for op, value in pattern:
        options = _expand_node(op, value)
        texts = [head + tail for head in texts for tail in options][:_EXPANSION_CAP]
    return texts


def pattern_examples(pattern: str) -> list[str]:
    """A few phrases the pattern matches, spread over its alternatives (e.g. `boost(s)? immunity|immune boost` →
    "boost immunity", "boosts immunity", "immune boost"); [] when it cannot be read back."""
    try:
        parsed = sre_parse.parse(pattern)
        expanded = _expand(parsed)
    except (re.error, TypeError, ValueError, IndexError):
        return []
    seen: list[str] = []
    for text in expanded:
        text = re.sub(r"\s+", " ", text.replace(_GAP, " ")).strip()
        if text and text not in seen:
            seen.append(text)
    if len(seen) <= MAX_EXAMPLES:
        return seen
    step = len(seen) / MAX_EXAMPLES
    return [seen[int(i * step)] for i in range(MAX_EXAMPLES)]


def _quoted(texts: Iterable[str]) -> str:
    return ", ".join(f'"{text}"' for text in texts)


# Policy rules ---------------------------------------------------------------------------------------------------

def _scope(scope: Mapping | None) -> str:
    if not scope:
        return ""
    parts = [f"{name} {_listed(scope[name])}" for name in ("placements", "categories", "brands") if scope.get(name)]
    return f" It applies to {'; '.join(parts)}." if parts else ""


def _disallowed_term(spec: Mapping) -> str:
    if spec["match"] == "regex":
        examples = pattern_examples(spec["pattern"])
        wording = f"wording such as {_quoted(examples)}" if examples else f"wording matching /{spec['pattern']}/"
    else:
        wording = f'the {spec["match"]} "{spec["pattern"]}"'
    case = " (case-sensitive)" if spec.get("case_sensitive") else ""
    text = f"Ads must not use {wording}{case}.{_scope(spec.get('applies_to'))}"
    if spec.get("unless"):
        examples = pattern_examples(spec["unless"])
        text += f" Allowed when the creative also says something like {_quoted(examples[:3])}." if examples else ""
    if spec.get("reason"):
        text += f" Why: {spec['reason']}"
    if spec.get("fix"):
        fix = spec["fix"].replace('"{term}"', "{term}").replace("{term}", "the wording")
        text += f" Fix: {fix}"
    elif spec.get("replacement"):
        text += f' Suggested replacement: "{spec["replacement"]}".'
    return text


def _required_disclaimer(spec: Mapping) -> str:
    when = spec.get("when") or {}
    conditions = []
    if when.get("categories"):
        conditions.append(f"for categories {_listed(when['categories'])}")
    if when.get("claims"):
        conditions.append(f"that make {_listed(when['claims'])} claims")
    if when.get("placements"):
        conditions.append(f"in placements {_listed(when['placements'])}")
    if when.get("pattern"):
        examples = pattern_examples(when["pattern"])
        conditions.append(f"that say things like {_quoted(examples[:3])}" if examples else "matching a pattern")
    subject = f"Ads {' and '.join(conditions)}" if conditions else "Every ad"
    return f'{subject} must carry the disclaimer: "{spec["text"]}"'


def _phrased(spec: Mapping, phrases: Iterable[tuple[str, str]]) -> list[str]:
    """The phrase of each field the spec sets, in the table's order; `{}` takes the field's value."""
    return [template.format(_listed(spec[key]) if isinstance(spec[key], list) else spec[key])
            for key, template in phrases if key in spec and spec[key] is not False]


_CREATIVE_PHRASES = (
    ("headline_max", "headline at most {} characters"), ("body_max", "body at most {} characters"),
    ("allowed_chars", "only the characters {}"),
    ("no_all_caps_words_longer_than", "no all-caps words longer than {} letters"),
    ("all_caps_allowed", "all caps allowed for {}"),
    ("no_repeated_punctuation", "no repeated punctuation such as !! or ??"),
    ("max_exclamation_marks", "at most {} exclamation marks"), ("capitalization", "{} case capitalization"),
    ("formats", "formats {}"),
)
_TARGETING_PHRASES = (
    ("min_age", "audiences must be at least {} years old"),
    ("blocked_audiences", "these audiences may not be targeted: {}"),
    ("blocked_geos", "these regions may not be targeted: {}"),
)
_DATA_ACCESS_PHRASES = (
    ("k_min", "every released row must aggregate at least {} users (k-anonymity)"),
    ("epsilon_max", "at most epsilon {} per query"),
    ("epsilon_daily_budget", "a daily privacy budget of epsilon {}"),
    ("min_window_days", "query windows of at least {} days"),
    ("allowed_dimensions", "group only by {}"),
)


def _creative_spec(spec: Mapping) -> str:
    placements = "all placements" if spec["placements"] == ["*"] else f"placements {_listed(spec['placements'])}"
    return f"Creative specs for {placements}: {'; '.join(_phrased(spec, _CREATIVE_PHRASES))}."


def _targeting_restriction(spec: Mapping) -> str:
    text = f"Targeting restriction: {'; '.join(_phrased(spec, _TARGETING_PHRASES))}.{_scope(spec.get('applies_to'))}"
    return f"{text} Why: {spec['reason']}" if spec.get("reason") else text


def _data_access(spec: Mapping) -> str:
    views = "every clean-room view" if spec["views"] == ["*"] else f"clean-room views {_listed(spec['views'])}"
    privacy = "differential privacy is required" if spec["dp_required"] else "differential privacy is optional"
    return f"Advertisers' queries on {views}: {privacy}; {'; '.join(_phrased(spec, _DATA_ACCESS_PHRASES))}."


_RULE_TEXT = {
    "disallowed_term": _disallowed_term,
    "required_disclaimer": _required_disclaimer,
    "creative_spec": _creative_spec,
    "targeting_restriction": _targeting_restriction,
    "data_access": _data_access,
}


def policy_chunks(*, retailer_name: str, version: int, rules: Iterable[Mapping]) -> list[Chunk]:
    """One chunk per rule of a retailer's policy set, citing rule id and set version."""
    chunks = []
    for rule in rules:
        kind = rule["kind"]
        # Data-access rules bind leases and clean-room queries, not ads; their severity plays no part.
        effect = ("leases and clean-room queries must stay within it" if kind == "data_access"
                  else _SEVERITY[rule["severity"]])
        head = (f"{retailer_name} ad policy v{version}, rule {rule['rule_id']}: {_words(rule['category'])}, "
                f"{_KIND[kind]}; {effect}.")
        chunks.append(Chunk(
            source_kind=SourceKind.POLICY, source_id=rule["rule_id"], version=version,
            title=f"{retailer_name} ad policy v{version}: {rule['rule_id']}",
            text=f"{head} {_RULE_TEXT[kind](rule['spec'])}",
        ))
    return chunks


# Mapping specs --------------------------------------------------------------------------------------------------

def spec_chunks(specs: Iterable[Mapping]) -> list[Chunk]:
    """One chunk per mapping spec: which network and report it reads, its attribution, and its columns."""
    chunks = []
    for spec in specs:
        text = (f"Mapping spec {spec['name']} v{spec['version']} for network {spec['network']} "
                f"({_words(spec['kind'])}): {spec['title']}.")
        if attribution := spec.get("attribution"):
            scope = {"click": "click", "click_view": "click + view"}.get(attribution["scope"], attribution["scope"])
            text += (f" Attribution: {attribution['window_days']}-day {scope}, "
                     f"{_words(attribution['model'])} model.")
        if spec.get("product_id_type"):
            text += f" Products are identified by {_words(spec['product_id_type'])}."
        columns = "; ".join(f"{_words(field)} from {' or '.join(repr(h) for h in column.get('headers', ()))}"
                            for field, column in spec.get("columns", {}).items() if column.get("headers"))
        if columns:
            text += f" Columns: {columns}."
        if spec.get("required"):
            text += f" Required: {_listed(_words(field) for field in spec['required'])}."
        if spec.get("ignored"):
            text += f" Ignored: {_listed(spec['ignored'])}."
        chunks.append(Chunk(source_kind=SourceKind.SPEC, source_id=spec["name"], version=int(spec["version"]),
                            title=spec["title"], text=text))
    return chunks


def spec_documents(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


# Playbooks ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Playbook:
    name: str
    retailer: str | None  # a retailer's slug: private to it and the brands it leases to; None: the platform's
    chunks: tuple[Chunk, ...]


def _front_matter(markdown: str) -> tuple[dict[str, str], str]:
    match = re.match(r"---\n(.*?)\n---\n", markdown, re.DOTALL)
    if not match:
        return {}, markdown
    fields = dict(line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in fields.items()}, markdown[match.end():]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def playbook_parse(*, name: str, markdown: str) -> Playbook:
    """A playbook: front matter (`title`, `version`, optional `retailer`), then one chunk per `##` section."""
    meta, body = _front_matter(markdown)
    title = meta.get("title", _words(name))
    version = int(meta.get("version", "1"))
    sections = re.split(r"^## +(.+?)\s*$", body, flags=re.MULTILINE)
    chunks = []
    for heading, text in zip(sections[1::2], sections[2::2], strict=True):
        text = re.sub(r"\s+", " ", text).strip()
        if text:
            chunks.append(Chunk(source_kind=SourceKind.PLAYBOOK, source_id=f"{name}#{_slug(heading)}",
                                version=version, title=f"{title}: {heading}", text=f"{heading}. {text}"))
    return Playbook(name=name, retailer=meta.get("retailer") or None, chunks=tuple(chunks))


def playbooks(folder: Path = PLAYBOOK_DIR) -> list[Playbook]:
    return [playbook_parse(name=path.stem, markdown=path.read_text()) for path in sorted(folder.glob("*.md"))]
