"""The platform's adapter keys: the Ed25519 key that signs every artifact, and the AES-GCM key per owner tenant that
encrypts it at rest (HKDF-SHA256 of RMN_ADAPTER_KEY, else SECRET_KEY, with the owner's id as context).

The signing key is settings.RMN_ADAPTER_SIGNING_KEY (a PKCS#8 PEM that must exist) or, when that is unset, a key
generated once into settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT (.data/adapter_signing_key.pem, mode 0600).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tenants.models import Tenant

ENCRYPTED_MAGIC = b"RMNA1"  # format version of a stored file: magic, 12-byte nonce, AES-GCM ciphertext and tag
NONCE_BYTES = 12
KEY_FILE_MISSING = "RMN_ADAPTER_SIGNING_KEY names {path}, which does not exist"
NOT_ED25519 = "{path} does not hold an Ed25519 private key (PKCS#8 PEM)"


def _signing_key_path() -> tuple[Path, bool]:
    """The key file, and whether it may be generated (only the default one is: an operator's path must exist)."""
    if configured := settings.RMN_ADAPTER_SIGNING_KEY:
        return Path(configured), False
    return Path(settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT), True


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    try:
        # A hard link appears whole or not at all, and fails if another process made the key first: theirs wins.
        os.link(staging, path)
    except FileExistsError:
        pass
    finally:
        staging.unlink()


@lru_cache(maxsize=8)
def _load(path: str, generate: bool) -> Ed25519PrivateKey:
    file = Path(path)
    if not file.exists():
        if not generate:
            raise ImproperlyConfigured(KEY_FILE_MISSING.format(path=file))
        _generate(file)
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(NOT_ED25519.format(path=file))
    return key


def signing_key() -> Ed25519PrivateKey:
    path, generate = _signing_key_path()
    return _load(str(path), generate)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem() -> str:
    return public_key().public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """A short fingerprint of a public key, stored with each signature so a rotated key is named, not guessed."""
    raw = (key or public_key()).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(message: bytes) -> str:
    return signing_key().sign(message).hex()


def signature_valid(message: bytes, signature_hex: str, key: Ed25519PublicKey | None = None) -> bool:
    try:
        (key or public_key()).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def owner_key(owner: Tenant) -> bytes:
    master = (settings.RMN_ADAPTER_KEY or settings.SECRET_KEY).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rmn-adapter-artifacts",
                info=f"owner:{owner.pk}".encode()).derive(master)


def encrypt(*, owner: Tenant, data: bytes, aad: bytes) -> bytes:
    """`aad` binds the ciphertext to where it belongs (adapter id and file name): moved anywhere else it fails."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return ENCRYPTED_MAGIC + nonce + AESGCM(owner_key(owner)).encrypt(nonce, data, aad)


def decrypt(*, owner: Tenant, blob: bytes, aad: bytes) -> bytes:
    """The plaintext; raises cryptography's InvalidTag (or ValueError for a file of the wrong format) otherwise."""
    if not blob.startswith(ENCRYPTED_MAGIC) or len(blob) < len(ENCRYPTED_MAGIC) + NONCE_BYTES + 16:
        raise ValueError("not an encrypted adapter file")
    start = len(ENCRYPTED_MAGIC)
    nonce, ciphertext = blob[start:start + NONCE_BYTES], blob[start + NONCE_BYTES:]
    return AESGCM(owner_key(owner)).decrypt(nonce, ciphertext, aad)
