"""Rate limits per client address on the public website's costlier answers: searches, case
lists, and the answers for references that are not published (so that nobody walks the
references to learn which cases were withdrawn and when).

DRF's throttle (the partner API's), keyed by the client's address as the sign-in lockouts
read it (casetracker.security.client_ip: behind the TLS proxy, the address it appended to
X-Forwarded-For). The rates are ``PUBLIC_SITE_RATES``.
"""

import ipaddress

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from casetracker.security import client_ip

SEARCH, LIST, MISSING = "search", "list", "missing"


class PublicSiteThrottle(SimpleRateThrottle):
    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_rate(self):
        return settings.PUBLIC_SITE_RATES[self.scope]

    def get_cache_key(self, request, view):
        return f"website_throttle_{self.scope}_{client_of(request)}"


def client_of(request) -> str:
    """Whom a limit counts: the client's IPv4 address, or the /64 network of its IPv6 one
    (one household or server is given a whole /64: each of its addresses is the same client)."""
    address = client_ip(request)
    if address is None:
        return "unknown"
    parsed = ipaddress.ip_address(address)
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def wait(request, scope: str) -> int | None:
    """None if the client may have this answer now (and counts it); else the seconds until
    it may ask again."""
    throttle = PublicSiteThrottle(scope)
    if throttle.allow_request(request, None):
        return None
    return max(1, int(throttle.wait() or 1))
