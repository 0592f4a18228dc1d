"""Keys: the master key's derived subkeys, per-subject data keys (envelope encryption) and crypto-shredding."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncConnection

from service.bulk import one_of
from service.tables import subject_keys

NONCE_BYTES = 12
DEV_KEY_FILE = "secret.key"


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


@dataclass(frozen=True, slots=True)
class Keyring:
    """Independent subkeys derived from the one master secret, so no key serves two purposes."""

    wrapping: bytes = field(repr=False)
    subject: bytes = field(repr=False)
    captcha: bytes = field(repr=False)
    client: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> Keyring:
        master = secret.encode()
        return cls(
            wrapping=_derive(master, "comments/wrap-data-keys/v1"),
            subject=_derive(master, "comments/subject-id/v1"),
            captcha=_derive(master, "comments/captcha/v1"),
            client=_derive(master, "comments/client-address/v1"),
        )

    def phone_key(self, phone_e164: str) -> str:
        """A normalised number's HMAC: the key of its `phone_subjects` lookup row and nothing else.

        Subject ids are random (see service.subjects). A keyed hash of a Vietnamese number is reversible by brute
        force (about 10^9 numbers) for whoever holds the master secret, so it is stored only in that row, which
        erasure deletes with the subject's data key. The subkey's label still says "subject-id", from when these
        hashes named subjects: changing it would orphan every stored lookup row.
        """
        return hmac.new(self.subject, phone_e164.encode(), hashlib.sha256).hexdigest()

    def client_hash(self, address: str) -> str:
        return hmac.new(self.client, address.encode(), hashlib.sha256).hexdigest()[:32]


def comment_subject(comment_id: object) -> str:
    return f"c-{comment_id}"


def load_or_create_dev_secret(data_dir: Path) -> str:
    """Development only: a random key kept in the data folder so `make run` needs no configuration."""
    path = data_dir / DEV_KEY_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


def master_secret(secret_key: str | None, data_dir: Path) -> str:
    """The configured secret, or (development only: production settings require one) the data folder's key."""
    return secret_key if secret_key is not None else load_or_create_dev_secret(data_dir)


class Vault:
    """Seals and opens the personal fields of events with per-subject keys wrapped by the master key.

    Unwrapped keys are cached per Vault.session() only: another process may shred a key at any moment, so
    nothing is cached across operations.
    """

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._wrap = AESGCM(keyring.wrapping)

    def session(self, *, defer_new_keys: bool = False) -> VaultSession:
        return VaultSession(self, defer_new_keys=defer_new_keys)

    def wrap(self, subject_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._wrap.encrypt(nonce, data_key, subject_id.encode())

    def unwrap(self, subject_id: str, wrapped: bytes) -> bytes:
        return self._wrap.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject_id.encode())


class VaultSession:
    """The unwrapped keys of one operation (a command, a batch of commands, or one batch of a replay), so it holds
    as many keys as that operation has subjects and no more. With `defer_new_keys` (a batch of commands), the keys it
    creates are written by save_new_keys() in one statement, before the transaction commits."""

    def __init__(self, vault: Vault, *, defer_new_keys: bool = False) -> None:
        self.vault = vault
        self._keys: dict[str, bytes | None] = {}
        self._defer = defer_new_keys
        self._unsaved: dict[str, dict[str, Any]] = {}

    async def _key(self, conn: AsyncConnection, subject_id: str) -> bytes | None:
        if subject_id not in self._keys:
            wrapped = await conn.scalar(
                sa.select(subject_keys.c.wrapped_key).where(subject_keys.c.subject_id == subject_id)
            )
            self._keys[subject_id] = None if wrapped is None else self.vault.unwrap(subject_id, wrapped)
        return self._keys[subject_id]

    async def preload(self, conn: AsyncConnection, subject_ids: Iterable[str]) -> None:
        """Unwrap the keys of many subjects with one query, instead of one query per subject."""
        missing = {subject for subject in subject_ids if subject not in self._keys}
        if not missing:
            return
        self._keys.update(dict.fromkeys(missing))  # a shredded subject stays None
        found = await conn.execute(
            sa.select(subject_keys.c.subject_id, subject_keys.c.wrapped_key).where(
                one_of(conn.dialect.name, subject_keys.c.subject_id, missing)
            )
        )
        for subject, wrapped in found:
            self._keys[subject] = self.vault.unwrap(subject, wrapped)

    async def key_for_writing(self, conn: AsyncConnection, subject_id: str, now: datetime) -> bytes:
        key = await self._key(conn, subject_id)
        if key is None:
            key = AESGCM.generate_key(bit_length=256)
            row = {"subject_id": subject_id, "wrapped_key": self.vault.wrap(subject_id, key), "created_at": now}
            if self._defer:
                self._unsaved[subject_id] = row
            else:
                await conn.execute(sa.insert(subject_keys).values(**row))
            self._keys[subject_id] = key
        return key

    async def save_new_keys(self, conn: AsyncConnection) -> None:
        """Write the keys created since the last call (a deferring session): one multi-row insert."""
        if self._unsaved:
            await conn.execute(sa.insert(subject_keys), list(self._unsaved.values()))
            self._unsaved.clear()

    async def seal(
        self, conn: AsyncConnection, subject_id: str, event_id: bytes, fields: dict[str, Any], now: datetime
    ) -> bytes:
        key = await self.key_for_writing(conn, subject_id, now)
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        # The event id is the associated data: a ciphertext moved onto another event does not open.
        return nonce + AESGCM(key).encrypt(nonce, plain, event_id)

    async def open(
        self, conn: AsyncConnection, subject_id: str, event_id: bytes, sealed: bytes
    ) -> dict[str, Any] | None:
        """The personal fields, or None when the subject's key was shredded (or the bytes were altered)."""
        key = await self._key(conn, subject_id)
        if key is None:
            return None
        try:
            plain = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], event_id)
        except InvalidTag:
            return None
        fields: dict[str, Any] = json.loads(plain)
        return fields

    def forget(self, subject_id: str) -> None:
        # A key created in this batch and not saved yet is dropped as the saved one is shredded: what it sealed
        # stays unreadable, as if it had been written and then deleted.
        self._keys[subject_id] = None
        self._unsaved.pop(subject_id, None)


async def shred(conn: AsyncConnection, subject_id: str) -> bool:
    """Delete a subject's data key: every event sealed with it becomes unreadable, the chain still verifies."""
    result = await conn.execute(sa.delete(subject_keys).where(subject_keys.c.subject_id == subject_id))
    return bool(result.rowcount)
