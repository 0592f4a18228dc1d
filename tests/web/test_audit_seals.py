"""Seals over HTTP: an auditor pulls them with the key that checks them, and verify reports them checked."""

from __future__ import annotations

from service import seals
from service.db import connect
from tests.conftest import TEST_SECRET
from tests.web.conftest import Api, article, bearer
from tests.web.test_openapi import conforms


async def test_an_auditor_pulls_the_seals_and_verify_checks_them(api: Api) -> None:
    auditor = await api.token("auditor")
    await api.submit(article())
    db = connect(api.settings.database_url)
    try:
        sealed = await seals.seal_head(db, seals.SealKey.from_secret(TEST_SECRET), api.clock())
    finally:
        await db.dispose()
    assert sealed is not None

    listed = await api.client.get("/api/v1/audit/seals", headers=bearer(auditor))
    verified = await api.client.get("/api/v1/audit/verify", headers=bearer(auditor))

    await conforms(listed, "GET", "/api/v1/audit/seals")
    pulled = [seals.parse_line(line) for line in (await listed.text()).splitlines()]
    assert pulled[-1].position == sealed.position
    assert all(seal.signed_by(seals.SealKey.from_secret(TEST_SECRET).public_bytes) for seal in pulled)
    report = await conforms(verified, "GET", "/api/v1/audit/verify")
    assert (report["ok"], report["seals_checked"]) == (True, len(pulled))
