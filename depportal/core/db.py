"""Saving rows whose names must be unique, so a clash is the person's error and not a server error."""

from django.db import IntegrityError, transaction
from django.db.models import Model

from depportal.core.exceptions import ApplicationError


def save_unique(obj: Model, *, unique: tuple[str, ...], message: str, field: str = "name") -> None:
    """Save `obj`; when another row holds the same values of `unique`, refuse with `message` on `field`.

    The database's constraint decides (two saves at once cannot both pass a check made first); the look-up
    after the failure only tells this clash from another integrity error, which is re-raised.
    """
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        values = {name: getattr(obj, name) for name in unique}
        if type(obj).objects.exclude(pk=obj.pk).filter(**values).exists():
            raise ApplicationError(message, fields={field: [message]}) from None
        raise
