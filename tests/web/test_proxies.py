"""Rate limits see the reader behind a trusted proxy, and ignore forwarding headers from anyone else."""

from __future__ import annotations

import ipaddress

from tests.web.conftest import ClientFactory, article

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


async def test_behind_a_trusted_proxy_each_reader_has_their_own_limit(make_api: ClientFactory) -> None:
    api = await make_api(rate_limit=1, trusted_proxies=LOOPBACK)
    api.clock.start_of_a_minute()
    article_id = article()

    first = await api.submit(article_id, headers={"X-Forwarded-For": "203.0.113.1"})
    other = await api.submit(article_id, headers={"X-Forwarded-For": "203.0.113.2"})
    again = await api.submit(article_id, headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.1"})

    assert [first.status, other.status, again.status] == [202, 202, 429]


async def test_the_forwarded_header_names_the_reader_too(make_api: ClientFactory) -> None:
    api = await make_api(rate_limit=1, trusted_proxies=LOOPBACK)
    api.clock.start_of_a_minute()
    article_id = article()

    first = await api.submit(article_id, headers={"Forwarded": 'for="[2001:db8::7]:4711";proto=https'})
    other = await api.submit(article_id, headers={"Forwarded": "for=203.0.113.3"})
    again = await api.submit(article_id, headers={"Forwarded": 'for="[2001:db8::7]"'})

    assert [first.status, other.status, again.status] == [202, 202, 429]


async def test_forwarding_headers_from_an_untrusted_peer_are_ignored(make_api: ClientFactory) -> None:
    api = await make_api(rate_limit=1)
    api.clock.start_of_a_minute()
    article_id = article()

    first = await api.submit(article_id, headers={"X-Forwarded-For": "203.0.113.1"})
    rotated = await api.submit(article_id, headers={"X-Forwarded-For": "203.0.113.2"})

    assert [first.status, rotated.status] == [202, 429]
