"""Property-based tests (Hypothesis) of the security helpers' pure functions."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provider_app import audit
from provider_app.internal.tokens import digest as code_hash
from provider_app.throttling import delay

pytestmark = pytest.mark.fuzz

SECRET_WORDS = ["password", "client_secret", "code", "refresh_token", "access_token", "otp", "recovery_code"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, database=None)
@given(secret_key=st.sampled_from(SECRET_WORDS), secret=st.text(min_size=8, max_size=100), other=json_values)
def test_audit_details_never_keep_a_secret_and_stay_json(secret_key, secret, other):
    scrubbed = audit.scrub({secret_key: secret, "nested": {secret_key: secret}, "other": other})
    assert scrubbed[secret_key] == audit.REDACTED
    assert scrubbed["nested"][secret_key] == audit.REDACTED
    text = json.dumps(scrubbed)  # always serialisable
    assert not re.search(r"[\x00-\x1f\x7f]", "".join(_strings(scrubbed))), "control characters kept"
    assert len(text) < 100_000


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@settings(max_examples=200, deadline=None, database=None)
@given(code=st.text(min_size=1, max_size=200))
def test_code_hash_is_a_sha256_that_never_contains_the_code(code):
    digest = code_hash(code)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == code_hash(code)
    assert code not in digest or len(code) < 4


@settings(max_examples=200, deadline=None, database=None)
@given(failures=st.integers(min_value=0, max_value=10_000), limit=st.integers(min_value=1, max_value=50))
def test_p20_delays_grow_with_failures_and_stay_capped(failures, limit):
    assert delay(failures, limit) <= delay(failures + 1, limit)
    assert delay(failures, limit).total_seconds() <= 15 * 60
    assert (delay(failures, limit).total_seconds() > 0) == (failures >= limit)
