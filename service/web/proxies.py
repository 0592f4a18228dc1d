"""The reader behind trusted proxies: the client address and scheme come from `Forwarded` or `X-Forwarded-For`
only when the connection itself comes from a proxy we trust; from anyone else those headers are ignored.

Why not aiohttp-remotes: its strict classes want the exact number of proxy hops (a CDN in front of nginx changes
it), and its filtered class believes the headers from any peer, so a spammer could rotate `X-Forwarded-For` to
escape the rate limits. The rule here is the usual one: walk the chain from the nearest hop outwards, skip the
trusted proxies, and the first address that is not one of them is the client. Parsing the headers themselves is
aiohttp's (`request.forwarded`) or a comma split.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from service.settings import Network
from service.web.runtime import runtime

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SCHEMES = ("http", "https")


def address_of(hop: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A hop as `Forwarded` or `X-Forwarded-For` writes it (`1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`,
    `"[2001:db8::1]"`), or None for an obfuscated or unknown one."""
    text = hop.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_of(hops: Sequence[str], proxies: Sequence[Network]) -> str | None:
    """The client among the hops (the farthest first, as the headers list them): the nearest one that is not a
    trusted proxy, or the farthest when all are. None when there are no hops."""
    if not hops:
        return None
    for hop in reversed(hops):
        address = address_of(hop)
        if not trusted(address, proxies):
            return str(address) if address is not None else hop.strip().strip('"')[:100]
    address = address_of(hops[0])
    return str(address) if address is not None else None


@web.middleware
async def behind_proxies(request: web.Request, handler: Handler) -> web.StreamResponse:
    proxies = runtime(request).settings.trusted_proxies
    if not proxies or not trusted(address_of(request.remote or ""), proxies):
        return await handler(request)
    if request.forwarded:
        hops = [element["for"] for element in request.forwarded if element.get("for")]
        protos = [element["proto"] for element in request.forwarded if element.get("proto")]
    else:
        hops = _listed(request, "X-Forwarded-For")
        protos = _listed(request, "X-Forwarded-Proto")
    # The peer is a trusted proxy: without forwarding headers it is the client as far as anyone can tell.
    client = client_of(hops, proxies) or request.remote or "unknown"
    scheme = protos[-1].strip().lower() if protos and protos[-1].strip().lower() in SCHEMES else request.scheme
    return await handler(request.clone(remote=client, scheme=scheme))


def _listed(request: web.Request, header: str) -> list[str]:
    """The comma-separated values of every instance of `header`, in order."""
    return [item for value in request.headers.getall(header, []) for item in value.split(",") if item.strip()]
