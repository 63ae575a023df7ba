"""Saving rows whose names must be unique (a clash is the person's error, not a server error), and the SQL of
small queries every page runs, compiled once."""

from collections.abc import Callable
from functools import lru_cache

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import IntegrityError, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable

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


@lru_cache(maxsize=1024)
def _compiled(build: Callable[..., QuerySet], key: tuple) -> tuple[type[Model], str, str, tuple] | None:
    queryset = build(*key)
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a queryset that can match nothing (.none(), an empty IN) has no SQL
        return None
    if issubclass(queryset._iterable_class, ValuesListIterable):
        if compiler.get_converters([expression for expression, _, _ in compiler.select]):
            raise ImproperlyConfigured(f"{build.__qualname__}: compiled rows must need no conversion (ids, text).")
    return queryset.model, queryset.db, sql, tuple(params)


def compiled_rows(build: Callable[..., QuerySet], *key) -> list[tuple]:
    """The rows of `build(*key)`, a values_list queryset, its SQL built and compiled once per process and key.

    For the small queries every console page runs (pickers, the alerts badge), building and compiling cost more
    than running. `build` is given only `key` (hashable values, a scope from scope_of among them), so the SQL
    can depend on nothing else; it must not read the clock. The driver's values are returned as they are, so
    the columns must need no conversion (ids, text): that is checked when the SQL is compiled.
    """
    compiled = _compiled(build, key)
    if compiled is None:
        return []
    _, using, sql, params = compiled
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def compiled_instances(build: Callable[..., QuerySet], *key) -> list[Model]:
    """As compiled_rows, for a queryset of model instances: the fields it loads, and its annotations."""
    compiled = _compiled(build, key)
    if compiled is None:
        return []
    model, using, sql, params = compiled
    return list(model.objects.db_manager(using).raw(sql, params))
