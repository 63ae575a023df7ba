import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from depportal.accounts.models import Role
from depportal.apple.tokenfile import ServerTokenCredentials, encrypt_server_token
from depportal.audit.models import AuditEvent
from depportal.core.exceptions import ApplicationError
from tokens import services
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db


def _p7m(server: dict) -> bytes:
    return base64.b64decode(server["p7m"])


def test_nothing_starts_without_consent(admin_user):
    with pytest.raises(ApplicationError) as error:
        services.token_start(actor=admin_user, data_sharing_consent=False)
    assert "data_sharing_consent" in error.value.fields
    assert not EnrollmentProgramToken.objects.exists()


def test_the_wizard_creates_an_active_token_with_apple_account_details(apple, admin_user, default_tag):
    token = services.token_start(actor=admin_user, data_sharing_consent=True)
    assert token.state == TokenState.PENDING and token.consent_given_by == admin_user
    assert token.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    server = apple.create_server("Acme MDM", org_name="Acme Corp", certificate_pem=token.certificate_pem.encode())

    token = services.token_activate(actor=admin_user, token=token, token_file=_p7m(server), apple_id="it@acme.test")

    assert token.state == TokenState.ACTIVE
    assert token.name == "Acme MDM" and token.server_name == "Acme MDM"
    assert token.server_uuid == server["server_uuid"] and token.org_name == "Acme Corp"
    assert token.access_token_expiry == datetime.fromisoformat(server["access_token_expiry"])
    assert 364 <= token.days_until_expiry <= 366
    assert list(token.scope_tags.all()) == [default_tag]
    assert token.status == ("Active", "ok")
    credentials = services.token_credentials(token)
    assert credentials.consumer_secret == server["consumer_secret"]
    actions = list(AuditEvent.objects.filter(object_id=str(token.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["consent", "create"]


def test_no_secret_is_stored_in_plaintext(onboard, admin_user, capsys):
    token = onboard(admin_user)
    server = token.apple_server
    call_command("dumpdata", "--all", "--indent", "0")
    dump = capsys.readouterr().out
    assert str(token.pk) in dump
    for secret in ("consumer_secret", "access_token", "access_secret"):
        assert server[secret] not in dump
    assert "PRIVATE KEY" not in dump


def _pending(admin_user):
    return services.token_start(actor=admin_user, data_sharing_consent=True)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda token, server: b"just some bytes", "not a server token"),
        (lambda token, server: token.certificate_pem.encode(), "certificate"),
        (lambda token, server: _p7m(server)[:400], "damaged"),
    ],
    ids=["random-bytes", "the-pem-itself", "truncated"],
)
def test_bad_token_files_are_refused_with_a_clear_message(apple, admin_user, upload, message):
    token = _pending(admin_user)
    server = apple.create_server("Acme", certificate_pem=token.certificate_pem.encode())
    with pytest.raises(ApplicationError) as error:
        services.token_activate(actor=admin_user, token=token, token_file=upload(token, server), apple_id="a@b.test")
    assert message in error.value.fields["token_file"][0].lower()
    token.refresh_from_db()
    assert token.state == TokenState.PENDING and not token.oauth_encrypted


def test_a_token_made_for_an_old_public_key_is_recognised(apple, admin_user):
    old = _pending(admin_user)
    server = apple.create_server("Acme", certificate_pem=old.certificate_pem.encode())
    new = _pending(admin_user)
    with pytest.raises(ApplicationError) as error:
        services.token_activate(actor=admin_user, token=new, token_file=_p7m(server), apple_id="a@b.test")
    assert "different public key" in error.value.fields["token_file"][0]


def test_an_expired_token_file_is_refused(apple, admin_user):
    token = _pending(admin_user)
    credentials = ServerTokenCredentials(
        "CK_1", "CS_1", "AT_1", "AS_1", access_token_expiry=datetime(2020, 1, 1, tzinfo=UTC)
    )
    p7m = encrypt_server_token(credentials, token.certificate_pem.encode())
    with pytest.raises(ApplicationError) as error:
        services.token_activate(actor=admin_user, token=token, token_file=p7m, apple_id="a@b.test")
    assert "expired on 2020-01-01" in error.value.fields["token_file"][0]


def test_credentials_apple_rejects_are_refused(apple, admin_user):
    token = _pending(admin_user)
    credentials = ServerTokenCredentials(
        "CK_unknown", "CS_x", "AT_x", "AS_x", access_token_expiry=timezone.now() + timedelta(days=300)
    )
    p7m = encrypt_server_token(credentials, token.certificate_pem.encode())
    with pytest.raises(ApplicationError) as error:
        services.token_activate(actor=admin_user, token=token, token_file=p7m, apple_id="a@b.test")
    assert "Apple rejected the credentials" in error.value.fields["token_file"][0]


def test_terms_not_accepted_and_apple_unreachable_say_what_to_do(apple, admin_user, settings):
    token = _pending(admin_user)
    server = apple.create_server("Acme", certificate_pem=token.certificate_pem.encode())
    apple.set_terms_pending(server["server_uuid"], True)
    with pytest.raises(ApplicationError, match="accept new terms and conditions"):
        services.token_activate(actor=admin_user, token=token, token_file=_p7m(server), apple_id="a@b.test")
    apple.set_terms_pending(server["server_uuid"], False)
    settings.APPLE_DEP_BASE_URL = "http://127.0.0.1:9"
    settings.APPLE_DEP_MAX_RETRIES = 1
    with pytest.raises(ApplicationError, match="Apple could not be reached.*Nothing was stored"):
        services.token_activate(actor=admin_user, token=token, token_file=_p7m(server), apple_id="a@b.test")
    token.refresh_from_db()
    assert token.state == TokenState.PENDING


def test_apple_id_is_required_and_checked(apple, admin_user):
    token = _pending(admin_user)
    server = apple.create_server("Acme", certificate_pem=token.certificate_pem.encode())
    for apple_id, message in (("", "Enter the Apple ID"), ("not an id", "looks like an email")):
        with pytest.raises(ApplicationError) as error:
            services.token_activate(actor=admin_user, token=token, token_file=_p7m(server), apple_id=apple_id)
        assert message in error.value.fields["apple_id"][0]


def test_a_left_or_timed_out_wizard_cannot_create(apple, admin_user):
    token = _pending(admin_user)
    server = apple.create_server("Acme", certificate_pem=token.certificate_pem.encode())
    EnrollmentProgramToken.objects.filter(pk=token.pk).update(pending_expires_at=timezone.now() - timedelta(seconds=1))
    token.refresh_from_db()
    with pytest.raises(ApplicationError, match="no longer valid"):
        services.token_activate(actor=admin_user, token=token, token_file=_p7m(server), apple_id="a@b.test")
    services.token_abandon(actor=admin_user, token=token)
    assert not EnrollmentProgramToken.objects.filter(pk=token.pk).exists()
    assert AuditEvent.objects.filter(action="abandon", object_id=str(token.pk)).exists()


def test_one_apple_server_is_connected_once(apple, onboard, admin_user):
    first = onboard(admin_user, server_name="Acme")
    second = _pending(admin_user)
    again = apple.renew_server(first.server_uuid, certificate_pem=second.certificate_pem.encode())
    with pytest.raises(ApplicationError, match="already connected here as 'Acme'"):
        services.token_activate(actor=admin_user, token=second, token_file=_p7m(again), apple_id="a@b.test")


def test_renewal_replaces_credentials_for_the_same_server_only(apple, onboard, admin_user):
    token = onboard(admin_user, server_name="Acme")
    apple.advance_clock(200 * 86400)
    renewed = apple.renew_server(token.server_uuid, certificate_pem=token.certificate_pem.encode())
    token = services.token_renew(actor=admin_user, token=token, token_file=_p7m(renewed), apple_id="new@acme.test")
    assert token.access_token_expiry == datetime.fromisoformat(renewed["access_token_expiry"])
    assert token.renewed_by == admin_user and token.apple_id == "new@acme.test"
    assert services.token_credentials(token).access_secret == renewed["access_secret"]

    other = apple.create_server("Other", certificate_pem=token.certificate_pem.encode())
    with pytest.raises(ApplicationError) as error:
        services.token_renew(actor=admin_user, token=token, token_file=_p7m(other), apple_id="new@acme.test")
    assert "for the Apple MDM server 'Other', not 'Acme'" in error.value.fields["token_file"][0]
    token.refresh_from_db()
    assert services.token_credentials(token).access_secret == renewed["access_secret"]


def test_scoped_managers_tag_tokens_only_with_their_tags(onboard, make_user, tag_a, tag_b):
    manager = make_user("manager", Role.ENROLLMENT_MANAGER, [tag_a])
    token = onboard(manager)
    assert list(token.scope_tags.all()) == [tag_a]
    with pytest.raises(ApplicationError, match="Choose scope tags from your own roles."):
        services.token_update(actor=manager, token=token, scope_tags=[tag_b])
    with pytest.raises(ApplicationError, match="Keep at least one scope tag"):
        services.token_update(actor=manager, token=token, scope_tags=[])


def test_tags_outside_the_editors_scope_survive_an_edit(onboard, admin_user, make_user, tag_a, tag_b):
    token = onboard(admin_user, tags=[tag_a, tag_b])
    manager = make_user("manager", Role.ENROLLMENT_MANAGER, [tag_a])
    services.token_update(actor=manager, token=token, name="Renamed", scope_tags=[tag_a])
    token.refresh_from_db()
    assert token.name == "Renamed" and set(token.scope_tags.all()) == {tag_a, tag_b}


def test_names_are_unique(onboard, admin_user):
    onboard(admin_user, server_name="One")
    second = onboard(admin_user, server_name="Two")
    with pytest.raises(ApplicationError) as error:
        services.token_update(actor=admin_user, token=second, name="One")
    assert "Another token is named 'One'" in error.value.fields["name"][0]


def test_delete_removes_the_token_and_audits_it(onboard, admin_user):
    token = onboard(admin_user)
    services.token_delete(actor=admin_user, token=token)
    assert not EnrollmentProgramToken.objects.exists()
    assert AuditEvent.objects.get(action="delete", object_type="enrollment_program_token").actor == admin_user


def test_a_fresh_key_pair_is_made_per_wizard(admin_user):
    first, second = _pending(admin_user), _pending(admin_user)
    assert first.certificate_pem != second.certificate_pem
