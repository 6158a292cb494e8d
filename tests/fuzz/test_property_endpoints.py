"""Property-based tests (Hypothesis) of the endpoints with real credentials: whatever the form,
query or header, the answer is never a 5xx and errors keep their RFC 6749 / RFC 6750 shape."""

from __future__ import annotations

import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.fuzz_data import make_fuzz_data
from tests.fuzz.oauth_checks import check_answer
from tests.fuzz.transport import BASE_URL, Answer

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_PROPERTY_EXAMPLES", "250"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
)

TOKEN_FIELDS = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "resource",
    "token",
    "token_type_hint",
]
AUTHORIZE_FIELDS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "acr_values",
    "claims",
    "request",
    "response_mode",
]
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "password", "implicit"]
values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(GRANT_TYPES + ["code", "S256", "plain", "none", "openid profile", "access_token"]),
    st.from_regex(r"[A-Za-z0-9_\-]{43,128}", fullmatch=True),
)


def forms(fields: list[str]):
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=12), values, max_size=8)


@pytest.fixture
def fuzz_data(db):
    return make_fuzz_data(BASE_URL)


def _answer(response) -> Answer:
    return Answer(response.status_code, dict(response.items()), response.content)


@SETTINGS
@given(
    form=forms(TOKEN_FIELDS),
    authenticate=st.booleans(),
    path=st.sampled_from(["/o/token/", "/o/revoke_token/", "/o/introspect/"]),
)
def test_token_revocation_introspection_forms(fuzz_data, form, authenticate, path):
    headers = fuzz_data.credentials_for(path) if authenticate else {}
    response = Client().post(path, form, headers=headers)
    check_answer(path, _answer(response), authorization_redirects=fuzz_data.authorization_redirects)


# Bodies Django may refuse to parse: a form in a charset other than UTF-8 (Django requires UTF-8
# for form bodies), multipart without a boundary, an unknown charset, a body in another format.
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=shift_jis",
    "application/x-www-form-urlencoded; charset=no-such-charset",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/json",
    "text/plain; charset=utf-8",
]
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda text, codec: text.encode(codec, "replace"),
        st.text(max_size=80),
        st.sampled_from(["latin-1", "utf-16", "shift_jis", "utf-8"]),
    ),
    st.builds(
        lambda form: "&".join(f"{k}={v}" for k, v in form.items()).encode("utf-16"), forms(TOKEN_FIELDS)
    ),
)


@SETTINGS
@given(
    body=raw_bodies,
    content_type=st.sampled_from(CONTENT_TYPES),
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"]),
    authenticate=st.booleans(),
    path=st.sampled_from(["/o/token/", "/o/revoke_token/", "/o/introspect/", "/o/userinfo/"]),
)
def test_p26_raw_bodies_in_any_encoding_and_method(fuzz_data, body, content_type, method, authenticate, path):
    headers = fuzz_data.credentials_for(path) if authenticate else {}
    response = Client().generic(method, path, body, content_type=content_type, headers=headers)
    check_answer(path, _answer(response), authorization_redirects=fuzz_data.authorization_redirects)


@SETTINGS
@given(params=forms(AUTHORIZE_FIELDS), signed_in=st.booleans(), real_client=st.booleans())
def test_authorization_requests(fuzz_data, params, signed_in, real_client):
    client = Client()
    if signed_in:
        client.force_login(fuzz_data.user)
    if real_client:
        params = {**params, "client_id": fuzz_data.application.client_id}
    response = client.get("/o/authorize/", params)
    check_answer(
        "/o/authorize/", _answer(response), authorization_redirects=fuzz_data.authorization_redirects
    )


@SETTINGS
@given(
    authorization=st.one_of(
        st.text(max_size=100).filter(lambda value: "\n" not in value and "\r" not in value),
        st.builds(
            lambda token: f"Bearer {token}",
            st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
        ),
    ),
    query_token=st.none() | st.text(max_size=40),
    path=st.sampled_from(["/o/userinfo/", "/api/me"]),
)
def test_bearer_endpoints(fuzz_data, authorization, query_token, path):
    headers = {"Authorization": authorization} if authorization.isascii() else {}
    params = {"access_token": query_token} if query_token is not None else {}
    response = Client().get(path, params, headers=headers)
    check_answer(path, _answer(response), authorization_redirects=fuzz_data.authorization_redirects)
    if response.status_code == 200:
        # Only the real token in the header opens the door; a query-string token never does (P14).
        assert authorization == fuzz_data.credentials_for(path)["Authorization"] and not params
