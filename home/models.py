"""Per-user settings that Home keeps between visits."""

from django.conf import settings
from django.db import models

from inventory.models import Store


class HomePreference(models.Model):
    """The store a user last chose on Home, kept across logins and browsers."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="home_preference",
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty until the user picks a store; Home then shows their first store.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: store {self.store_id}"
