from django.conf import settings
from django.dispatch import receiver

from snapshots.writer import published_changed
from website import downloads


@receiver(published_changed)
def bundle_after_publishing(sender, withdrawn=False, **kwargs):
    """The data download follows the published set: a bundle holding a case that has left it
    is taken down at once, whatever the settings; a new one is asked for when
    PUBLIC_DOWNLOADS_AFTER_PUBLISHING."""
    if withdrawn:
        downloads.take_down()
    if settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING:
        downloads.request_bundle()
