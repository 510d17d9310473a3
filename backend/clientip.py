"""The client's IP address, as the rate limits see it.

Behind a proxy (nginx), the peer is the proxy: its X-Forwarded-For names the
client. Only proxies listed in TRUSTED_PROXIES are believed, and the client is
the rightmost address in the chain that is not one of them (a client can put
anything at the left of the header, never at the right).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in spec if s.strip())


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(scope: Mapping[str, Any]) -> str:
    peer = (scope.get("client") or ("unknown", 0))[0]
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(peer, networks):
        return str(peer)
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    for address in reversed(forwarded):
        if not _trusted(address, networks):
            return address
    return str(peer)
