"""Schema-driven fuzzing (schemathesis) of the authorization, token, revocation, introspection,
UserInfo and /api/ endpoints: zero 5xx, every error in RFC 6749 / RFC 6750 form.

Requests are generated from tests/fuzz/openapi.yaml, encoded by ``requests`` and served in-process
by Django's test client (:mod:`tests.fuzz.transport`), which is what keeps thousands of them
within about a minute; an exception in a view fails the test like a 500 would.

Each generated request is sent twice: as generated (random or missing credentials) and with real
credentials (the client's Basic auth or a valid bearer token), so the fuzzer reaches the code behind
authentication too. ``FUZZ_EXAMPLES`` (default 100 per operation and generation mode) sets the
volume; the default run sends a few thousand requests in about a minute.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import schemathesis
import yaml
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from tests.fuzz.fuzz_data import make_fuzz_data
from tests.fuzz.oauth_checks import check_answer
from tests.fuzz.transport import BASE_URL, send

SCHEMA = yaml.safe_load((Path(__file__).parent / "openapi.yaml").read_text())
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
OPERATIONS = sum(
    1 for operations in SCHEMA["paths"].values() for method in operations if method in ("get", "post")
)

schema = schemathesis.openapi.from_dict(SCHEMA)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES, database="none"
)


SENT: list[int] = []


@pytest.fixture
def fuzz_data(db) -> SimpleNamespace:
    data = make_fuzz_data(BASE_URL)
    yield data
    SENT.append(data.requests_sent)


@pytest.mark.fuzz
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES, database=None)
def test_fuzz_endpoints_never_fail_and_answer_in_rfc_form(case, fuzz_data):
    path = case.operation.path
    for headers in (None, fuzz_data.credentials_for(path)):
        response = send(Client(raise_request_exception=True), case, headers)
        fuzz_data.requests_sent += 1
        check_answer(path, response, authorization_redirects=fuzz_data.authorization_redirects)


@pytest.mark.fuzz
def test_fuzz_sent_thousands_of_requests():
    """Runs after the fuzz tests above (file order): the fuzzer really sent a few thousand requests."""
    if len(SENT) < OPERATIONS:
        pytest.skip("the fuzz tests above did not run in this session (selected alone)")
    print(f"fuzz: {sum(SENT)} requests")
    assert sum(SENT) >= 2 * OPERATIONS * EXAMPLES, SENT
