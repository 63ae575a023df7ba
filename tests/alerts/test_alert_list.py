"""Which alerts exist, who sees them, and where the console and the API show them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from depportal.accounts.models import Role
from depportal.core.alerts import CRITICAL, WARNING
from overview.alerts.selectors import alert_list
from tokens.models import EnrollmentProgramToken, TokenState

pytestmark = pytest.mark.django_db


def _codes(alerts):
    return [(alert.code, alert.level, alert.subject_name) for alert in alerts]


def test_expiry_levels_and_states(onboard, admin_user, expire_in):
    fine = expire_in(onboard(admin_user, server_name="Fine"), 30)
    expire_in(onboard(admin_user, server_name="Soon"), 29)
    expire_in(onboard(admin_user, server_name="Very soon"), 6)
    expire_in(onboard(admin_user, server_name="Gone"), -3)
    terms = onboard(admin_user, server_name="Terms")
    EnrollmentProgramToken.objects.filter(pk=terms.pk).update(state=TokenState.TERMS_NOT_ACCEPTED)
    broken = onboard(admin_user, server_name="Broken")
    EnrollmentProgramToken.objects.filter(pk=broken.pk).update(
        state=TokenState.ERROR, last_error_code="MALFORMED_REQUEST_BODY", last_error_message="Apple said no"
    )

    alerts = alert_list(user=admin_user)

    assert _codes(alerts) == [
        ("token_expired", CRITICAL, "Gone"),
        ("terms_not_accepted", CRITICAL, "Terms"),
        ("token_expiring", CRITICAL, "Very soon"),
        ("sync_failed", WARNING, "Broken"),
        ("token_expiring", WARNING, "Soon"),
    ]
    assert fine.pk not in {alert.subject_id for alert in alerts}
    assert "expires in 29 days" in alerts[-1].message and "Apple said no" in alerts[3].message


def test_pending_tokens_have_no_alerts(client, admin_user):
    client.force_login(admin_user)
    client.post("/tokens/add/", {"data_sharing_consent": "on"})
    assert EnrollmentProgramToken.objects.get().state == TokenState.PENDING
    assert alert_list(user=admin_user) == []


def test_scope_a_user_never_sees_alerts_of_other_tags(
    onboard, admin_user, make_user, tag_a, tag_b, expire_in, client, api_client_for
):
    alpha = expire_in(onboard(admin_user, server_name="Alpha", tags=[tag_a]), 5)
    expire_in(onboard(admin_user, server_name="Beta", tags=[tag_b]), 5)
    reader = make_user("reader", Role.READ_ONLY, [tag_a])
    nobody = make_user("nobody")

    assert [alert.subject_name for alert in alert_list(user=reader)] == ["Alpha"]
    assert alert_list(user=nobody) == []

    body = api_client_for(reader).get("/api/v1/alerts/").json()
    assert body["count"] == 1
    assert body["results"] == [
        {
            "code": "token_expiring",
            "level": "critical",
            "message": alert_list(user=reader)[0].message,
            "subject": "token",
            "subject_id": alpha.pk,
            "subject_name": "Alpha",
            "url": f"/tokens/{alpha.pk}/",
        }
    ]
    assert api_client_for(admin_user).get("/api/v1/alerts/").json()["count"] == 2
    assert api_client_for(nobody).get("/api/v1/alerts/").status_code == 403

    client.force_login(reader)
    home = client.get("/").content.decode()
    assert "Alpha" in home and "Beta" not in home
    assert f'href="/tokens/{alpha.pk}/"' in home
    assert 'id="alert-count">1<' in home


def test_home_token_list_and_top_bar_show_alerts(onboard, admin_user, expire_in, client):
    client.force_login(admin_user)
    assert "No alerts." in client.get("/").content.decode()
    assert 'id="alert-summary"' not in client.get("/tokens/").content.decode()

    soon = expire_in(onboard(admin_user, server_name="Soon"), 20)
    gone = expire_in(onboard(admin_user, server_name="Gone"), -1)

    home = client.get("/").content.decode()
    listed = home.split('id="alert-list"')[1].split("</ul>")[0]
    # Critical first, each linking to its token.
    assert listed.index(f'href="/tokens/{gone.pk}/"') < listed.index(f'href="/tokens/{soon.pk}/"')
    assert "No alerts." not in home
    assert 'id="alert-count">2<' in home and "badge-err" in home.split('id="alert-count"')[0].rsplit("<span", 1)[1]

    tokens_page = client.get("/tokens/").content.decode()
    summary = tokens_page.split('id="alert-summary"')[1].split("</div>")[0]
    assert "2 alerts</strong> (1 critical)" in summary
    assert f'href="/tokens/{gone.pk}/">Gone</a> <span class="badge badge-err">Expired</span>' in summary
    assert f'href="/tokens/{soon.pk}/">Soon</a> <span class="badge badge-warn">Expiring</span>' in summary
    # The summary comes before the table.
    assert tokens_page.index('id="alert-summary"') < tokens_page.index('id="tokens"')


def test_vpp_token_alerts_join_the_alert_list_within_scope(admin_user, make_user, tag_a, tag_b, api_client_for):
    from datetime import timedelta

    from django.utils import timezone

    from profiles.models import VppToken

    low = VppToken.objects.create(
        name="School VPP", expires_at=timezone.now() + timedelta(days=200), cp_licenses_total=100, cp_licenses_used=95
    )
    low.scope_tags.set([tag_a])
    other = VppToken.objects.create(
        name="Other VPP", expires_at=timezone.now() + timedelta(days=3), cp_licenses_total=100
    )
    other.scope_tags.set([tag_b])
    reader = make_user("reader", Role.READ_ONLY, [tag_a])

    alerts = alert_list(user=reader)
    assert [(a.code, a.subject, a.subject_name) for a in alerts] == [("vpp_licenses_low", "vpp_token", "School VPP")]
    assert alerts[0].url == f"/vpp-tokens/{low.pk}/" and "only 5 Company Portal licenses" in alerts[0].message
    body = api_client_for(admin_user).get("/api/v1/alerts/").json()
    assert {(row["code"], row["level"]) for row in body["results"]} == {
        ("vpp_licenses_low", "warning"),
        ("vpp_token_expiring", "critical"),
    }


def test_devices_whose_assignment_failed_for_good_raise_a_token_alert(onboard, admin_user):
    from devices.models import Device
    from profiles.assignment import MAX_ATTEMPTS

    token = onboard(admin_user, server_name="Acme")
    common = {"token": token, "assignment_result": "FAILED", "assignment_attempts": MAX_ATTEMPTS}
    Device.objects.create(serial_number="GAVEUP1", **common)
    Device.objects.create(serial_number="GAVEUP2", **common)
    Device.objects.create(serial_number="RETRYING", assignment_retry_at=timezone.now(), **common)
    alerts = [alert for alert in alert_list(user=admin_user) if alert.code == "assignment_failed"]
    assert len(alerts) == 1 and alerts[0].subject_id == token.pk
    assert alerts[0].message.startswith("2 devices of Acme could not get their profile")


def test_the_apple_business_connection_alerts_administrators_in_the_alerts_list_and_the_navigation(
    client, admin_user, make_user, tag_a
):
    from business.models import BusinessConnection, ConnectionState

    BusinessConnection.objects.create(
        kind="business",
        client_id="BUSINESSAPI.x",
        key_id="k",
        private_key_encrypted="-",
        state=ConnectionState.ERROR,
        last_error_message="invalid_client.",
    )
    reader = make_user("reader", Role.READ_ONLY, [tag_a])

    assert _codes(alert_list(user=admin_user)) == [
        ("business_refused", CRITICAL, "Apple Business connection"),
        ("business_inventory_unread", WARNING, "Apple Business connection"),
    ]
    assert alert_list(user=admin_user)[0].url == "/tenant/business/"
    assert alert_list(user=reader) == []  # only administrators manage the connection

    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert 'id="business-alert"' in page and 'id="alert-count">2<' in page
    client.force_login(reader)
    assert 'id="business-alert"' not in client.get("/").content.decode()


def test_the_badge_reads_current_tokens_and_each_scope_its_own(
    onboard, admin_user, make_user, tag_a, tag_b, expire_in, client
):
    """The badge counts what each scope may see, as the tokens are now: what changed shows on the next page."""
    alpha = onboard(admin_user, server_name="Alpha", tags=[tag_a])
    beta = expire_in(onboard(admin_user, server_name="Beta", tags=[tag_b]), 5)
    reader_a = make_user("reader-a", Role.READ_ONLY, [tag_a])
    reader_b = make_user("reader-b", Role.READ_ONLY, [tag_b])
    both = make_user("both", Role.READ_ONLY, [tag_a, tag_b])

    assert [a.subject_name for a in alert_list(user=reader_a)] == []
    assert [a.subject_name for a in alert_list(user=reader_b)] == ["Beta"]
    expire_in(alpha, 5)
    EnrollmentProgramToken.objects.filter(pk=beta.pk).update(state=TokenState.ERROR, last_error_message="No")
    assert [a.subject_name for a in alert_list(user=reader_a)] == ["Alpha"]
    assert [a.code for a in alert_list(user=reader_b)] == ["token_expiring", "sync_failed"]
    assert sorted(a.subject_name for a in alert_list(user=both)) == ["Alpha", "Beta", "Beta"]
    assert len(alert_list(user=admin_user)) == 3

    client.force_login(reader_a)
    assert 'id="alert-count">1<' in client.get("/devices/").content.decode()
    EnrollmentProgramToken.objects.filter(pk=alpha.pk).update(access_token_expiry=timezone.now() + timedelta(days=90))
    assert 'id="alert-count"' not in client.get("/devices/").content.decode()


def test_alerts_follow_a_change_of_roles_at_once(
    onboard, admin_user, make_user, tag_a, tag_b, expire_in, django_assert_num_queries
):
    """Each scope's alert queries are compiled once and kept: a user whose roles change reads their new scope on
    the next call, a disabled user reads nothing, and users of equal scope read the same."""
    from depportal.accounts.services import role_assignment_set

    expire_in(onboard(admin_user, server_name="Alpha", tags=[tag_a]), 5)
    expire_in(onboard(admin_user, server_name="Beta", tags=[tag_b]), 5)
    reader = make_user("reader", Role.READ_ONLY, [tag_a])
    twin = make_user("twin", Role.READ_ONLY, [tag_a])
    assert [a.subject_name for a in alert_list(user=reader)] == ["Alpha"]

    role_assignment_set(actor=None, user=reader, role=Role.READ_ONLY, scope_tags=[tag_b])
    reader = type(reader).objects.get(pk=reader.pk)  # a new request's user
    assert [a.subject_name for a in alert_list(user=reader)] == ["Beta"]
    assert [a.subject_name for a in alert_list(user=twin)] == ["Alpha"]
    role_assignment_set(actor=None, user=reader, role=Role.READ_ONLY, scope_tags=[tag_a, tag_b])
    reader = type(reader).objects.get(pk=reader.pk)
    assert [a.subject_name for a in alert_list(user=reader)] == ["Alpha", "Beta"]

    twin.is_active = False
    twin.save()
    assert alert_list(user=twin) == []
    assert [a.subject_name for a in alert_list(user=make_user("no-roles"))] == []
    assert [a.subject_name for a in alert_list(user=admin_user)] == ["Alpha", "Beta"]

    # One query each for tokens, VPP tokens and the Apple Business connection: no field read later on its own.
    from profiles.models import VppToken

    VppToken.objects.create(name="Low VPP", expires_at=timezone.now() + timedelta(days=3), cp_licenses_total=2)
    with django_assert_num_queries(3):
        assert len(alert_list(user=admin_user)) == 4
