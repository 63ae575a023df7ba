"""One expiry rule (core.alerts) for the badges and the alerts of tokens and VPP tokens."""

from datetime import timedelta

import pytest
from django.utils import timezone

from depportal.core.alerts import CRITICAL, WARNING
from profiles.alerts import vpp_token_alerts
from profiles.models import VppToken
from tokens.alerts import token_alerts
from tokens.models import EnrollmentProgramToken, TokenState


@pytest.mark.parametrize(
    ("days", "badge", "level"),
    [(3, ("Expires in 3 days", "err"), CRITICAL), (20, ("Expires in 20 days", "warn"), WARNING), (40, None, None)],
)
def test_vpp_token_badge_and_alert_agree_with_the_token_ones(days, badge, level):
    expires = timezone.now() + timedelta(days=days, hours=1)
    vpp_token = VppToken(pk=1, name="Apps", expires_at=expires, cp_licenses_total=100)
    token = EnrollmentProgramToken(pk=1, name="DEP", state=TokenState.ACTIVE, access_token_expiry=expires)
    assert vpp_token.status == (badge or ("Active", "ok"))
    assert token.status == ((f"Expiring in {days} days", badge[1]) if badge else ("Active", "ok"))
    wanted = [level] if level else []
    assert [a.level for a in vpp_token_alerts(vpp_token) if a.code == "vpp_token_expiring"] == wanted
    assert [a.level for a in token_alerts(token) if a.code == "token_expiring"] == wanted
