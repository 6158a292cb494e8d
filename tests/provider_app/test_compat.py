"""provider_app.internal.compat: each private API of Django, redis-py and DOT it wraps still has the
shape the shim needs, and the moved public paths keep working for one release, with a warning."""

from __future__ import annotations

import hashlib
import importlib
import warnings

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test import RequestFactory
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.oauth2_validators import OAuth2Validator

from provider_app import conf
from provider_app.internal import compat
from tests.stages import require_postgresql


def test_receiver_keys_lists_dispatch_uids_for_the_sender_and_for_every_sender():
    Application = get_application_model()

    def receiver(**kwargs):
        pass

    post_save.connect(receiver, sender=Application, dispatch_uid="compat-test-one")
    post_save.connect(receiver, dispatch_uid="compat-test-all")
    try:
        keys = compat.receiver_keys(post_save, Application)
        assert "compat-test-one" in keys and "compat-test-all" in keys
        assert "compat-test-one" not in compat.receiver_keys(post_save, object)
    finally:
        post_save.disconnect(sender=Application, dispatch_uid="compat-test-one")
        post_save.disconnect(dispatch_uid="compat-test-all")


@pytest.mark.django_db(transaction=True)
def test_transaction_is_untouched_sees_a_statement_and_an_on_commit_hook():
    require_postgresql()  # connection.connection.info is libpq's
    with transaction.atomic():
        connection.ensure_connection()
        assert compat.transaction_is_untouched(connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert not compat.transaction_is_untouched(connection)
    with transaction.atomic():
        transaction.on_commit(lambda: None)
        assert not compat.transaction_is_untouched(connection)


def test_fresh_model_state_is_saved_on_the_given_database():
    state = compat.fresh_model_state("default")
    assert state.adding is False and state.db == "default"


def test_add_field_validator_adds_once_without_changing_the_migration_state():
    field = get_application_model()._meta.get_field("name")
    before = field.deconstruct()

    def validator(value):
        pass

    compat.add_field_validator(field, validator)
    compat.add_field_validator(field, validator)
    try:
        assert field.validators.count(validator) == 1
        assert field.deconstruct() == before
    finally:
        field.__dict__["validators"] = [v for v in field.validators if v is not validator]


def test_registered_admin_finds_a_model_admin():
    Application = get_application_model()
    assert compat.registered_admin(admin.site, Application).model is Application


def test_redis_shims_on_a_real_redis(tmp_path):
    from django.core.cache.backends.redis import RedisCache

    from tests.provider_app.redis_server import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    redis_url = server.url
    cache = RedisCache(redis_url, {})
    client = compat.redis_client(cache)
    assert client.ping()
    assert compat.redis_servers(cache) == (redis_url,)
    pubsub = client.pubsub()
    pubsub.subscribe("provider_app:compat-test")
    try:
        assert compat.pubsub_fileno(pubsub) >= 0
    finally:
        pubsub.close()
        server.crash()


def test_the_token_checksum_field_hashes_the_pending_raw_token_and_is_wrapped_once():
    from oauth2_provider.models import get_access_token_model

    field = get_access_token_model()._meta.get_field("token_checksum")
    assert getattr(field.pre_save, "provider_app_wrapped", False)  # installed by ready()
    wrapped = field.pre_save
    compat.wrap_token_checksum_pre_save(field, lambda pre_save: pytest.fail("wrapped twice"))
    assert field.pre_save is wrapped
    # DOT's field hashes the attribute compat names, and clears it (what the wrapper relies on).
    token = get_access_token_model()(token="")
    setattr(token, compat.RAW_TOKEN_ATTRIBUTE, "raw-value")
    assert field.pre_save(token, add=True) == hashlib.sha256(b"raw-value").hexdigest()
    assert getattr(token, compat.RAW_TOKEN_ATTRIBUTE) is None
    with pytest.raises(compat.IncompatibleDependency):
        compat.wrap_token_checksum_pre_save(get_access_token_model()._meta.get_field("scope"), lambda f: f)


def test_extract_params_gives_what_oauthlib_reads():
    request = RequestFactory().post("/o/token/", {"grant_type": "client_credentials"})
    uri, method, body, headers = compat.extract_params(get_oauthlib_core(), request)
    assert uri.endswith("/o/token/") and method == "POST" and "grant_type=client_credentials" in body
    assert isinstance(headers, dict)


def test_settings_scopes_are_dots_scopes(settings):
    assert set(compat.settings_scopes()) == set(settings.OAUTH2_PROVIDER["SCOPES"])


def test_every_dot_validator_hook_exists():
    for hook in compat.VALIDATOR_HOOKS:
        assert callable(getattr(OAuth2Validator, hook))


def test_a_missing_private_shape_fails_loudly():
    with pytest.raises(compat.IncompatibleDependency, match="needs the thing"):
        compat._require(False, "the thing")


# -- moved public paths (CHANGELOG, Deprecated) ------------------------------------------------------

MOVED = [
    ("provider_app.claims", "user_claims", "provider_app.oauth2_validator"),
    ("provider_app.client_secrets", "ClientSecretGenerator", "provider_app.internal.clients"),
    ("provider_app.client_secrets", "generate_client_secret", "provider_app.internal.clients"),
    ("provider_app.resource_servers", "generate_access_token", "provider_app.internal.resources"),
    ("provider_app.scopes", "ResourceServerScopes", "provider_app.internal.resources"),
    ("provider_app.token_generator", "generate_token", "provider_app.internal.tokens"),
    ("provider_app.token_cache", "invalidate_checksums", "provider_app.internal.token_cache"),
    ("provider_app.token_local_cache", "flush_all", "provider_app.internal.token_cache"),
    ("provider_app.row_batch", "RowBatch", "provider_app.internal.storage"),
    ("provider_app.two_factor.claims", "code_digest", "provider_app.internal.tokens:digest"),
    ("provider_app.two_factor.requirements", "requirement_for", "provider_app.internal.login_requirements"),
    (
        "provider_app.two_factor.authorization",
        "AuthenticationRequirementMixin",
        "provider_app.views.authorize",
    ),
    ("provider_app.two_factor.session", "SessionAuthentication", "provider_app.internal.login"),
    ("provider_app.two_factor.models", "AuthenticationContext", "provider_app.models"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_a_moved_path_still_works_with_a_deprecation_warning(old, name, new):
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved"):
        found = getattr(importlib.import_module(old), name)
    new_module, _, new_name = new.partition(":")
    assert found is getattr(importlib.import_module(new_module), new_name or name)


def test_the_recommended_settings_name_no_deprecated_path():
    from django.utils.module_loading import import_string

    dotted = [
        value
        for value in conf.recommended_oauth2_provider_settings().values()
        if isinstance(value, str) and value.startswith("provider_app.")
    ]
    assert dotted
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for path in dotted:
            import_string(path)
