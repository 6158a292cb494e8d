"""R12: a token of any shape gets an RFC 6750 answer (400/401), never a 500, in every mode (jwt,
introspection, auto): generated shapes, and explicit ones (huge, nested 10k deep, NUL, non-UTF-8)."""

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


@pytest.mark.parametrize("mode", ["jwt", "introspection", "auto"])
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


# -- explicit shapes, in every mode (the fuzz above draws only small tokens) ----------------------

DEEP = 10_000  # far past Python's recursion limit: json raises RecursionError, not ValueError
HEADER = {"alg": "RS256", "kid": "key-1", "typ": "at+jwt"}


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _jwt_shaped(header, payload, signature: str = "c2ln") -> str:
    return f"{_segment(header)}.{_segment(payload)}.{signature}"


def _signed(payload: bytes) -> str:
    """A token the provider's key really signed, whatever its payload's bytes."""
    from jwcrypto.common import json_encode
    from jwcrypto.jws import JWS

    from tests.resource_app.conftest import signing_key

    token = JWS(payload)
    token.add_signature(signing_key(), alg="RS256", protected=json_encode(HEADER))
    return token.serialize(compact=True)


def _shapes() -> dict[str, str]:
    return {
        "huge-1mb": "a" * 1024 * 1024,
        "huge-1mb-jwt-shaped": _jwt_shaped(HEADER, b"a" * 1024 * 1024),
        "nested-header-10k": _jwt_shaped(_nested(DEEP), {}),
        "nested-payload-10k": _jwt_shaped(HEADER, _nested(DEEP)),
        # Within the length limit, so that the parser itself meets the nesting.
        "nested-header-2500": _jwt_shaped(_nested(2500), {}),
        "nested-payload-2500-signed": _signed(_nested(2500)),
        "nul-raw": "abc\x00def",
        "nul-in-header-json": _jwt_shaped(b'{"alg":"RS256\x00","typ":"at+jwt"}', {}),
        "nul-escaped-in-kid": _jwt_shaped({**HEADER, "kid": "key-1\x00"}, {}),
        "nul-in-signed-payload": _signed(b'{"sub":"\x00"}'),
        "latin-1-raw": "caf\xe9.\xff\xfe.\xa0",
        "non-utf8-segments": _jwt_shaped(b"\xff\xfe\xfd{", b"\xc3\x28", "gA"),
        "utf16-header": _jwt_shaped(b"\xff\xfe" + json.dumps(HEADER).encode("utf-16-le"), {}),
        "non-utf8-signed-payload": _signed(b"\xff\xfe\xc3\x28"),
    }


SHAPES = _shapes()


@pytest.mark.parametrize("mode", ["jwt", "introspection", "auto"])
@pytest.mark.parametrize("token", SHAPES.values(), ids=SHAPES.keys())
def test_r12_huge_nested_nul_and_non_utf8_tokens_are_401_invalid_token(
    client, provider, settings, mode, token
):
    settings.RESOURCE_APP_MODE = mode
    provider.introspection = {"active": False}
    for url in ("/notes/", "/plain/notes/", "/mixin/notes/"):
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, (url, response.status_code)
        # RFC 6750 3.1
        assert response["WWW-Authenticate"].startswith("Bearer "), url
        assert 'error="invalid_token"' in response["WWW-Authenticate"], url


@pytest.mark.parametrize("mode", ["jwt", "introspection", "auto"])
@pytest.mark.parametrize(
    "token",
    [_jwt_shaped(_nested(DEEP), {}), _jwt_shaped(HEADER, _nested(DEEP)), _signed(_nested(DEEP))],
    ids=["header", "payload", "signed-payload"],
)
def test_r12_json_nested_10k_deep_is_an_invalid_token_past_the_length_limit_too(
    provider, settings, mode, token
):
    """Without the header's length limit (a token handed to validate_token by code), the parser
    itself meets the nesting: still a refusal."""
    from resource_app.exceptions import InvalidToken
    from resource_app.validation import validate_token

    settings.RESOURCE_APP_MODE = mode
    provider.introspection = {"active": False}
    with pytest.raises(InvalidToken):
        validate_token(token)


@pytest.mark.parametrize("mode", ["introspection", "auto"])
@pytest.mark.parametrize("name", ["huge-1mb", "huge-1mb-jwt-shaped", "nul-raw", "latin-1-raw"])
def test_r12_a_huge_or_non_b64token_value_never_reaches_the_provider(client, provider, settings, mode, name):
    from tests.resource_app.conftest import INTROSPECTION

    settings.RESOURCE_APP_MODE = mode
    provider.introspection = {"active": True}  # were it asked, the provider would vouch for anything
    response = client.get("/notes/", HTTP_AUTHORIZATION=f"Bearer {SHAPES[name]}")
    assert response.status_code == 401 and 'error="invalid_token"' in response["WWW-Authenticate"]
    assert provider.calls(INTROSPECTION) == 0
