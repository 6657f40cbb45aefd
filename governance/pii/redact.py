"""Redact what governance/pii/detect.py finds: mask it ("[EMAIL]"), remove it, or hash it with a keyed HMAC so the
same person joins across systems without being readable. Pure Python; the key comes from governance/pii/keys.py.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from governance.pii.detect import Finding, PiiType, find_pii

# Detection costs up to ~20 µs a character on adversarial digit soup (phone matching), so the bound is 200,000
# characters (about 50 pages; ~0.4 s on ordinary text, ~4 s at worst), not a megabyte.
MAX_CHARS = 200_000
HASH_HEX_CHARS = 16

TOO_LARGE = "text is too large: the limit is 200,000 characters"
BINARY = "text contains NUL bytes: binary data is refused"
NOT_TEXT = "text is not valid UTF-8"
NO_KEY = "hash mode needs the tenant's key"
UNKNOWN_MODE = "mode must be one of mask, remove, hash"


class Mode(StrEnum):
    MASK = "mask"
    REMOVE = "remove"
    HASH = "hash"


class PiiInputError(ValueError):
    """Input that is refused before detection, with the HTTP status and code the API answers with."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@dataclass(frozen=True)
class Redaction:
    redacted: str
    findings: list[Finding]  # spans are offsets into the original text

    def findings_json(self) -> list[dict]:
        """The findings without their values: what may leave the process."""
        return [{"type": str(f.type), "start": f.start, "end": f.end} for f in self.findings]


def check_text(text: str) -> None:
    """Refuse what detection should not run on: oversized text, NUL bytes, lone surrogates."""
    if len(text) > MAX_CHARS:
        raise PiiInputError(TOO_LARGE, code="too_large", status=413)
    if "\x00" in text:
        raise PiiInputError(BINARY, code="binary", status=400)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PiiInputError(NOT_TEXT, code="not_text", status=400) from None


def decode_text(data: bytes) -> str:
    """Bytes from a file or stdin as checked text; the size is refused before decoding."""
    if len(data) > MAX_CHARS * 4:  # UTF-8 has at most four bytes a character
        raise PiiInputError(TOO_LARGE, code="too_large", status=413)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PiiInputError(NOT_TEXT, code="not_text", status=400) from None
    check_text(text)
    return text


def redact(text: str, *, mode: str = Mode.MASK, key: bytes | None = None) -> Redaction:
    """`text` with every finding replaced. Raises ValueError (PiiInputError) for text over MAX_CHARS."""
    if mode not in Mode.__members__.values():
        raise ValueError(UNKNOWN_MODE)
    if mode == Mode.HASH and not key:
        raise ValueError(NO_KEY)
    if len(text) > MAX_CHARS:
        raise PiiInputError(TOO_LARGE, code="too_large", status=413)
    findings = find_pii(text)
    parts, at = [], 0
    for finding in findings:
        parts.append(text[at:finding.start])
        parts.append(_replacement(finding, mode=mode, key=key))
        at = finding.end
    parts.append(text[at:])
    return Redaction(redacted="".join(parts), findings=findings)


def pii_hash(pii_type: str, value: str, *, key: bytes) -> str:
    """The first HASH_HEX_CHARS hex of HMAC-SHA256(key, normalized value): another system holding the tenant's key
    computes the same token from its own copy of the identifier."""
    return hmac.new(key, normalize(pii_type, value).encode(), hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def normalize(pii_type: str, value: str) -> str:
    """One spelling per identifier, so it hashes the same however it was written."""
    if pii_type == PiiType.EMAIL:
        return value.strip().lower()
    if pii_type == PiiType.PHONE:
        try:
            number = phonenumbers.parse(value, "US")
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if pii_type in (PiiType.CARD, PiiType.SSN):
        return re.sub(r"\D", "", value)
    if pii_type == PiiType.IP:
        try:
            return ipaddress.ip_address(value).compressed
        except ValueError:
            return value.lower()
    return " ".join(value.casefold().replace(",", " ").replace(".", " ").split())


def _replacement(finding: Finding, *, mode: str, key: bytes | None) -> str:
    label = str(finding.type).upper()
    if mode == Mode.REMOVE:
        return ""
    if mode == Mode.HASH:
        return f"[{label}:{pii_hash(finding.type, finding.value, key=key)}]"
    return f"[{label}]"
