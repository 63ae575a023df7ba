"""Apple School and Business Manager API for the simulated organisation: OAuth token endpoint, JSON:API
resources over the same devices and MDM servers as the DEP endpoints, device activities, webhooks.

Written from Apple's pages (read December 2026):
- https://developer.apple.com/documentation/apple-school-and-business-manager-api/implementing-oauth-for-the-apple-school-manager-and-apple-business-api
- https://developer.apple.com/documentation/applebusinessapi/get-org-devices (limit <= 1000, nextCursor / links.next)
- https://developer.apple.com/documentation/applebusinessapi/get-all-device-ids-for-an-mdmserver
- https://developer.apple.com/documentation/applebusinessapi/create-an-orgdeviceactivity (201; 409 unknown server
  or serial, deadline beyond 90 days)
- https://developer.apple.com/documentation/applebusinessapi/orgdeviceactivity (status / subStatus values)
- https://developer.apple.com/documentation/applebusinessapi/create-a-webhook and .../webhookeventtype
- https://developer.apple.com/documentation/applebusinessapi/applecarecoverage/attributes-data.dictionary
- https://developer.apple.com/documentation/applebusinessapi/errorresponse
- https://developer.apple.com/documentation/apple-school-and-business-manager-api/understanding-apple-business-api-webhook-events
  (a delivery is a WebhookDelivery linking a WebhookEvent whose `payload` is a JSON string) and, for the
  signature, https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications
What those pages do not say, and is therefore this simulator's own choice: the cursor format, the 1-hour
token lifetime (as micromdm/nanoaxm reads it), the 401 error code, how soon an activity completes, and the
fields inside an event's payload (only the heading of Apple Business's authentication section was readable).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from depsim.errors import ControlError
from depsim.state import Fault, Simulator, iso, normalise_serial

log = logging.getLogger("depsim.business")

TOKEN_PATH = "/auth/oauth2/token"
API_PREFIX = "/v1/"
AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_LIFETIME = 180 * 24 * 3600
ACCESS_TOKEN_TTL = 3600
PAGE_DEFAULT = 100
PAGE_MAX = 1000
MIGRATION_DEADLINE_MAX_DAYS = 90
# Apple Business's "Set up notification authentication" (understanding-apple-business-api-webhook-events) as
# App Store Connect's page of that name spells it out: hex HMAC-SHA256 of the raw body keyed with the secret.
SIGNATURE_HEADER = "x-apple-signature"
EVENT_SERVER_CHANGED = "ORG_DEVICE_RELATIONSHIP_ASSIGNED_SERVER_CHANGED"
EVENT_ATTRIBUTE_CHANGED = "ORG_DEVICE_ATTRIBUTE_CHANGED"
EVENT_TYPES = (
    EVENT_ATTRIBUTE_CHANGED,
    "ORG_DEVICE_ATTRIBUTE_MIGRATION_DETAILS_CHANGED",
    EVENT_SERVER_CHANGED,
    "ORG_DEVICE_RELATIONSHIP_WARRANTY_CHANGED",
)
ACTIVITY_TYPES = (
    "ASSIGN_DEVICES",
    "UNASSIGN_DEVICES",
    "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
    "UPDATE_MDM_MIGRATION_DEADLINE",
    "CANCEL_MDM_MIGRATION",
    "RELEASE_DEVICES",
)
_PRODUCT_FAMILIES = {"iPhone": "iPhone", "iPad": "iPad", "Mac": "Mac", "AppleTV": "AppleTV", "Watch": "Watch"}


class ApiError(Exception):
    """A JSON:API ErrorResponse (or an OAuth error for the token endpoint)."""

    def __init__(
        self, status: int, code: str, detail: str = "", *, oauth: bool = False, retry_after: int | None = None
    ):
        super().__init__(f"{status} {code}")
        self.status, self.code, self.detail, self.oauth, self.retry_after = status, code, detail, oauth, retry_after

    def body(self) -> dict:
        if self.oauth:
            return {"error": self.code, "error_description": self.detail}
        return {
            "errors": [
                {
                    "id": str(uuid.uuid4()),
                    "status": str(self.status),
                    "code": self.code,
                    "title": self.code,
                    "detail": self.detail,
                }
            ]
        }


@dataclass
class ApiAccount:
    client_id: str
    key_id: str
    name: str
    public_key_pem: str
    created: str
    scope: str


@dataclass
class Activity:
    id: str
    activity_type: str
    serials: list[str]
    server_id: str | None
    deadline: str | None
    created_ts: float
    status: str = "IN_PROGRESS"
    sub_status: str = "SUBMITTED"
    completed_ts: float | None = None
    results: dict[str, str] = field(default_factory=dict)


@dataclass
class Webhook:
    id: str
    name: str
    url: str
    secret: str
    event_types: list[str]
    enabled: bool = True


class BusinessState:
    """The Business API's own state beside the Simulator's devices and servers (reset with it)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.accounts: dict[str, ApiAccount] = {}
        self.tokens: dict[str, tuple[str, float]] = {}
        self.jtis: set[str] = set()
        self.activities: dict[str, Activity] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.extras: dict[str, dict] = {}
        self.failing_serials: set[str] = set()
        # Seconds an activity stays IN_PROGRESS before it is applied (0: at the first poll).
        self.activity_delay = 0.0
        self.deliveries: list[dict] = []
        # Simulator.reset() replaces its servers dict: a different one means this state is stale.
        self.generation = sim.servers

    # ----- accounts and tokens -------------------------------------------------------------------------------

    def create_account(
        self, name: str = "DEP Portal", *, kind: str = "business", public_key_pem: str | None = None
    ) -> dict:
        """ABM's "create API account": a client ID and key ID, and the private key when we generated it."""
        name = (name or "").strip()
        if not name:
            raise ControlError("The API account needs a name.")
        if kind not in ("business", "school"):
            raise ControlError("kind must be business or school.")
        private_pem = None
        if public_key_pem is None:
            key = ec.generate_private_key(ec.SECP256R1())
            private_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            public_key_pem = (
                key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
        prefix = "BUSINESSAPI." if kind == "business" else "SCHOOLAPI."
        account = ApiAccount(
            client_id=prefix + str(uuid.uuid4()),
            key_id=str(uuid.uuid4()),
            name=name,
            public_key_pem=public_key_pem,
            created=self.sim.now(),
            scope="business.api" if kind == "business" else "school.api",
        )
        self.accounts[account.client_id] = account
        self.sim.mark_changed()
        return {**account_summary(account), "private_key_pem": private_pem}

    def revoke_account(self, client_id: str) -> None:
        """The key is revoked in ABM: its tokens stop working and no new ones are issued."""
        if self.accounts.pop(client_id, None) is None:
            raise ControlError(f"No API account {client_id!r}.", status=404)
        self.tokens = {k: v for k, v in self.tokens.items() if v[0] != client_id}
        self.sim.mark_changed()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def issue_token(self, form: dict[str, str]) -> dict:
        if form.get("grant_type") != "client_credentials":
            raise ApiError(400, "unsupported_grant_type", "Only client_credentials is supported.", oauth=True)
        account = self.accounts.get(form.get("client_id", ""))
        if account is None:
            raise ApiError(400, "invalid_client", "Unknown client.", oauth=True)
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise ApiError(400, "invalid_client", "Unsupported client assertion type.", oauth=True)
        if form.get("scope") != account.scope:
            raise ApiError(400, "invalid_scope", f"This account's scope is {account.scope}.", oauth=True)
        self._verify_assertion(account, form.get("client_assertion", ""))
        value = "AT." + secrets.token_urlsafe(32)
        self.tokens[value] = (account.client_id, self.sim.now_ts() + ACCESS_TOKEN_TTL)
        return {"access_token": value, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL, "scope": account.scope}

    def _verify_assertion(self, account: ApiAccount, assertion: str) -> None:
        def refuse(why: str):
            return ApiError(400, "invalid_client", why, oauth=True)

        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_unb64(head_b64))
            claims = json.loads(_unb64(claims_b64))
            signature = _unb64(sig_b64)
        except (ValueError, TypeError):
            raise refuse("The client assertion is not a JWT.") from None
        if header.get("alg") != "ES256" or header.get("kid") != account.key_id:
            raise refuse("The client assertion's alg or kid does not match the account.")
        if len(signature) != 64:
            raise refuse("The client assertion's signature is not ES256.")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public_key = serialization.load_pem_public_key(account.public_key_pem.encode())
        try:
            public_key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise refuse("The client assertion's signature does not verify.") from None
        now = self.sim.now_ts()
        if claims.get("iss") != account.client_id or claims.get("sub") != account.client_id:
            raise refuse("iss and sub must be the client ID.")
        if claims.get("aud") != AUDIENCE:
            raise refuse("Wrong audience.")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int) or exp <= now:
            raise refuse("The client assertion has expired.")
        if iat > now + 60 or exp - iat > ASSERTION_MAX_LIFETIME:
            raise refuse("The client assertion's lifetime is not allowed.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or jti in self.jtis:
            raise refuse("The client assertion was already used.")
        self.jtis.add(jti)

    def check_bearer(self, authorization: str | None) -> ApiAccount:
        value = (authorization or "").removeprefix("Bearer ").strip()
        entry = self.tokens.get(value)
        if entry is None or entry[1] <= self.sim.now_ts() or entry[0] not in self.accounts:
            raise ApiError(401, "NOT_AUTHORIZED", "Provide a valid access token.")
        return self.accounts[entry[0]]

    # ----- resources -----------------------------------------------------------------------------------------

    def extras_for(self, serial: str) -> dict:
        """Purchase details the DEP side has no field for; derived from the serial unless set by a demo."""
        extra = self.extras.get(serial)
        if extra is None:
            digest = hashlib.sha256(serial.encode()).hexdigest()
            extra = {
                "orderNumber": f"ORD{int(digest[:6], 16) % 9000 + 1000}",
                "orderDateTime": "2025-03-01T09:00:00Z",
                "partNumber": f"M{digest[6:10].upper()}LL/A",
                "purchaseSourceType": "APPLE",
                "purchaseSourceId": str(int(digest[10:18], 16)),
                "addedToOrgDateTime": "2025-03-02T10:00:00.000Z",
            }
            self.extras[serial] = extra
        return extra

    def set_order(self, serials: list[str], order_number: str, **fields: Any) -> int:
        """Give devices an order number (and optional purchase fields), as a reseller's order would.

        The number is the mini ABM's own order record too, so "Choose devices by Order Number" there and
        `orderNumber` here always agree."""
        done = 0
        for raw in serials:
            serial = normalise_serial(raw)
            if serial not in self.sim.devices:
                raise ControlError(f"No device {serial!r} in the organisation.", status=404)
            extra = dict(self.extras_for(serial))
            self.sim.orders[serial] = order_number
            extra.update(
                {k: v for k, v in fields.items() if k in ("orderDateTime", "partNumber", "purchaseSourceType")}
            )
            self.extras[serial] = extra
            done += 1
        self.sim.mark_changed()
        return done

    def org_device(self, serial: str) -> dict:
        device = self.sim.devices.get(serial)
        if device is None:
            raise ApiError(404, "NOT_FOUND", f"There is no resource of type 'orgDevices' with id '{serial}'")
        fields = device.version.fields
        extra = self.extras_for(serial)
        family = fields.get("device_family") or ""
        attributes = {
            "serialNumber": serial,
            "addedToOrgDateTime": extra["addedToOrgDateTime"],
            "releasedFromOrgDateTime": None,
            "updatedDateTime": fields.get("device_assigned_date") or extra["addedToOrgDateTime"],
            "deviceModel": fields.get("model"),
            "productFamily": _PRODUCT_FAMILIES.get(family, family or None),
            "productType": None,
            "deviceCapacity": None,
            "partNumber": extra["partNumber"],
            # A demo order placed in the mini ABM is the device's order here as well.
            "orderNumber": self.sim.orders.get(serial) or extra["orderNumber"],
            "color": fields.get("color"),
            "status": "ASSIGNED" if device.server_uuid else "UNASSIGNED",
            "orderDateTime": extra["orderDateTime"],
            "imei": [fields["imei"]] if fields.get("imei") else [],
            "meid": [fields["meid"]] if fields.get("meid") else [],
            "eid": fields.get("eid"),
            "purchaseSourceId": extra["purchaseSourceId"],
            "purchaseSourceType": extra["purchaseSourceType"],
            "wifiMacAddress": fields.get("wifi_mac_address"),
            "bluetoothMacAddress": fields.get("bluetooth_mac_address"),
            # A scheduled migration shows until the device completes it (simulated devices never start one).
            "mdmMigrationStatus": "REQUESTED" if fields.get("mdm_migration_deadline") else None,
            "mdmMigrationDeadlineDateTime": fields.get("mdm_migration_deadline") or None,
        }
        return {"type": "orgDevices", "id": serial, "attributes": attributes}

    def apple_care(self, serial: str) -> list[dict]:
        """A Limited Warranty for every device, and AppleCare+ for some (derived from the serial)."""
        self.org_device(serial)
        extra = self.extras_for(serial)
        start = _parse_datetime(extra["orderDateTime"]) or 0.0
        coverages = [
            {
                "type": "appleCareCoverage",
                "id": f"{serial}-LW",
                "attributes": {
                    "status": "ACTIVE" if start + 365 * 86400 > self.sim.now_ts() else "INACTIVE",
                    "paymentType": "NONE",
                    "description": "Limited Warranty",
                    "startDateTime": iso(start),
                    "endDateTime": iso(start + 365 * 86400),
                    "isRenewable": False,
                    "isCanceled": False,
                    "contractCancelDateTime": None,
                    "agreementNumber": None,
                },
            }
        ]
        if int(hashlib.sha256(serial.encode()).hexdigest()[:2], 16) % 3 == 0:
            coverages.append(
                {
                    "type": "appleCareCoverage",
                    "id": f"{serial}-AC",
                    "attributes": {
                        "status": "ACTIVE",
                        "paymentType": "PAID_UP_FRONT",
                        "description": "AppleCare+ for Business",
                        "startDateTime": iso(start),
                        "endDateTime": iso(start + 3 * 365 * 86400),
                        "isRenewable": True,
                        "isCanceled": False,
                        "contractCancelDateTime": None,
                        "agreementNumber": f"AG{int(hashlib.sha256(serial.encode()).hexdigest()[2:10], 16)}",
                    },
                }
            )
        return coverages

    def mdm_server(self, server) -> dict:
        return {
            "type": "mdmServers",
            "id": business_server_id(server.uuid),
            "attributes": {
                "serverName": server.name,
                "serverType": "MDM",
                "createdDateTime": iso(server.created_ts),
                "updatedDateTime": iso(server.token_ts or server.created_ts),
            },
            "relationships": {
                "devices": {
                    "links": {"self": f"/v1/mdmServers/{business_server_id(server.uuid)}/relationships/devices"}
                }
            },
        }

    def server_for_id(self, server_id: str):
        for server in self.sim.servers.values():
            if business_server_id(server.uuid) == server_id:
                return server
        return None

    # ----- activities ----------------------------------------------------------------------------------------

    def create_activity(self, body: Any) -> Activity:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "orgDeviceActivities":
            raise ApiError(400, "ENTITY_ERROR", "The body must be an orgDeviceActivities resource.")
        attributes = data.get("attributes") or {}
        relationships = data.get("relationships") or {}
        activity_type = attributes.get("activityType")
        if activity_type not in ACTIVITY_TYPES:
            raise ApiError(400, "ENTITY_ERROR.ATTRIBUTE.INVALID", "Unknown activityType.")
        devices = ((relationships.get("devices") or {}).get("data")) or []
        serials = [d.get("id") for d in devices if isinstance(d, dict) and d.get("type") == "orgDevices"]
        if not serials or not all(isinstance(s, str) and s for s in serials):
            raise ApiError(400, "ENTITY_ERROR.RELATIONSHIP.INVALID", "Name at least one device.")
        unknown = [s for s in serials if s not in self.sim.devices]
        if unknown:
            raise ApiError(
                409, "ENTITY_ERROR.RELATIONSHIP.INVALID", f"Unknown device serial numbers: {', '.join(unknown[:10])}"
            )
        server_id = None
        # Apple's one example for assigning and unassigning names the mdmServer: both take it.
        if activity_type in ("ASSIGN_DEVICES", "UNASSIGN_DEVICES", "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE"):
            server_data = (relationships.get("mdmServer") or {}).get("data") or {}
            server_id = server_data.get("id") if isinstance(server_data, dict) else None
            if not server_id or self.server_for_id(server_id) is None:
                raise ApiError(409, "ENTITY_ERROR.RELATIONSHIP.INVALID", "Unknown device management service.")
        deadline = None
        if activity_type in ("ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE", "UPDATE_MDM_MIGRATION_DEADLINE"):
            deadline = (attributes.get("activityTypeMetadata") or {}).get("mdmMigrationDeadlineDateTime")
            limit = self.sim.now_ts() + MIGRATION_DEADLINE_MAX_DAYS * 86400
            if not isinstance(deadline, str) or _parse_datetime(deadline) is None or _parse_datetime(deadline) > limit:
                raise ApiError(
                    409, "ENTITY_ERROR.ATTRIBUTE.INVALID", "The migration deadline is missing or too far ahead."
                )
        activity = Activity(str(uuid.uuid4()), activity_type, serials, server_id, deadline, self.sim.now_ts())
        self.activities[activity.id] = activity
        return activity

    def poll_activity(self, activity_id: str) -> Activity:
        activity = self.activities.get(activity_id)
        if activity is None:
            raise ApiError(
                404, "NOT_FOUND", f"There is no resource of type 'orgDeviceActivities' with id '{activity_id}'"
            )
        if activity.status == "IN_PROGRESS" and self.sim.now_ts() - activity.created_ts >= self.activity_delay:
            self._apply(activity)
        return activity

    def _apply(self, activity: Activity) -> None:
        changed: list[tuple[str, str | None]] = []
        for serial in activity.serials:
            device = self.sim.devices.get(serial)
            if serial in self.failing_serials or device is None:
                activity.results[serial] = "FAILED"
                continue
            before = device.server_uuid
            kind = activity.activity_type
            if kind in ("ASSIGN_DEVICES", "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE"):
                server = self.server_for_id(activity.server_id)
                self.sim.assign_to_server(server.uuid, [serial])
                if activity.deadline:
                    self.sim.update_device(serial, mdm_migration_deadline=activity.deadline)
            elif kind == "UNASSIGN_DEVICES":
                server = self.server_for_id(activity.server_id)
                if before != server.uuid:
                    # Only the server that has the device can give it up.
                    activity.results[serial] = "FAILED"
                    continue
                self.sim.unassign_devices(before, [serial])
            elif kind == "RELEASE_DEVICES":
                if before:
                    self.sim.unassign_devices(before, [serial])
                with self.sim.lock:
                    self.sim.devices.pop(serial, None)
            elif kind in ("UPDATE_MDM_MIGRATION_DEADLINE", "CANCEL_MDM_MIGRATION"):
                if not device.version.fields.get("mdm_migration_deadline"):
                    # Apple: a serial that is not being migrated fails in the activity log.
                    activity.results[serial] = "FAILED"
                    continue
                deadline = activity.deadline if kind == "UPDATE_MDM_MIGRATION_DEADLINE" else None
                self.sim.update_device(serial, mdm_migration_deadline=deadline)
            activity.results[serial] = "SUCCESS"
            after = self.sim.devices[serial].server_uuid if serial in self.sim.devices else None
            if after != before or kind == "RELEASE_DEVICES":
                changed.append((serial, after))
        failed = sum(1 for r in activity.results.values() if r != "SUCCESS")
        activity.completed_ts = self.sim.now_ts()
        if failed == len(activity.serials):
            activity.status, activity.sub_status = "FAILED", "COMPLETED_WITH_ERROR"
        else:
            activity.status = "COMPLETED"
            activity.sub_status = "COMPLETED_WITH_FAILURE" if failed else "COMPLETED_WITH_SUCCESS"
        self.sim.mark_changed()
        for serial, after in changed:
            self.notify(EVENT_SERVER_CHANGED, serial, after)

    def activity_resource(self, activity: Activity, base: str) -> dict:
        attributes: dict[str, Any] = {
            "status": activity.status,
            "subStatus": activity.sub_status,
            "createdDateTime": iso(activity.created_ts),
        }
        if activity.status != "IN_PROGRESS":
            attributes["completedDateTime"] = iso(activity.completed_ts or activity.created_ts)
            attributes["downloadUrl"] = f"{base}/v1/_activityLogs/{activity.id}.csv"
        return {
            "type": "orgDeviceActivities",
            "id": activity.id,
            "attributes": attributes,
            "links": {"self": f"{base}/v1/orgDeviceActivities/{activity.id}"},
        }

    def activity_log_csv(self, activity_id: str) -> bytes:
        activity = self.activities.get(activity_id)
        if activity is None or activity.status == "IN_PROGRESS":
            raise ApiError(404, "NOT_FOUND", "No such activity log.")
        rows = ["serialNumber,result", *(f"{s},{r}" for s, r in activity.results.items())]
        return ("\n".join(rows) + "\n").encode()

    # ----- webhooks ------------------------------------------------------------------------------------------

    def create_webhook(self, body: Any) -> Webhook:
        data = body.get("data") if isinstance(body, dict) else None
        attributes = (data or {}).get("attributes") or {}
        url, secret = attributes.get("url"), attributes.get("secret")
        event_types = attributes.get("eventTypes") or []
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, "ENTITY_ERROR.ATTRIBUTE.INVALID", "url must be an https URL.")
        if not isinstance(secret, str) or not secret:
            raise ApiError(400, "ENTITY_ERROR.ATTRIBUTE.REQUIRED", "secret is required.")
        if not event_types or any(e not in EVENT_TYPES for e in event_types):
            raise ApiError(400, "ENTITY_ERROR.ATTRIBUTE.INVALID", "Unknown or missing eventTypes.")
        hook = Webhook(
            str(uuid.uuid4()),
            str(attributes.get("name") or "webhook"),
            url,
            secret,
            list(event_types),
            bool(attributes.get("enabled", True)),
        )
        self.webhooks[hook.id] = hook
        self.sim.mark_changed()
        return hook

    def notify(self, event_type: str, serial: str, server_uuid: str | None) -> None:
        """Deliver the event to every subscribed webhook from a background thread (Apple does not wait)."""
        payload = {"orgDevice": {"type": "orgDevices", "id": serial}}
        if event_type == EVENT_SERVER_CHANGED:
            payload["assignedServer"] = (
                {"type": "mdmServers", "id": business_server_id(server_uuid)} if server_uuid else None
            )
        event_id = str(uuid.uuid4())
        delivery = {
            "data": {
                "type": "webhookDeliveries",
                "id": str(uuid.uuid4()),
                "attributes": {"createdDateTime": self.sim.now()},
                "relationships": {"event": {"data": {"type": "webhookEvents", "id": event_id}}},
            },
            "included": [
                {
                    "type": "webhookEvents",
                    "id": event_id,
                    "attributes": {"eventType": event_type, "payload": json.dumps(payload)},
                }
            ],
        }
        body = json.dumps(delivery).encode()
        for hook in list(self.webhooks.values()):
            if hook.enabled and event_type in hook.event_types:
                threading.Thread(target=self._deliver, args=(hook, body), daemon=True).start()

    def _deliver(self, hook: Webhook, body: bytes) -> None:
        signature = "hmacsha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
        try:
            response = requests.post(
                hook.url,
                data=body,
                timeout=10,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            )
            status = response.status_code
        except requests.RequestException as exc:
            status = 0
            log.warning("webhook delivery to %s failed: %s", hook.url, exc)
        with self.sim.lock:
            self.deliveries.append({"webhook": hook.id, "url": hook.url, "status": status})


def business_server_id(server_uuid: str) -> str:
    """Apple's examples show mdmServers ids as 32 upper-case hex digits: the server UUID without dashes."""
    return server_uuid.replace("-", "").upper()


def account_summary(account: ApiAccount) -> dict:
    return {
        "client_id": account.client_id,
        "key_id": account.key_id,
        "name": account.name,
        "created": account.created,
        "scope": account.scope,
    }


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse_datetime(value: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_states: dict[int, tuple[Simulator, BusinessState]] = {}
_states_lock = threading.Lock()


def state_for(sim: Simulator) -> BusinessState:
    """The Business API state of this simulator, new after every reset (reset() replaces sim.servers)."""
    with _states_lock:
        entry = _states.get(id(sim))
        if entry is None or entry[1].generation is not sim.servers:
            state = BusinessState(sim)
            _states[id(sim)] = (sim, state)
            return state
        return entry[1]


def snapshot(sim: Simulator) -> dict:
    """What survives a restart (as ABM keeps it): API accounts, webhooks and purchase details.

    Access tokens and activities are not kept; clients get a new token after a 401."""
    state = state_for(sim)
    return {
        "accounts": [vars(a) for a in state.accounts.values()],
        "webhooks": [vars(h) for h in state.webhooks.values()],
        "extras": state.extras,
    }


def restore(sim: Simulator, data: dict | None) -> None:
    state = state_for(sim)
    for record in (data or {}).get("accounts", []):
        state.accounts[record["client_id"]] = ApiAccount(**record)
    for record in (data or {}).get("webhooks", []):
        state.webhooks[record["id"]] = Webhook(**record)
    state.extras.update((data or {}).get("extras", {}))


# ----- HTTP ------------------------------------------------------------------------------------------------------


def handles(path: str) -> bool:
    return path == TOKEN_PATH or path.startswith(API_PREFIX)


def answer(
    sim: Simulator, method: str, path: str, query: dict, body: bytes, headers: Any, base: str
) -> tuple[int, dict, bytes, str]:
    """(status, headers, body, content type) for a Business API request, faults and the request log included."""
    fault = sim.take_fault(path, method)
    if fault and fault.delay_s:
        time.sleep(fault.delay_s)
    if fault and fault.status:
        error = ApiError(fault.status, fault.body or f"HTTP_{fault.status}", oauth=path == TOKEN_PATH)
        reply = _error_reply(error, retry_after=fault.retry_after)
    else:
        with sim.lock:
            state = state_for(sim)
            try:
                reply = _route(state, method, path, query, body, headers, base)
            except ApiError as exc:
                reply = _error_reply(exc)
    sim.log_request(
        method=method,
        path=path,
        status=reply[0],
        error=None,
        user_agent=headers.get("User-Agent"),
        protocol_version=None,
    )
    return reply


def _error_reply(error: ApiError, retry_after: Any = None) -> tuple[int, dict, bytes, str]:
    extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return error.status, extra, json.dumps(error.body()).encode(), "application/json"


def _json(payload: Any, status: int = 200) -> tuple[int, dict, bytes, str]:
    return status, {}, json.dumps(payload).encode(), "application/json"


def _route(state: BusinessState, method: str, path: str, query: dict, body: bytes, headers: Any, base: str):
    if path == TOKEN_PATH:
        if method != "POST":
            raise ApiError(405, "invalid_request", "Use POST.", oauth=True)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        return _json(state.issue_token(form))
    state.check_bearer(headers.get("Authorization"))
    parts = path.removeprefix(API_PREFIX).split("/")
    if method == "GET" and parts == ["orgDevices"]:
        serials = sorted(state.sim.devices)
        return _json(_page(base, "/v1/orgDevices", serials, query, state.org_device))
    if method == "GET" and len(parts) == 3 and parts[0] == "orgDevices" and parts[2] == "appleCareCoverage":
        coverages = state.apple_care(parts[1])
        return _json(_page(base, path, [c["id"] for c in coverages], query, {c["id"]: c for c in coverages}.get))
    if method == "GET" and len(parts) == 2 and parts[0] == "orgDevices":
        return _json({"data": state.org_device(parts[1]), "links": {"self": f"{base}{path}"}})
    if method == "GET" and parts == ["mdmServers"]:
        servers = sorted(state.sim.servers.values(), key=lambda s: s.created_ts)
        ids = [business_server_id(s.uuid) for s in servers]
        by_id = {business_server_id(s.uuid): s for s in servers}
        return _json(_page(base, "/v1/mdmServers", ids, query, lambda i: state.mdm_server(by_id[i])))
    if method == "GET" and len(parts) == 4 and parts[0] == "mdmServers" and parts[2:] == ["relationships", "devices"]:
        server = state.server_for_id(parts[1])
        if server is None:
            raise ApiError(404, "NOT_FOUND", f"There is no resource of type 'mdmServers' with id '{parts[1]}'")
        serials = sorted(s for s, d in state.sim.devices.items() if d.server_uuid == server.uuid)
        return _json(_page(base, path, serials, query, lambda s: {"type": "orgDevices", "id": s}))
    if method == "POST" and parts == ["orgDeviceActivities"]:
        activity = state.create_activity(_parse_body(body))
        return _json({"data": state.activity_resource(activity, base), "links": {"self": f"{base}{path}"}}, 201)
    if method == "GET" and len(parts) == 2 and parts[0] == "orgDeviceActivities":
        activity = state.poll_activity(parts[1])
        return _json({"data": state.activity_resource(activity, base), "links": {"self": f"{base}{path}"}})
    if method == "GET" and len(parts) == 2 and parts[0] == "_activityLogs":
        return 200, {}, state.activity_log_csv(parts[1].removesuffix(".csv")), "text/csv"
    if method == "POST" and parts == ["webhooks"]:
        hook = state.create_webhook(_parse_body(body))
        attributes = {"name": hook.name, "enabled": hook.enabled, "eventTypes": hook.event_types, "url": hook.url}
        return _json({"data": {"type": "webhooks", "id": hook.id, "attributes": attributes}}, 201)
    raise ApiError(404, "NOT_FOUND", f"No resource at {path}.")


def _parse_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise ApiError(400, "PARAMETER_ERROR.INVALID", "The body is not JSON.") from None


def _page(base: str, path: str, ids: list[str], query: dict, render) -> dict:
    raw_limit = (query.get("limit") or [str(PAGE_DEFAULT)])[0]
    try:
        limit = int(raw_limit)
    except ValueError:
        raise ApiError(400, "PARAMETER_ERROR.INVALID", "limit must be an integer.") from None
    if not 1 <= limit <= PAGE_MAX:
        raise ApiError(400, "PARAMETER_ERROR.INVALID", f"limit must be between 1 and {PAGE_MAX}.")
    cursor = (query.get("cursor") or [""])[0]
    start = 0
    if cursor:
        try:
            start = int(_unb64(cursor).decode().removeprefix("after:"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "PARAMETER_ERROR.INVALID", "Unknown cursor.") from None
    chunk = ids[start : start + limit]
    document: dict[str, Any] = {
        "data": [render(i) for i in chunk],
        "links": {"self": f"{base}{path}"},
        "meta": {"paging": {"limit": limit, "total": len(ids)}},
    }
    if start + limit < len(ids):
        next_cursor = base64.urlsafe_b64encode(f"after:{start + limit}".encode()).decode().rstrip("=")
        document["meta"]["paging"]["nextCursor"] = next_cursor
        document["links"]["next"] = f"{base}{path}?cursor={next_cursor}&limit={limit}"
    return document


# ----- control API -----------------------------------------------------------------------------------------------


def _add_fault(sim: Simulator, endpoint: str, status: int, **options: Any) -> None:
    """A scripted answer for a Business API path (the DEP fault table, which only knows DEP paths)."""
    if not handles(endpoint):
        raise ControlError(f"{endpoint!r} is not a Business API path.")
    with sim.lock:
        sim.faults.append(Fault(endpoint=endpoint, status=int(status), **options))


def _locked(fn):
    def call(sim: Simulator, **kwargs):
        with sim.lock:
            return fn(state_for(sim), **kwargs)

    return call


OPERATIONS = {
    "business_add_fault": _add_fault,
    "business_create_account": _locked(lambda st, **kw: st.create_account(**kw)),
    "business_revoke_account": _locked(lambda st, client_id: st.revoke_account(client_id)),
    "business_expire_tokens": _locked(lambda st: st.expire_tokens()),
    "business_set_order": _locked(lambda st, serials, order_number, **kw: st.set_order(serials, order_number, **kw)),
    "business_fail_serials": _locked(
        lambda st, serials: st.failing_serials.update(normalise_serial(s) for s in serials)
    ),
    "business_set_activity_delay": _locked(lambda st, seconds: setattr(st, "activity_delay", float(seconds))),
    "business_webhooks": _locked(
        lambda st: [{"id": h.id, "url": h.url, "event_types": h.event_types} for h in st.webhooks.values()]
    ),
    "business_deliveries": _locked(lambda st: list(st.deliveries)),
    "business_notify": _locked(
        lambda st, serial, event_type=EVENT_ATTRIBUTE_CHANGED: st.notify(
            event_type,
            normalise_serial(serial),
            st.sim.devices[normalise_serial(serial)].server_uuid
            if normalise_serial(serial) in st.sim.devices
            else None,
        )
    ),
    "business_accounts": _locked(lambda st: [account_summary(a) for a in st.accounts.values()]),
}
