from django.db import models  # noqa: F401  (the sync feature fills this app)
