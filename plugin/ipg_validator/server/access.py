"""Optional access control: bearer tokens (API keys) on the FHIR endpoints, and the CORS allow-list.

With any key configured (`IPG_API_KEYS`, `IPG_API_KEYS_FILE`), every request under /fhir needs
`Authorization: Bearer <key>`; a missing or unknown key is a 401 OperationOutcome with
`WWW-Authenticate: Bearer`. Keys are compared in constant time (hmac.compare_digest over SHA-256
digests, so neither content nor length leaks, and every key is compared). Open without a key:
/healthz, /readyz, /metrics (keep /metrics on an internal network) and `GET /fhir/metadata`
(the CapabilityStatement, which clients read before they authenticate, as SMART on FHIR expects).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.errors import FhirError
from .negotiation import error_response

REALM = "ipg-validator"


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class BearerAuth:
    """ASGI middleware requiring a known bearer token on /fhir (but for GET /fhir/metadata)."""

    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self._digests = tuple(_digest(k.encode("utf-8")) for k in keys)

    def known(self, token: bytes) -> bool:
        given = _digest(token)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(digest, given)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._digests or not _protected(scope):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is not None and self.known(token):
            await self.app(scope, receive, send)
            return
        if token is None:
            text, challenge = "This server needs an API key: send it as 'Authorization: Bearer <key>'", f'Bearer realm="{REALM}"'
        else:
            text, challenge = "The API key is not known to this server", f'Bearer realm="{REALM}", error="invalid_token"'
        response = error_response(FhirError.of(401, "login", text), headers={"WWW-Authenticate": challenge})
        await response(scope, receive, send)


def _protected(scope: Scope) -> bool:
    path = scope["path"]
    if path != "/fhir" and not path.startswith("/fhir/"):
        return False
    return not (scope["method"] in ("GET", "HEAD") and path.rstrip("/") == "/fhir/metadata")


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return bytes(token.strip())
            return None
    return None


def cors(app: ASGIApp, origins: Sequence[str]) -> ASGIApp:
    """The CORS allow-list for browsers (the web page): GET and POST with the headers the API uses."""
    return CORSMiddleware(
        app,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-Id"],
        expose_headers=["X-Request-Id", "WWW-Authenticate"],
        max_age=600,
    )
