"""Sign-in throttling: too many failed sign-ins lock the account, or the address, and the lock ends by itself.

One rule for every way in: the console login and Django admin authenticate through SignInBackend, and the
API's token header through ApiTokenAuthentication. Counts live in the cache (Redis in production), so
every web process sees the same ones; a lock is a key that expires.
"""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connection

from depportal.core.permissions import PREFIX as ROLE_PREFIX

ACCOUNT, ADDRESS = "account", "address"


def _key(kind: str, value: str) -> str:
    # Hashed: usernames and addresses do not appear in the cache's key space.
    return f"signin:{kind}:{hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]}"


def _limit(kind: str) -> int:
    return settings.SIGNIN_FAILURES_PER_ACCOUNT if kind == ACCOUNT else settings.SIGNIN_FAILURES_PER_ADDRESS


def signin_locked_for(*, account: str | None = None, address: str | None = None) -> int:
    """Seconds until the account and the address may try again (0: now)."""
    now = time.time()
    subjects = ((ACCOUNT, account), (ADDRESS, address))
    waits = [cache.get(_key(f"lock-{kind}", value)) for kind, value in subjects if value]
    return max((math.ceil(until - now) for until in waits if until and until > now), default=0)


def signin_failed(*, account: str | None = None, address: str | None = None) -> None:
    """Count a failed sign-in; reaching the limit within the window locks for SIGNIN_LOCKOUT_SECONDS."""
    for kind, value in ((ACCOUNT, account), (ADDRESS, address)):
        if not value:
            continue
        key = _key(kind, value)
        cache.add(key, 0, timeout=settings.SIGNIN_WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, count := 1, timeout=settings.SIGNIN_WINDOW_SECONDS)
        if count >= _limit(kind):
            lockout = settings.SIGNIN_LOCKOUT_SECONDS
            cache.set(_key(f"lock-{kind}", value), time.time() + lockout, timeout=lockout)
            cache.delete(key)


def signin_succeeded(*, account: str) -> None:
    """A right password clears the account's count of failures (not the address's)."""
    cache.delete(_key(ACCOUNT, account))


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


class SignInBackend(ModelBackend):
    """Django's username and password check, refused while locked and counted when wrong."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        address = client_address(request)
        if username is None or signin_locked_for(account=username, address=address):
            return None  # not even checked: the right password must not work during a lockout
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            signin_failed(account=username, address=address)
        else:
            signin_succeeded(account=username)
        return user

    def get_user(self, user_id):
        # Every signed-in request reads its user: one plain query by primary key, where the ORM's get() cost
        # twice the query itself (0.4 against 0.2 ms).
        model = get_user_model()
        quote = connection.ops.quote_name
        table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
        user = next(iter(model._default_manager.raw(f"SELECT * FROM {table} WHERE {key} = %s", [user_id])), None)  # noqa: S608 - the model's names
        return user if user is not None and self.user_can_authenticate(user) else None

    def has_perm(self, user_obj, perm, obj=None):
        # RoleBackend answers the roles' permissions; Django's model permissions would cost two queries a request.
        if perm.startswith(ROLE_PREFIX):
            return False
        return super().has_perm(user_obj, perm, obj=obj)
