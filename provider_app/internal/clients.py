"""Clients: their secrets, their redirect URIs, finding them and authenticating them.

Every rule about a client lives here: secrets generated strong and refused when weak (P16), the
redirect-URI rules beyond DOT's (RFC 9700 2.1, 2.6; RFC 8252 7.3), the checks every save of a client
passes, client authentication at the introspection and revocation endpoints, and the client lookup
that the token endpoint serves from the shared cache.

Client secrets: generated with at least 256 bits of entropy; weak ones typed by hand refused.

Rules for redirect URIs beyond DOT's exact matching (RFC 9700 2.1, 2.6; RFC 8252 7.3).

Signal receivers: every path that saves a client (admin, createapplication, code) is checked.

Authenticating the calling client at the introspection and revocation endpoints (RFC 9700 2.5).

Client lookups at the token, introspection and revocation endpoints, from the shared cache.

Every token request authenticates its client, which DOT loads from the database by ``client_id``.
:func:`load_application` keeps the row in the same shared cache as the bearer tokens
(:func:`provider_app.internal.token_cache.token_cache`), with the same rules
(:mod:`provider_app.internal.shared_cache`):
only a cache that every worker shares, entries written only under a permit taken before the database
read, deleted when the client is saved or deleted (a rotated secret or a disabled client takes effect
at once everywhere), and, if the cache cannot be written then, no cache used by any process until
the deletion has been applied (:mod:`provider_app.internal.cache_outbox`).
A client whose secret is not hashed is never cached (P16), nor one resolved through a Client ID
Metadata Document (DOT re-fetches those when stale). With Redis, each process also keeps the clients
it loaded (:mod:`provider_app.internal.local_cache`), dropped by the message every invalidation publishes.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import zlib
from collections import Counter
from urllib.parse import urlsplit

from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db import models, router
from django.http import HttpRequest
from oauth2_provider.generators import BaseHashGenerator
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request as OauthlibRequest

from provider_app.app_settings import app_settings
from provider_app.internal import compat, storage, token_cache
from provider_app.internal.tokens import digest

# --------------------------------------------------------------------------------------------------
# Client secrets: generated with at least 256 bits of entropy; weak ones typed by hand refused.
# --------------------------------------------------------------------------------------------------

# token_urlsafe(48) gives 64 characters of base64url: 384 bits of entropy.
GENERATED_SECRET_BYTES = 48
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128


class ClientSecretGenerator(BaseHashGenerator):
    """DOT's ``CLIENT_SECRET_GENERATOR_CLASS``: a URL-safe secret from the OS's CSPRNG."""

    def hash(self) -> str:
        return generate_client_secret()


def generate_client_secret() -> str:
    """A new client secret: 48 random bytes from the OS's CSPRNG, base64url (64 characters)."""
    return secrets.token_urlsafe(GENERATED_SECRET_BYTES)


def estimated_entropy_bits(secret: str) -> float:
    """Shannon estimate of the secret's entropy: its length times the entropy per character."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return per_char * len(secret)


# Random secrets do not shrink under LZ77 (fixed Huffman codes, so a small alphabet gains nothing);
# "0123456789" * 4 or "password123" * 3 shrink to under half.
MIN_INCOMPRESSIBILITY = 0.8


def incompressibility(secret: str) -> float:
    """Deflate size over input size with fixed Huffman codes: only repeated substrings shrink it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
    data = secret.encode()
    return len(compressor.compress(data) + compressor.flush()) / max(len(data), 1)


def validate_client_secret_strength(secret: str) -> None:
    """Refuse secrets a person may have typed: too short or too repetitive to be random."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            "A client secret must have at least %(min)d characters; leave it empty to generate one.",
            params={"min": MIN_SECRET_LENGTH},
            code="client_secret_too_short",
        )
    if estimated_entropy_bits(secret) < MIN_SECRET_BITS or incompressibility(secret) < MIN_INCOMPRESSIBILITY:
        raise ValidationError(
            "This client secret is not random enough; leave it empty to generate one.",
            code="client_secret_weak",
        )


# --------------------------------------------------------------------------------------------------
# Rules for redirect URIs beyond DOT's exact matching (RFC 9700 2.1, 2.6; RFC 8252 7.3).
# --------------------------------------------------------------------------------------------------

LOOPBACK_HOSTNAMES = {"localhost"}
# RFC 8252 7.3: only loopback IP literals may vary the port ("localhost" is NOT RECOMMENDED, 8.3).
LOOPBACK_IPS = {"127.0.0.1", "::1"}


def is_loopback_host(hostname: str | None) -> bool:
    """``localhost`` or a loopback IP literal: hosts where plain http never leaves the machine."""
    if not hostname:
        return False
    if hostname.lower() in LOOPBACK_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def is_redirect_uri_transport_allowed(uri: str) -> bool:
    """RFC 9700 2.6: plain ``http`` is only acceptable for loopback redirect URIs."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme == "http":
        return is_loopback_host(hostname)
    # Private-use schemes of native apps (RFC 8252 7.1) have no host to eavesdrop on.
    return bool(parts.scheme) and parts.scheme not in {"javascript", "data", "file", "vbscript"}


def is_backchannel_logout_uri_allowed(uri: str) -> bool:
    """Where the provider POSTs (OIDC BCL 2.2 back-channel logout URIs, RFC 8935 events URIs): an
    absolute URL without fragment; https, or http on a loopback host when
    ``PROVIDER_APP_DELIVERY_ALLOW_LOOPBACK`` (default: ``DEBUG`` only)."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return False
    if not hostname or parts.fragment or "#" in uri:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(hostname) and app_settings.DELIVERY_ALLOW_LOOPBACK


def _without_loopback_port(uri: str) -> str | None:
    """``uri`` with the port of its loopback IP host removed, or ``None`` if it is no loopback URI."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme != "http" or hostname not in LOOPBACK_IPS or "@" in parts.netloc:
        return None
    prefix = f"{parts.scheme}://{parts.netloc}"
    if not uri.startswith(prefix):
        return None
    host = parts.netloc.rsplit(":", 1)[0] if parts.netloc.rsplit(":", 1)[-1].isdigit() else parts.netloc
    return f"http://{host}{uri[len(prefix) :]}"


def is_registered_redirect_uri(uri: str, registered_uris: list[str]) -> bool:
    """Simple string comparison with a registered URI (OIDC Core 3.1.2.1, RFC 9700 2.1).

    The one exception is RFC 8252 7.3: a native app's loopback IP redirect URI (``http://127.0.0.1``
    or ``http://[::1]``) may carry any port, everything else still compared character by character.
    """
    if uri in registered_uris:
        return True
    requested = _without_loopback_port(uri)
    if requested is None:
        return False
    return any(requested == _without_loopback_port(registered) for registered in registered_uris)


# --------------------------------------------------------------------------------------------------
# Signal receivers: every path that saves a client (admin, createapplication, code) is checked.
# --------------------------------------------------------------------------------------------------


def is_hashed(secret: str) -> bool:
    try:
        identify_hasher(secret)
    except ValueError:
        return False
    return True


def enforce_client_rules(sender, instance, **kwargs) -> None:
    """Secrets are always hashed at rest (P16) and strong; http redirect URIs only on loopback (P13)."""
    instance.hash_client_secret = True
    if not instance.client_secret:
        instance.client_secret = generate_client_secret()
    elif not is_hashed(instance.client_secret):
        validate_client_secret_strength(instance.client_secret)
    bad = [uri for uri in instance.redirect_uris.split() if not is_redirect_uri_transport_allowed(uri)]
    if bad:
        raise ValidationError(f"http redirect URIs are only allowed for loopback hosts: {', '.join(bad)}")
    if not instance.algorithm:
        instance.algorithm = instance.RS256_ALGORITHM
    if instance.algorithm != instance.RS256_ALGORITHM:
        raise ValidationError("provider_app signs ID tokens with RS256 only.")


def validate_client_secret_field(secret: str) -> None:
    """Field validator: a secret typed by hand must be strong; stored hashes are left alone."""
    if secret and not is_hashed(secret):
        validate_client_secret_strength(secret)


def install_client_secret_validator(application_model) -> None:
    """Make ``full_clean()`` report a weak secret on its field, so DOT's ``createapplication``
    and model forms print a clear message instead of failing later in ``save()``."""
    compat.add_field_validator(
        application_model._meta.get_field("client_secret"), validate_client_secret_field
    )


# --------------------------------------------------------------------------------------------------
# Authenticating the calling client at the introspection and revocation endpoints (RFC 9700 2.5).
# --------------------------------------------------------------------------------------------------


def authenticated_client(request: HttpRequest):
    """The application whose credentials (Basic or POST body) this request carries, or ``None``."""
    core = get_oauthlib_core()
    uri, http_method, body, headers = compat.extract_params(core, request)
    oauth_request = OauthlibRequest(uri, http_method, body, headers)
    if not core.server.request_validator.authenticate_client(oauth_request):
        return None
    return oauth_request.client


def bearer_application(request: HttpRequest, scope: str):
    """The application of a valid bearer token that carries ``scope``, or ``None``."""
    if not request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer "):
        return None
    core = get_oauthlib_core()
    valid, oauth_request = core.verify_request(request, scopes=[scope])
    if not valid:
        return None
    return oauth_request.access_token.application


# --------------------------------------------------------------------------------------------------
# Client lookups at the token, introspection and revocation endpoints, from the shared cache.
# --------------------------------------------------------------------------------------------------

logger = logging.getLogger(__name__)

KEY_PREFIX = "provider_app:client:"


def _key(client_id: str) -> str:
    return KEY_PREFIX + digest(client_id)


def is_possible_client_id(client_id) -> bool:
    """False for a value that cannot be a client_id: a NUL byte (PostgreSQL refuses it in text with a
    DataError, which DOT does not catch with psycopg 3). Every client lookup by request input asks."""
    return not (client_id and "\x00" in str(client_id))


def find_client(client_id: str | None, *related: str):
    """The application with this client_id (with ``related`` selected), or None."""
    if not client_id or not is_possible_client_id(client_id):
        return None
    applications = get_application_model().objects
    return (
        (applications.select_related(*related) if related else applications)
        .filter(client_id=client_id)
        .first()
    )


#: Clients by the digest of their client_id, in the token cache and the local copies (P15).
CLIENTS = token_cache.CachedRows(KEY_PREFIX, local_prefix=KEY_PREFIX)


def load_application(client_id, request, load_from_database):
    """The validator's client lookup: from the caches when they may be served, else
    ``load_from_database`` (DOT's ``_load_application``), whose row is then cached."""
    if token_cache.process_state.get("alias", "") is None:
        return load_from_database(client_id, request)  # no token cache: the layer is not entered
    cache = token_cache.readable_cache()
    if cache is None or not client_id or getattr(request, "client", None) is not None:
        return load_from_database(client_id, request)
    found = CLIENTS.lookup(cache, digest(client_id))
    application = _application(found.entry) if found.entry is not None else None
    if application is not None and application.is_usable(request):
        request.client = application
        return application
    application = load_from_database(client_id, request)
    if application is not None:
        _remember(cache, found, application)
    return application


def _application(values: dict) -> models.Model:
    templates = values.get(token_cache.TEMPLATES)
    if templates is None:  # built once per entry, copied for each request
        Application = get_application_model()
        application = storage.instance(Application, router.db_for_read(Application), values)
        templates = values[token_cache.TEMPLATES] = (application,)
    return token_cache.copy_instance(templates[0])


def _remember(cache, found: token_cache.Lookup, application: models.Model) -> None:
    if found.permit is None or getattr(application, "cimd_url", None):
        return
    try:
        identify_hasher(application.client_secret)
    except ValueError:
        return  # never a plain-text secret in the cache
    values = {f.attname: getattr(application, f.attname) for f in application._meta.concrete_fields}
    # Only the shared cache: a process keeps its copy once the shared cache has served the entry.
    CLIENTS.remember(
        cache, found, digest(application.client_id), values, token_cache.entry_ttl(), locally=False
    )


def invalidate_client(client_id: str) -> None:
    """Delete a client's entry (and every process's copy) now and when the transaction commits."""
    CLIENTS.invalidate([digest(client_id)] if client_id else [])


def client_changed(sender, instance, created: bool = False, **kwargs) -> None:
    # A new client_id has no entry yet (a deleted namesake's went with it).
    if not created:
        invalidate_client(instance.client_id)


def client_will_change(sender, instance, raw: bool = False, **kwargs) -> None:
    # A client_id edited in place: the old one must stop resolving too.
    if instance.pk is None or token_cache.token_cache() is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).values_list("client_id", flat=True).first()
    if old and old != instance.client_id:
        invalidate_client(old)
