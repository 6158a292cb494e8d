"""Resource servers: the registry, the scopes they understand, and the RFC 8707 rules that use them.

The token's audience and format (RFC 8707, RFC 9068): DOT's ``ACCESS_TOKEN_GENERATOR`` is
:func:`provider_app.internal.tokens.generate_access_token` (also importable from here, the path
earlier releases documented). The validator resolves the token's
audience first (:meth:`provider_app.oauth2_validator.ProviderOAuth2Validator.resolve_audience`: DOT's
RFC 8707 normalisation and narrowing, the request's ``resource``, else the code's or the refresh
token's), then applies the registry (:class:`~provider_app.models.ResourceServer`):

- every resource must be registered and allow the client, else ``invalid_target`` (RFC 8707 2; R3);
- every scope must be one the resource understands (identity scopes such as ``openid`` excepted),
  else ``invalid_scope``;
- a token for a resource that wants JWTs has exactly one audience (an ambiguous JWT is never issued);
- no ``resource``: the default audience (``PROVIDER_APP_DEFAULT_AUDIENCE``, RFC 9068 3), opaque;
- ``resource`` naming the issuer (or ``PROVIDER_APP_DEFAULT_AUDIENCE``): the default audience too
  (:func:`~provider_app.internal.tokens.default_audiences`), allowed for every client; at
  authorization it may be combined with registered resources, a token is for one or the other (R3);
- a rotated refresh token keeps the grant's resources while its access token gets the narrowed set
  (RFC 8707 2.2: one refresh token obtains access tokens for any of the grant's resources; R4).

A JWT access token (RFC 9068 2, R1) has header ``typ: at+jwt`` and the ID tokens' key (RS256,
``kid`` its thumbprint, published in the JWKS); claims ``iss``, ``exp``, ``aud``, ``sub`` (the
client for client_credentials), ``client_id``, ``iat``, ``jti``, ``scope``, and ``auth_time``,
``acr``, ``amr`` when the authentication is known (R2), ``act`` for an exchanged token (RFC 8693
4.1): :meth:`provider_app.oauth2_validator.ProviderOAuth2Validator.jwt_access_token_claims`. It is
stored like every token: its SHA-256 only (P16); revocation, rotation and family rules apply
unchanged.

DOT's ``SCOPES_BACKEND_CLASS``: the settings' scopes plus those of registered resource servers.

A scope a registered resource server understands (provider_app.models) is available to
the clients that resource allows, and described on the consent page as "<scope> (<resource name>)".
A request asking only for the settings' scopes costs no query. Discovery's ``scopes_supported``
lists the settings' scopes only (RFC 8414 lets it omit some).

Registering resource servers (the admin and ``manage.py provider_app_register_resource``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http.request import split_domain_port, validate_host
from django.urls import reverse
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings

from provider_app.app_settings import app_settings
from provider_app.internal import compat
from provider_app.internal.clients import is_backchannel_logout_uri_allowed, is_loopback_host
from provider_app.internal.tokens import generate_access_token  # noqa: F401  (a documented path)
from provider_app.models import ResourceServer

# --------------------------------------------------------------------------------------------------
# The registry's rules for a token request (called by the validator when a resource is named).
# --------------------------------------------------------------------------------------------------

#: Scopes about the user's identity (OIDC Core 5.4, 11): the provider's, valid with any audience.
IDENTITY_SCOPES = frozenset({"openid", "profile", "email", "address", "phone", "offline_access"})


def registered_servers(identifiers: list[str]) -> dict[str, ResourceServer]:
    """The registered resource servers among ``identifiers``, by identifier (one query)."""
    return {r.identifier: r for r in ResourceServer.objects.filter(identifier__in=identifiers)}


def allows(server: ResourceServer | None, client) -> bool:
    """``server`` is registered and lets ``client`` ask for tokens for it."""
    return server is not None and server.allowed_clients.filter(pk=client.pk).exists()


def foreign_scopes(server: ResourceServer, scopes) -> set[str]:
    """The scopes ``server`` does not understand (identity scopes are the provider's, always valid)."""
    return set(scopes or ()) - server.scope_set() - IDENTITY_SCOPES


# --------------------------------------------------------------------------------------------------
# DOT's ``SCOPES_BACKEND_CLASS``: the settings' scopes plus those of registered resource servers.
# --------------------------------------------------------------------------------------------------


class _SettingsScopes(dict):
    """The settings' scopes; a scope it does not hold (a resource's) is described by its name."""

    def __missing__(self, scope: str) -> str:
        return scope


class ResourceServerScopes(SettingsScopes):
    """``get_all_scopes`` stays the settings' (it is read on hot paths such as UserInfo) and answers a
    resource's scope with its name; the consent page describes those itself (:func:`describe`)."""

    def get_all_scopes(self) -> dict[str, str]:
        return _SettingsScopes(oauth2_settings.SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        available = compat.settings_scopes()
        requested = set(getattr(request, "scopes", None) or ())
        if application is None or requested <= set(available):
            return available
        servers = ResourceServer.objects.filter(allowed_clients=application).only("scopes")
        return available + sorted(
            {scope for server in servers for scope in server.scope_set()} - set(available)
        )


def describe(scopes, resources) -> list[tuple[str, str]]:
    """(scope, plain-words description) for the consent page, resource servers' scopes included."""
    described = dict(oauth2_settings.SCOPES)
    missing = [scope for scope in scopes if scope not in described]
    if missing and resources:
        for server in ResourceServer.objects.filter(identifier__in=resources).only("name", "scopes"):
            for scope in server.scope_set():
                described.setdefault(scope, f"{scope} ({server.name})")
    return [(scope, described.get(scope, scope)) for scope in scopes]


# --------------------------------------------------------------------------------------------------
# Registering resource servers (the admin and ``manage.py provider_app_register_resource``).
# --------------------------------------------------------------------------------------------------


def check_identifier(identifier: str) -> str:
    """RFC 8707 2: an absolute URI without a fragment; https (http only for loopback with DEBUG);
    never the provider's own audience (R3)."""
    parts = urlsplit(identifier)
    if not parts.scheme or not parts.netloc or parts.fragment or "#" in identifier:
        raise ValueError("A resource identifier is an absolute URI without a fragment (RFC 8707 2).")
    loopback = is_loopback_host(parts.hostname)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and settings.DEBUG):
        raise ValueError("A resource identifier must be an https URI.")
    if _names_the_default_audience(identifier):
        raise ValueError(
            "This identifier names the provider's own audience (the issuer or"
            " PROVIDER_APP_DEFAULT_AUDIENCE): its tokens need no resource server, and one registered"
            " under that name would not be applied."
        )
    return identifier


def _names_the_default_audience(identifier: str) -> bool:
    """``identifier`` is, for some request, one of ``default_audiences``: ``resource`` naming it would ask
    for the default audience, never for the resource server registered under it. Without
    ``OIDC_ISS_ENDPOINT`` the issuer is each request's own (provider_app.W001): the issuer's path on any
    host the site answers for (``ALLOWED_HOSTS``, as ``HttpRequest.get_host`` checks them)."""
    name = identifier.rstrip("/")
    if app_settings.DEFAULT_AUDIENCE and name == app_settings.DEFAULT_AUDIENCE.rstrip("/"):
        return True
    if oauth2_settings.OIDC_ISS_ENDPOINT:
        return name == oauth2_settings.OIDC_ISS_ENDPOINT.rstrip("/")
    discovery = reverse("oauth2_provider:oidc-connect-discovery-info")
    issuer_path = discovery[: -len("/.well-known/openid-configuration")]
    parts = urlsplit(identifier)
    if name != f"{parts.scheme}://{parts.netloc}{issuer_path}".rstrip("/"):
        return False
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # as HttpRequest.get_host
    domain, _port = split_domain_port(parts.netloc)
    return bool(domain) and validate_host(domain, allowed_hosts)


def check_events_uri(uri: str) -> str:
    """Where revocation events go (E1): empty, or https (http only on loopback), as a back-channel
    logout URI (RFC 8935 2: the push endpoint is an https URL)."""
    if uri and not is_backchannel_logout_uri_allowed(uri):
        raise ValueError("An events URI is an absolute https URL without fragment (http only on loopback).")
    return uri


@transaction.atomic
def register(
    *,
    identifier: str,
    name: str,
    scopes: str,
    token_format: str = ResourceServer.OPAQUE,
    access_token_lifetime: int | None = None,
    allowed_client_ids: list[str] = (),
    client_id: str | None = None,
    events_uri: str | None = None,
) -> tuple[ResourceServer, bool]:
    """Create or update the resource server ``identifier``; returns it and whether it was created.
    ``events_uri`` ``None`` keeps the registered one."""
    check_identifier(identifier)
    if events_uri is not None:
        check_events_uri(events_uri)
    if token_format not in dict(ResourceServer.TOKEN_FORMATS):
        raise ValueError(f"The token format is one of {sorted(dict(ResourceServer.TOKEN_FORMATS))}.")
    Application = get_application_model()
    clients = list(Application.objects.filter(client_id__in=allowed_client_ids))
    missing = set(allowed_client_ids) - {c.client_id for c in clients}
    if missing:
        raise ValueError(f"No client with the client_id {sorted(missing)[0]!r}.")
    own_client = Application.objects.filter(client_id=client_id).first() if client_id else None
    if client_id and own_client is None:
        raise ValueError(f"No client with the client_id {client_id!r}.")
    server, created = ResourceServer.objects.update_or_create(
        identifier=identifier,
        defaults={
            "name": name,
            "scopes": " ".join(sorted(set(scopes.split()))),
            "token_format": token_format,
            "access_token_lifetime": access_token_lifetime,
            **({"client": own_client} if client_id else {}),
            **({"events_uri": events_uri} if events_uri is not None else {}),
        },
    )
    if allowed_client_ids:
        server.allowed_clients.add(*clients)
    return server, created
