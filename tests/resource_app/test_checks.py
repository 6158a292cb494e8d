"""resource_app's system checks: a service cannot start half-configured."""

from __future__ import annotations

from resource_app.checks import check_settings


def _ids(settings_changes, settings) -> list[str]:
    for name, value in settings_changes.items():
        setattr(settings, name, value)
    return [message.id for message in check_settings()]


def test_the_test_settings_pass(settings):
    assert check_settings() == []


def test_r6_only_asymmetric_algorithms_may_be_allowed(settings):
    assert _ids({"RESOURCE_APP_ALGORITHMS": ["RS256", "HS256"]}, settings) == ["resource_app.E004"]
    assert _ids({"RESOURCE_APP_ALGORITHMS": ["none"]}, settings) == ["resource_app.E004"]


def test_the_issuer_must_be_https(settings):
    assert _ids({"RESOURCE_APP_ISSUER": "http://provider.example.com/o"}, settings) == ["resource_app.E001"]
    assert _ids({"RESOURCE_APP_ISSUER": ""}, settings) == ["resource_app.E001"]


def test_an_audience_and_a_mode_are_needed(settings):
    assert _ids({"RESOURCE_APP_AUDIENCE": ""}, settings) == ["resource_app.E002"]
    settings.RESOURCE_APP_AUDIENCE = "https://notes.example.com/"
    assert _ids({"RESOURCE_APP_MODE": "both"}, settings) == ["resource_app.E003"]
    changes = {"RESOURCE_APP_MODE": "introspection", "RESOURCE_APP_CLIENT_SECRET": ""}
    assert _ids(changes, settings) == ["resource_app.E003"]


def test_e3_the_deny_list_keeps_entries_at_least_as_long_as_tokens_usually_live(settings):
    assert _ids({"RESOURCE_APP_DENY_LIST_SECONDS": 600}, settings) == ["resource_app.W001"]
    assert _ids({"RESOURCE_APP_DENY_LIST_SECONDS": 3600}, settings) == []
    assert _ids({"RESOURCE_APP_DENY_LIST_SYNC_SECONDS": 0}, settings) == ["resource_app.E005"]
