"""compiled_rows and compiled_instances: SQL compiled once per key, rows read fresh on every call."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from depportal.accounts.scoping import scoped_to
from depportal.core.db import compiled_instances, compiled_rows
from syncjobs.models import SyncJob
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db


def _names(scope):
    return scoped_to(EnrollmentProgramToken.objects.all(), scope).order_by("name").values_list("pk", "name")


def _tokens(scope):
    return scoped_to(EnrollmentProgramToken.objects.all(), scope).only("pk", "name").order_by("name")


def _problems():
    return SyncJob.objects.values_list("pk", "record_problems")


def test_rows_are_read_again_on_every_call(django_assert_num_queries, tag_a, tag_b):
    alpha = EnrollmentProgramToken.objects.create(name="Alpha", state=TokenState.ACTIVE)
    alpha.scope_tags.set([tag_a])
    assert compiled_rows(_names, None) == [(alpha.pk, "Alpha")]
    beta = EnrollmentProgramToken.objects.create(name="Beta", state=TokenState.ACTIVE)
    beta.scope_tags.set([tag_b])
    with django_assert_num_queries(1):
        assert compiled_rows(_names, None) == [(alpha.pk, "Alpha"), (beta.pk, "Beta")]
    assert compiled_rows(_names, frozenset({tag_b.pk})) == [(beta.pk, "Beta")]
    EnrollmentProgramToken.objects.filter(pk=beta.pk).update(name="Aardvark")
    assert [token.name for token in compiled_instances(_tokens, None)] == ["Aardvark", "Alpha"]


def test_a_scope_of_no_tags_reads_nothing_without_a_query(django_assert_num_queries):
    EnrollmentProgramToken.objects.create(name="Alpha", state=TokenState.ACTIVE)
    with django_assert_num_queries(0):
        assert compiled_rows(_names, frozenset()) == []
        assert compiled_instances(_tokens, frozenset()) == []


def test_rows_whose_columns_need_converting_are_refused():
    # A JSON column is decoded by the field, which compiled_rows would skip.
    with pytest.raises(ImproperlyConfigured, match="need no conversion"):
        compiled_rows(_problems)
