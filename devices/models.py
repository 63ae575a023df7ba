from django.db import models  # noqa: F401  (the devices feature fills this app)
