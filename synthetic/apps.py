from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyntheticConfig(AppConfig):
    """Synthetic records at population scale, for benchmarks and trials (generate_synthetic)."""

    name = "synthetic"
    verbose_name = _("synthetic data")
    default_auto_field = "django.db.models.BigAutoField"
