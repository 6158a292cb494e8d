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


# -- provider_app with one layer off (bench/layers.py) --------------------------------------------


def test_each_layer_configuration_has_its_own_server_and_uses_provider_apps_clients():
    from bench import layers
    from bench.run import CONFIGS, SERVER_OF

    for name, (label, settings_module, _off) in layers.LAYERS.items():
        assert CONFIGS[name] == (label, settings_module)
        assert SERVER_OF[name] == name
    assert len({CONFIGS[name][1] for name in (*layers.LAYERS, "ours")}) == len(layers.LAYERS) + 1


def test_the_default_run_is_unchanged_and_layers_need_ours(capsys, monkeypatch):
    from bench import run

    monkeypatch.setattr(run.shutil, "which", lambda name: None)  # never a real run: "no wrk"

    assert run.build_parser().parse_args([]).configs == "ours,stock"
    for argv, message in (
        (["--configs", "ours-no-local"], "add ours"),
        (["--configs", "ours,ours-typo"], "unknown configuration"),
        (["--configs", "ours,plain"], "unknown configuration"),
    ):
        with pytest.raises(SystemExit):
            run.main(argv)
        assert message in capsys.readouterr().err


def test_layer_settings_turn_off_what_they_claim(tmp_path):
    """Each settings module, imported as gunicorn imports it (PostgreSQL URL, Redis URL)."""
    import json
    import os
    import subprocess
    import sys

    script = """
import json, importlib
out = {}
for name in ("ours", "ours_no_local", "ours_no_cache", "ours_row_by_row", "ours_unprepared"):
    s = importlib.import_module("bench.settings_" + name)
    out[name] = {
        "options": sorted(s.DATABASES["default"].get("OPTIONS", {})),
        "local": getattr(s, "PROVIDER_APP_TOKEN_LOCAL_CACHE", "unset"),
        "cache": getattr(s, "PROVIDER_APP_TOKEN_CACHE", "unset"),
        "row_by_row": "bench.row_by_row.RowByRowConfig" in s.INSTALLED_APPS,
    }
print(json.dumps(out))
"""
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # read, never connected to
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "OAUTHSITE_DEMO": "1",
        "OAUTHSITE_DEMO_DIR": str(tmp_path),
    }
    env.pop("DATABASE_PREPARED_STATEMENTS", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout)
    assert {"server_side_binding", "prepare_threshold"} <= set(s["ours"]["options"])
    assert not {"server_side_binding", "prepare_threshold"} & set(s["ours_unprepared"]["options"])
    assert s["ours"]["local"] == s["ours"]["cache"] == "unset"  # provider_app's defaults
    assert s["ours_no_local"]["local"] is False and s["ours_no_local"]["cache"] == "unset"
    assert s["ours_no_cache"]["cache"] is None
    assert [name for name, v in s.items() if v["row_by_row"]] == ["ours_row_by_row"]


def test_the_row_by_row_receiver_takes_provider_apps_row_by_row_path():
    """provider_app writes the rows of a token response in one statement only when no foreign
    receiver listens to their save signals: bench.row_by_row's receiver is one."""
    from oauth2_provider.models import get_access_token_model

    from bench import row_by_row
    from provider_app.internal import storage

    AccessToken = get_access_token_model()
    assert storage._no_foreign_receivers(AccessToken)
    row_by_row.connect()
    try:
        assert not storage._no_foreign_receivers(AccessToken)
    finally:
        row_by_row.disconnect()
    assert storage._no_foreign_receivers(AccessToken)


def test_only_the_statements_sent_are_counted():
    from bench.layers import sent_statements

    # psycopg sends no BEGIN/COMMIT for a transaction in which nothing ran.
    assert sent_statements(["SELECT 1", "BEGIN", "COMMIT", "BEGIN", "COMMIT", "WITH w AS ()"]) == 2
    assert sent_statements(["BEGIN", "DELETE", "INSERT", "COMMIT"]) == 4
    assert sent_statements(["BEGIN", "SAVEPOINT s", "RELEASE SAVEPOINT s", "COMMIT"]) == 4
    assert sent_statements(["BEGIN"]) == 0 and sent_statements([]) == 0


def _probe(**changes):
    base = {
        "token_cache": "default",
        "local_cache": True,
        "code": {"statements": 2, "redis": 0},
        "me": {"statements": 0, "redis": 0},
        "prepared_statements": 4,
    }
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return base


def test_a_configuration_that_does_not_differ_as_claimed_is_reported():
    from bench.layers import problems

    good = {
        "ours": _probe(),
        "ours-no-local": _probe(local_cache=False, code={"redis": 1}, me={"redis": 1}),
        "ours-no-cache": _probe(
            token_cache=None, local_cache=False, code={"statements": 3}, me={"statements": 1}
        ),
        "ours-row-by-row": _probe(code={"statements": 10}),
        "ours-unprepared": _probe(prepared_statements=0),
    }
    assert problems(good) == []
    assert problems({"ours-no-local": good["ours-no-local"]}) == []  # nothing to compare with
    bad = {
        "ours-no-local": _probe(local_cache=False),  # /api/me never asked Redis
        "ours-no-cache": _probe(token_cache=None, local_cache=False, me={"statements": 1, "redis": 1}),
        "ours-row-by-row": _probe(),
        "ours-unprepared": _probe(prepared_statements=3),
    }
    for name, probe in bad.items():
        found = problems({**good, name: probe})
        assert len(found) == 1 and found[0].startswith(f"{name} does not differ"), found
    # provider_app on SQLite, or without Redis: nothing to turn off, every configuration is listed.
    sqlite = _probe(token_cache=None, local_cache=False, me={"statements": 1}, prepared_statements=None)
    assert len(problems({**{n: sqlite for n in good}})) == 4


def test_ratios_to_provider_app():
    m = lambda rps: R.Measurement(requests=rps, duration_s=1.0, latency_us={})  # noqa: E731
    ratios = R.ratios_to(
        {"code": m(400), "me": m(2000)},
        {"ours-row-by-row": {"code": m(300), "me": m(2100)}, "ours-no-cache": {"me": m(1000)}},
        ("code", "me", "cc"),
    )
    assert ratios == {
        "ours-row-by-row": {"code": 0.75, "me": 1.05, "cc": None},
        "ours-no-cache": {"code": None, "me": 0.5, "cc": None},
    }


@pytest.mark.django_db
def test_the_probe_counts_a_code_exchange_and_api_me(settings):
    """bench/layers.py's probe in this process (the suite's settings), and the Redis counter is
    removed afterwards."""
    from redis.connection import AbstractConnection

    from bench import fixtures, layers

    settings.PROVIDER_APP_DEFAULT_AUDIENCE = "https://bench.invalid/api"
    # The bench's clients have fixed client_ids; in the Redis stage an earlier run's (rolled back)
    # clients would still be cached under them, with other secrets.
    settings.PROVIDER_APP_TOKEN_CACHE = None
    client = fixtures.create_clients("ours")["clients"]["ours-code"]
    send = AbstractConnection.send_packed_command
    result = layers.probe(client["client_id"], client["client_secret"], host="localhost", exchanges=3)
    assert AbstractConnection.send_packed_command is send
    assert result["code"]["statements"] >= 2  # the grant, the writes
    assert result["me"]["statements"] + result["me"]["redis"] <= 1
    assert set(result) == {"token_cache", "local_cache", "code", "me", "prepared_statements"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_row_by_row_configuration_sends_more_statements_per_code_exchange(settings):
    from bench import fixtures, layers, row_by_row

    settings.PROVIDER_APP_DEFAULT_AUDIENCE = "https://bench.invalid/api"
    # The bench's clients have fixed client_ids; in the Redis stage, an earlier run's (rolled back)
    # clients would still be cached under them. Statements are what is compared here: no cache.
    settings.PROVIDER_APP_TOKEN_CACHE = None
    client = fixtures.create_clients("ours")["clients"]["ours-code"]
    batched = layers.probe(client["client_id"], client["client_secret"], host="localhost", exchanges=2)
    row_by_row.connect()
    try:
        one_by_one = layers.probe(client["client_id"], client["client_secret"], host="localhost", exchanges=2)
    finally:
        row_by_row.disconnect()
    assert one_by_one["code"]["statements"] > batched["code"]["statements"] + 4, (batched, one_by_one)


def test_with_layer_configurations_each_round_starts_one_further_along():
    from bench.run import in_order

    assert [in_order(["ours", "stock", "plain"], r) for r in range(2)] == [["ours", "stock", "plain"]] * 2
    configs = ["ours", "ours-no-local", "ours-row-by-row"]
    rounds = [in_order(configs, r) for r in range(3)]
    assert rounds[0] == configs
    for position in range(3):  # over three rounds, each configuration once in each position
        assert sorted(r[position] for r in rounds) == sorted(configs)
