"""C15 (fuzzing): whatever a provider answers at the token and UserInfo endpoints, the callback
ends on a page that is not a 5xx, and no token of the answer appears in it."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_PROPERTY_EXAMPLES", "250")) // 5
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["Bearer", "bearer", "DPoP", "", "3600", "1e400", "\u0000", "ä", "a" * 300]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Raw JSON texts json.dumps cannot produce: huge exponents, NaN, deep nesting, broken documents.
raw_numbers = st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 400, "0.0000001", "-0"])


@SETTINGS
@given(
    members=st.dictionaries(
        st.sampled_from(["access_token", "token_type", "expires_in", "refresh_token", "id_token", "scope"]),
        json_values,
        max_size=6,
    ),
    raw_expires_in=st.none() | raw_numbers,
    garbage=st.none()
    | st.sampled_from(["", "{", "[]", "null", '{"a":' * 3000 + "1" + "}" * 3000, "\xff\xfe"]),
)
def test_c15_fuzzed_token_responses_never_give_a_500(flow, members, raw_expires_in, garbage):
    params = flow.start()
    body = flow.fake.issue_tokens()
    body.update(members)
    text = json.dumps(body)
    if raw_expires_in is not None:
        text = (
            text.replace(json.dumps(body.get("expires_in")), raw_expires_in, 1)
            if "expires_in" in body
            else text
        )
    flow.fake.token_body = garbage if garbage is not None else text
    response = flow.callback(params)
    assert response.status_code < 500 or response.status_code == 502, response.status_code
    page = response.content.decode(errors="replace")
    for name in ("access_token", "refresh_token", "id_token"):
        value = body.get(name)
        if isinstance(value, str) and len(value) >= 12:
            assert value not in page
    flow.fake.token_body = None
    flow.client.logout()


@SETTINGS
@given(
    userinfo=st.dictionaries(
        st.sampled_from(["sub", "email", "email_verified", "name", "preferred_username", "picture"])
        | st.text(max_size=8),
        json_values,
        max_size=6,
    )
)
def test_c15_fuzzed_userinfo_never_gives_a_500(flow, userinfo):
    flow.fake.userinfo = userinfo
    response = flow.login()
    assert response.status_code < 500 or response.status_code == 502, response.status_code
    flow.client.logout()
