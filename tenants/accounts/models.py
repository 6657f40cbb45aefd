"""Users live in their tenant's schema; each has one role (admin, analyst or viewer)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from tenants.models import Role


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["username"]
        constraints = [models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid")]

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.ANALYST)

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        return f"user:{self.username}"
