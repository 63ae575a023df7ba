"""Re-seal every stored secret with the current encryption key (after DEPPORTAL_ENCRYPTION_KEY changed)."""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models, transaction

from depportal.core import crypto

# Every sealed column is a TextField named *_encrypted (tokens, VPP tokens, the webhook secret, ...):
# finding them by name means a new one is rotated without anyone remembering to list it here.
SUFFIX = "_encrypted"


@dataclass
class FieldReport:
    """What rotation did to one column: values re-sealed, already current, empty, or unreadable."""

    rotated: int = 0
    current: int = 0
    empty: int = 0
    failed: list[int] = field(default_factory=list)


def sealed_fields() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every column holding a value sealed with depportal.core.crypto."""
    found = []
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if model_field.name.endswith(SUFFIX) and isinstance(model_field, models.TextField):
                found.append((model, model_field.name))
    return sorted(found, key=lambda pair: (pair[0]._meta.label, pair[1]))


def rotate_field(model: type[models.Model], name: str, *, dry_run: bool = False) -> FieldReport:
    """Re-seal one column's values that another key sealed; rows are locked one by one, so writers may go on."""
    report = FieldReport()
    for pk in model.objects.order_by("pk").values_list("pk", flat=True).iterator():
        with transaction.atomic():
            value = model.objects.select_for_update().filter(pk=pk).values_list(name, flat=True).first()
            if not value:
                report.empty += 1
                continue
            if not crypto.needs_rotation(value):
                report.current += 1
                continue
            try:
                plaintext = crypto.decrypt(value)
            except crypto.DecryptionError:
                report.failed.append(pk)
                continue
            if not dry_run:
                model.objects.filter(pk=pk).update(**{name: crypto.encrypt(plaintext)})
            report.rotated += 1
    return report


def rotate_all(*, dry_run: bool = False) -> dict[str, FieldReport]:
    """Rotate every sealed column; keyed by "app.Model.field". Running it again changes nothing."""
    return {
        f"{model._meta.label}.{name}": rotate_field(model, name, dry_run=dry_run) for model, name in sealed_fields()
    }
