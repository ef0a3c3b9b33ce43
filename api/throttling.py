from rest_framework.throttling import SimpleRateThrottle

from api.models import PartnerToken


class PartnerTokenThrottle(SimpleRateThrottle):
    """Rate limit per token (settings REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])."""

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, PartnerToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class PartnerBurstThrottle(PartnerTokenThrottle):
    scope = "partner_burst"


class PartnerSustainedThrottle(PartnerTokenThrottle):
    scope = "partner_sustained"
