"""The RFC 9207 ``iss`` parameter on every authorization response, success and error (P9)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest
from oauth2_provider.settings import oauth2_settings


def authorization_response_issuer(request: HttpRequest) -> str:
    """The issuer as discovery publishes it (RFC 9207 2: ``iss`` MUST equal the metadata ``issuer``)."""
    return oauth2_settings.oidc_issuer(request)


def with_issuer(redirect_uri: str, issuer: str) -> str:
    """``redirect_uri`` with exactly one ``iss`` in its query (RFC 9207 2).

    provider_app answers with ``response_mode=query`` only, so the parameters live in the query.
    Registered redirect URIs never have a fragment (RFC 6749 3.1.2), so a fragment here holds
    parameters oauthlib put there for an implicit-style ``response_type`` (an error, as only
    ``code`` is accepted): they are moved to the query. Any ``iss`` already present (e.g. from the
    registered URI) is replaced so that it is unambiguous.
    """
    parts = urlsplit(redirect_uri)
    parameters = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
        parts.fragment, keep_blank_values=True
    )
    query = [(k, v) for k, v in parameters if k != "iss"]
    query.append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
