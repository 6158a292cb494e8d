"""R12: a token of any shape gets an RFC 6750 answer (400/401), never a 500, in both modes."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.resource_app.conftest import mint

pytestmark = pytest.mark.django_db


def _segment(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
header_names = st.sampled_from(["alg", "typ", "kid", "crit", "jku", "x5u"])
plausible_header = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "none", "HS256", "ES256"]), "typ": st.just("at+jwt")}
)
headers = st.dictionaries(header_names, json_values, max_size=5) | plausible_header
three_parts = st.builds(
    lambda h, c, s: f"{_segment(h)}.{_segment(c)}.{s}", headers, json_values, st.text(max_size=30)
)
binary_parts = st.builds(
    lambda parts: ".".join(_segment(x) for x in parts),
    st.lists(st.binary(max_size=40), min_size=1, max_size=6),
)
tokens = st.one_of(st.text(max_size=200), three_parts, binary_parts)


@pytest.mark.parametrize("mode", ["jwt", "introspection"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=tokens)
def test_r12_tokens_of_any_shape_never_cause_a_500(client, provider, mode, token):
    from django.test import override_settings

    provider.introspection = {"active": False}
    with override_settings(RESOURCE_APP_MODE=mode):
        for url in ("/notes/", "/plain/notes/"):
            response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code == 401, (token, response.status_code)
            assert response["WWW-Authenticate"].startswith("Bearer ")


def test_r12_a_genuine_token_after_the_fuzz_still_works(client, provider):
    assert client.get("/notes/", HTTP_AUTHORIZATION=f"Bearer {mint()}").status_code == 200
