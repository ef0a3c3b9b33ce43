from django.conf import settings
from django.dispatch import receiver

from snapshots.writer import published_changed
from website import downloads


@receiver(published_changed)
def bundle_after_publishing(sender, **kwargs):
    """The data download follows the published set (PUBLIC_DOWNLOADS_AFTER_PUBLISHING)."""
    if settings.PUBLIC_SITE and settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING:
        downloads.request_bundle()
