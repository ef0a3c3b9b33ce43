"""Settings for the test suite: the project's settings with fast, isolated test-only choices."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-" + "x" * 60)
os.environ.setdefault("DEBUG", "false")
# Fixed test-only keys (casetracker.crypto): never used outside the suite.
os.environ.setdefault("ENCRYPTION_KEYS", "149qyC2IPeMLxVQWdiERqilo_0ad1PN0gkCJGG9_B1k=")
os.environ.setdefault("AUDIT_DIGEST_KEY", "FP4I1fSz7KAXAbHrFS8TfdUJvhWjb1GpaxPB-wTRy3U=")

from casetracker.settings import *  # noqa: F403

DEMO = True  # load_demo runs in tests
PUBLIC_SITE = True  # the public website is mounted at "/" (website app), as in the demo
# The crawls ask for hundreds of pages from one address; the rate limit tests set their own.
# Publishing does not queue a data download (website.downloads) but where a test asks for it.
PUBLIC_DOWNLOADS_AFTER_PUBLISHING = False
PUBLIC_SITE_RATES = {"search": "10000/min", "list": "10000/min", "missing": "10000/min"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="casetracker-test-media-")
STATIC_ROOT = tempfile.mkdtemp(prefix="casetracker-test-static-")
VAR_DIR = tempfile.mkdtemp(prefix="casetracker-test-var-")  # demo logins go here, not into var/
SECURE_SSL_REDIRECT = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The suite signs staff in with force_login() and client.login(): no second factor, and no
# request for django-axes to key lockouts on. tests/test_security.py turns both back on.
REQUIRE_2FA = False
AXES_ENABLED = False
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "statistics": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "statistics",
    },
}
