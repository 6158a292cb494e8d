"""Bearer-token authentication for DRF: the Authorization header only (RFC 9700 4.3.2, RFC 6750 2.1).

The check is DOT's (``OAuth2Validator.validate_bearer_token``) without going through oauthlib for
every API request: the token's SHA-256 is looked up in this process's copy
(:mod:`provider_app.internal.local_cache`, with Redis), then in the shared token cache
(:mod:`provider_app.internal.token_cache`), else in the database with one prepared query that also loads the
user (:mod:`provider_app.internal.storage`).
A revoked token is refused at once on every worker: revocation deletes the shared entry and
publishes the checksum, which every process reads before its next lookup.
"""

from __future__ import annotations

from collections import OrderedDict

from django.db import models
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AbstractApplication, get_application_model
from rest_framework.request import Request

from provider_app.internal import storage, token_cache, tokens

INVALID = "The access token is invalid."
EXPIRED = "The access token expired."
WRONG_AUDIENCE = "The access token is not valid for this resource."


class BearerTokenAuthentication(OAuth2Authentication):
    """DRF authentication by bearer token, refusing tokens sent in the query string or the form body.

    A request that carries ``access_token`` anywhere but the ``Authorization`` header is not
    authenticated, even if it also has a valid header, so a token in a URL never works.
    Returns ``(user, access_token)`` like DOT's class (``user`` is ``None`` for a
    client_credentials token); a token whose user is inactive is refused.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request: Request):
        django_request = request._request
        if "access_token" in django_request.GET or "access_token" in getattr(django_request, "POST", {}):
            return None
        header = django_request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            return None
        access_token, error = validate_bearer_token(header[len("Bearer ") :].strip(), django_request)
        if access_token is None:
            request.oauth2_error = OrderedDict([("error", "invalid_token"), ("error_description", error)])
            return None
        tokens.note_token_use(access_token)  # connected apps: "last used" (one write per 5 min)
        return access_token.user if access_token.user_id else None, access_token


def validate_bearer_token(token: str, request) -> tuple[models.Model | None, str]:
    """The valid access token for ``token`` and ``""``, or ``None`` and why (RFC 6750 3.1)."""
    if not token:
        return None, INVALID
    token_checksum = tokens.digest(token)
    cache = token_cache.readable_cache()  # None: no cache, or one that may not be served from now
    found = token_cache.BEARER_TOKENS.lookup(cache, token_checksum) if cache is not None else token_cache.MISS
    if found.entry is not None:
        if token_cache.is_expired(found.entry):
            return None, EXPIRED
        access_token = token_cache.access_token_from_entry(found.entry)  # fresh instances per request
    else:
        access_token = storage.access_token_by_checksum(token_checksum)
        if access_token is None:
            return None, INVALID
        if access_token.is_expired():
            return None, EXPIRED
        if cache is not None:
            token_cache.remember(cache, found, access_token)
    refusal = _refusal(access_token, request)
    return (None, refusal) if refusal else (access_token, "")


def _refusal(access_token: models.Model, request) -> str:
    # RFC 8707: a token bound to resource indicators is accepted only by those resources.
    if access_token.resource and not access_token.allows_audience(request.build_absolute_uri(request.path)):
        return WRONG_AUDIENCE
    if access_token.user_id and not access_token.user.is_active:
        return INVALID
    # DOT refuses tokens of a client that is no longer usable (a swapped model's is_usable()).
    if access_token.application_id and _application_may_be_unusable():
        if not access_token.application.is_usable(request):
            return INVALID
    return ""


def _application_may_be_unusable() -> bool:
    return get_application_model().is_usable is not AbstractApplication.is_usable
