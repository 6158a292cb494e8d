"""P25: admin actions that change data need the change (or delete) permission; view-only staff can
open the lists but change nothing (the token-revoking actions were offered to them)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from tests.factories import ApplicationFactory, UserFactory
from tests.oauth_helpers import (
    api_me,
    issue_tokens,
    verified_client,
)

pytestmark = pytest.mark.django_db

CASES = [
    # (changelist URL, action, model codename)
    ("/admin/oauth2_provider/application/", "revoke_all_tokens", "application"),
    ("/admin/oauth2_provider/accesstoken/", "revoke_tokens", "accesstoken"),
    ("/admin/oauth2_provider/refreshtoken/", "revoke_tokens", "refreshtoken"),
]


@pytest.fixture
def issued(client):
    user, application = UserFactory(), ApplicationFactory()
    return application, issue_tokens(client, user, application, logout=True)


def _staff(*codenames: str):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return verified_client(staff)


def _selected(codename: str, application) -> str:
    if codename == "application":
        return str(application.pk)
    model = get_access_token_model() if codename == "accesstoken" else get_refresh_token_model()
    return str(model.objects.get(application=application).pk)


def _offered(page) -> list[str]:
    form = page.context["action_form"]  # None when no action is offered at all
    return [] if form is None else [name for name, _label in form.fields["action"].choices]


def _works(client, tokens) -> bool:
    return api_me(client, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize(("url", "action", "codename"), CASES)
def test_p25_view_only_staff_are_not_offered_the_action_and_cannot_run_it(
    client, issued, url, action, codename
):
    application, tokens = issued
    staff = _staff(f"view_{codename}")
    page = staff.get(url)
    assert page.status_code == 200
    assert action not in _offered(page)
    staff.post(url, {"action": action, "_selected_action": [_selected(codename, application)]})
    assert _works(client, tokens)


@pytest.mark.parametrize(("url", "action", "codename"), CASES)
def test_p25_staff_with_the_change_permission_can_revoke(client, issued, url, action, codename):
    application, tokens = issued
    staff = _staff(f"view_{codename}", f"change_{codename}")
    assert action in _offered(staff.get(url))
    response = staff.post(url, {"action": action, "_selected_action": [_selected(codename, application)]})
    assert response.status_code == 302
    assert not _works(client, tokens)
