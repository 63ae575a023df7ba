"""Test settings: the real settings, pointed at the local PostgreSQL and Redis unless told otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/depportal")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key")
# A fixed, test-only key: the suite encrypts and decrypts real secrets with it.
os.environ.setdefault("DEPPORTAL_ENCRYPTION_KEY", "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
# Never Apple itself: a closed local port fails at once; tests that want Apps and Books use depsim's.
os.environ.setdefault("APPLE_VPP_BASE_URL", "http://127.0.0.1:9/mdm/v2")

from depportal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, tests only
ALLOWED_HOSTS = ["*"]
