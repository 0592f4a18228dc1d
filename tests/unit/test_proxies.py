"""Who the client is behind proxies: the nearest hop that is not a trusted proxy."""

from __future__ import annotations

import ipaddress

import pytest

from service.settings import Settings, SettingsError
from service.web.proxies import address_of, client_of

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("hop", "address"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:8443 ", "203.0.113.7"),
        ('"[2001:db8::1]:443"', "2001:db8::1"),
        ("[2001:db8::2]", "2001:db8::2"),
        ("2001:db8::3", "2001:db8::3"),
        ("unknown", None),
        ("_hidden", None),
    ],
)
def test_a_hop_is_read_as_forwarded_and_x_forwarded_for_write_it(hop: str, address: str | None) -> None:
    found = address_of(hop)

    assert (None if found is None else str(found)) == address


def test_the_client_is_the_nearest_hop_that_is_not_a_trusted_proxy() -> None:
    # A spoofed entry the client wrote itself stands to the left of its real address: it is never believed.
    assert client_of(["198.51.100.1", "203.0.113.7", "10.1.2.3", "10.0.0.9"], PROXIES) == "203.0.113.7"


def test_when_every_hop_is_trusted_the_farthest_is_the_client() -> None:
    assert client_of(["10.9.9.9", "10.0.0.9"], PROXIES) == "10.9.9.9"


def test_no_hops_name_no_client() -> None:
    assert client_of([], PROXIES) is None


def test_an_unreadable_nearest_untrusted_hop_is_kept_as_written() -> None:
    assert client_of(["203.0.113.7", "unknown", "10.0.0.9"], PROXIES) == "unknown"


def test_trusted_proxies_are_addresses_and_ranges_separated_by_commas_or_spaces() -> None:
    settings = Settings.from_env({"COMMENTS_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.10  2001:db8::/32"})

    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.10/32", "2001:db8::/32"]


def test_a_malformed_trusted_proxy_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="COMMENTS_TRUSTED_PROXIES lists 'nginx'"):
        Settings.from_env({"COMMENTS_TRUSTED_PROXIES": "10.0.0.1 nginx"})
