"""C1 (state), C2 (PKCE), C3 (nonce): fresh, server-side, bound to the browser, single use."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from client_app.models import PendingLogin, SocialAccount
from tests.client_app.conftest import Flow, error_code

pytestmark = pytest.mark.django_db


def test_c1_state_is_random_and_stored_only_as_hash(flow):
    first, second = flow.start(), flow.start()
    assert first["state"] != second["state"]
    assert len(first["state"]) >= 43  # 32 random bytes
    stored = set(PendingLogin.objects.values_list("state_hash", flat=True))
    assert first["state"] not in stored
    assert hashlib.sha256(first["state"].encode()).hexdigest() in stored


def test_c1_state_is_single_use(flow):
    params = flow.start()
    assert flow.callback(params).status_code == 302
    # The same browser, still holding the session that started the login, replays the callback:
    # only the single-use deletion can refuse it.
    replay = flow.callback(params)
    assert replay.status_code == 400
    assert error_code(replay) == "invalid_state"
    assert len(flow.fake.token_requests) == 1  # the replay never reached the token endpoint


def test_c1_state_from_another_browser_is_refused(flow, provider, fake_provider):
    params = flow.start()  # the victim's (or attacker's) login, in one browser
    other_browser = Flow(Client(), provider, fake_provider)
    other_browser.start()  # a browser with a login of its own: it has a session binding too
    response = other_browser.callback(params)
    assert response.status_code == 400
    assert error_code(response) == "invalid_state"
    assert fake_provider.token_requests == []
    assert SocialAccount.objects.count() == 0


def test_c1_unknown_or_missing_state_is_refused(flow):
    flow.start()
    assert error_code(flow.callback({"state": "forged"})) == "invalid_state"
    response = flow.client.get(f"/client/{flow.provider.slug}/callback/", {"code": "c"})
    assert response.status_code == 400 and error_code(response) == "invalid_state"


def test_c1_state_expires(flow):
    params = flow.start()
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = flow.callback(params)
    assert response.status_code == 400
    assert error_code(response) == "expired_state"
    assert flow.fake.token_requests == []


def test_c1_parallel_tabs_each_finish(flow):
    tab_one, tab_two = flow.start(), flow.start("/two/")
    flow.fake.last_nonce = tab_two["nonce"]
    assert flow.callback(tab_two)["Location"] == "/two/"
    flow.fake.last_nonce = tab_one["nonce"]
    response = flow.callback(tab_one)
    assert response.status_code == 302, error_code(response)


def test_c1_state_for_another_provider_is_refused(flow, client, fake_provider):
    from client_app.models import Provider

    params = flow.start()
    Provider.objects.create(name="Other", slug="other", issuer=fake_provider.issuer + "/x", client_id="o")
    response = client.get("/client/other/callback/", {"code": "c", "state": params["state"]})
    assert error_code(response) == "invalid_state"


def test_c2_fresh_s256_verifier_per_login(flow):
    first, second = flow.start(), flow.start()
    assert first["code_challenge_method"] == second["code_challenge_method"] == "S256"
    assert first["code_challenge"] != second["code_challenge"]
    flow.fake.last_nonce = second["nonce"]
    flow.callback(second)
    sent = {k: v[0] for k, v in parse_qs(flow.fake.token_requests[0].body).items()}
    verifier = sent["code_verifier"]
    assert 43 <= len(verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == second["code_challenge"]


def test_c3_fresh_nonce_per_login(flow):
    first, second = flow.start(), flow.start()
    assert first["nonce"] != second["nonce"]
    assert len(first["nonce"]) >= 43


def test_c3_id_token_with_another_nonce_is_refused(flow):
    params = flow.start()
    flow.fake.last_nonce = "not-the-nonce-of-this-login"
    response = flow.callback(params)
    assert response.status_code == 400
    assert error_code(response) == "bad_nonce"
    assert SocialAccount.objects.count() == 0


def test_c3_id_token_without_nonce_is_refused(flow):
    params = flow.start()
    flow.fake.last_nonce = None
    assert error_code(flow.callback(params)) == "bad_nonce"


def test_c3_nonce_of_another_tab_is_refused(flow):
    tab_one, tab_two = flow.start(), flow.start()
    flow.fake.last_nonce = tab_two["nonce"]
    assert error_code(flow.callback(tab_one)) == "bad_nonce"


def test_extra_authorization_params_cannot_override_protocol_params(flow, provider):
    provider.extra_authorization_params = {
        "prompt": "login",
        "state": "fixed",
        "code_challenge_method": "plain",
    }
    provider.save()
    params = flow.start()
    assert params["prompt"] == "login"
    assert params["state"] != "fixed"
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == "http://testserver/client/example/callback/"


def test_extra_authorization_params_must_be_an_object(flow, provider):
    from django.core.exceptions import ValidationError

    provider.extra_authorization_params = ["prompt", "login"]
    with pytest.raises(ValidationError):
        provider.full_clean()
    provider.save()  # saved anyway (not through a form): the login still works, without extras
    assert "prompt" not in flow.start()
