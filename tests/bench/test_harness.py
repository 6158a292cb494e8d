"""Smoke tests of the benchmark harness's pieces (the benchmark itself is not run by the suite)."""

from __future__ import annotations

import base64
import hashlib
import math

import pytest

from bench import results as R
from bench.fixtures import CODE_CHALLENGE, CODE_VERIFIER

WRK_TEXT = """Running 5s test @ http://127.0.0.1:8000/api/me
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.05ms    1.01ms  21.37ms   88.12%
    Req/Sec     1.32k   101.20     1.51k    71.00%
  Latency Distribution
     50%    2.87ms
     75%  812.00us
     90%    1.20s
     99%    4.00m
  13163 requests in 5.01s, 3.41MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   2627.35
"""


def test_parses_wrk_latency_distribution_with_units():
    m = R.parse_wrk_output(WRK_TEXT)
    assert m.requests == 13163
    assert m.duration_s == pytest.approx(5.01)
    assert m.latency_us == {"50": 2870.0, "75": 812.0, "90": 1_200_000.0, "99": 240_000_000.0}
    assert m.errors == 7 + 2 + 1
    assert m.rps == pytest.approx(13163 / 5.01)


def test_prefers_the_machine_readable_line():
    line = (
        'BENCH_JSON {"requests": 100, "duration_us": 2000000, "errors_status": 3, "errors_connect": 0, '
        '"errors_read": 0, "errors_write": 0, "errors_timeout": 1, "latency_mean_us": 10.0, '
        '"latency_max_us": 90, "latency_us": {"50": 10, "99.9": 88}, "exhausted": 1, "threads": 2}'
    )
    m = R.parse_wrk_output(WRK_TEXT + line + "\n")
    assert (m.requests, m.rps, m.errors, m.exhausted) == (100, 50.0, 4, True)
    assert m.latency_us == {"50": 10.0, "99.9": 88.0}


def test_rejects_output_that_is_not_wrk():
    with pytest.raises(ValueError):
        R.parse_wrk_output("connection refused")


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert R.percentile(values, 50) == 50
    assert R.percentile(values, 99) == 99
    assert R.percentile(values, 100) == 100
    assert math.isnan(R.percentile([], 50))
    m = R.measurement_from_latencies([0.002, 0.001, 0.003], duration_s=1.5, errors=1)
    assert m.requests == 3 and m.latency_us["50"] == pytest.approx(2000) and m.rps == 2


def test_ratios_and_table():
    assert R.ratio(300, 100) == "3.00x"
    assert R.ratio(5000, 10) == "500x"
    assert R.ratio(1, 0) == "-"
    table = R.format_table(["a", "bb"], [["1", "2"], ["333", "4"]])
    assert table.splitlines()[0] == "| a   | bb |"
    assert R.format_latency(1500) == "1.5ms" and R.format_latency(250) == "250us"


def test_the_pkce_pair_of_the_benchmark_codes_is_s256():
    digest = hashlib.sha256(CODE_VERIFIER.encode()).digest()
    assert CODE_CHALLENGE == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(CODE_VERIFIER) <= 128  # RFC 7636 4.1
