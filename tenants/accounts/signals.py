"""Every login, page or API, successful or not, leaves one audit row in the tenant it was tried on."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from governance.audit.models import Outcome
from governance.audit.services import audit_record


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    audit_record(actor=f"user:{user.username}", action="login", object_type="user", object_id=str(user.pk),
                 ip=_ip(request), details={"method": "session"})


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_record(actor=f"user:{user.username}", action="logout", object_type="user", object_id=str(user.pk),
                     ip=_ip(request))


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(actor=f"user:{username}", action="login", outcome=Outcome.FAILURE, object_type="user",
                 ip=_ip(request), details={"reason": "bad_credentials"})
