"""OAuth 1.0a verification of GET /session with oauthlib's server side."""

from __future__ import annotations

from oauthlib.oauth1 import RequestValidator, ResourceEndpoint
from oauthlib.oauth1.rfc5849 import errors as oauth_errors

from depsim.errors import AppleError
from depsim.state import MdmServer, Simulator

_DUMMY = "dummy-never-matches"


class SessionValidator(RequestValidator):
    """Looks OAuth values up in the simulator; Apple's keys are longer than oauthlib's defaults allow."""

    enforce_ssl = False
    allowed_signature_methods = ("HMAC-SHA1",)

    def __init__(self, sim: Simulator) -> None:
        super().__init__()
        self.sim = sim

    @property
    def dummy_client(self) -> str:
        return _DUMMY

    @property
    def dummy_access_token(self) -> str:
        return _DUMMY

    def check_client_key(self, client_key: str) -> bool:
        return 0 < len(client_key) <= 512

    def check_access_token(self, request_token: str) -> bool:
        return 0 < len(request_token) <= 512

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 512

    def validate_timestamp_and_nonce(
        self, client_key, timestamp, nonce, request, request_token=None, access_token=None
    ) -> bool:
        return self.sim.use_nonce(client_key, timestamp, nonce, access_token or "")

    def validate_client_key(self, client_key, request) -> bool:
        request.depsim_server = self.sim.server_by_consumer_key(client_key)
        return request.depsim_server is not None

    def validate_access_token(self, client_key, token, request) -> bool:
        server = getattr(request, "depsim_server", None)
        return server is not None and server.access_token == token

    def validate_realms(self, client_key, token, request, uri=None, realms=None) -> bool:
        # Apple's realm is "ADM" but clients that send none work too: the realm is not signed.
        return True

    def get_client_secret(self, client_key, request) -> str:
        server = getattr(request, "depsim_server", None)
        return server.consumer_secret if server else _DUMMY

    def get_access_token_secret(self, client_key, token, request) -> str:
        server = getattr(request, "depsim_server", None)
        return server.access_secret if server else _DUMMY


def verify_session_request(sim: Simulator, url: str, headers: dict[str, str]) -> MdmServer:
    """The server whose token signed this GET /session, or AppleError 400 (malformed) / 401 (refused)."""
    endpoint = ResourceEndpoint(SessionValidator(sim))
    # Parse and check mandatory parameters first so malformed requests get Apple's 400, not 401.
    try:
        request = endpoint._create_request(url, "GET", None, headers)
        endpoint._check_mandatory_parameters(request)
    except oauth_errors.OAuth1Error as exc:
        raise AppleError(400, "BAD_REQUEST", {"X-Depsim-Detail": exc.description or exc.error}) from None
    valid, request = endpoint.validate_protected_resource_request(url, "GET", None, headers)
    server = getattr(request, "depsim_server", None) if request else None
    if not valid or server is None:
        raise AppleError(401, "UNAUTHORIZED")
    return server
