"""Many active tokens at once, for the scale-out and beat tests and bench/bench_scale.py.

Each token is a real depsim MDM server with real OAuth values, stored sealed as the wizard stores them. The
wizard itself (an RSA key per token and a .p7m round trip) is skipped: other tests cover it, and it would
cost seconds per hundred tokens.
"""

import json
from datetime import datetime

from depportal.core import crypto
from depsim.control import DepSimControl
from tokens.models import EnrollmentProgramToken, TokenState


def active_tokens(control: DepSimControl, count: int, *, devices: int = 0, prefix: str = "Fleet") -> list:
    """`count` active tokens, each on its own depsim server holding `devices` devices."""
    created = []
    for number in range(count):
        server = control.create_server(f"{prefix} MDM {number}")
        if devices:
            control.add_devices(server["server_uuid"], count=devices)
        values = {key: server[key] for key in ("consumer_key", "consumer_secret", "access_token", "access_secret")}
        created.append(
            EnrollmentProgramToken(
                name=f"{prefix} {number}",
                state=TokenState.ACTIVE,
                apple_id="it@example.com",
                certificate_pem="",
                private_key_encrypted=crypto.encrypt("not used: the OAuth values are stored already"),
                oauth_encrypted=crypto.encrypt(json.dumps(values)),
                access_token_expiry=datetime.fromisoformat(server["access_token_expiry"].replace("Z", "+00:00")),
                server_uuid=server["server_uuid"],
                server_name=server["server_name"],
            )
        )
    return EnrollmentProgramToken.objects.bulk_create(created)
