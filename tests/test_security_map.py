"""docs/security.md maps every checklist rule to the tests named after it, and the map stays true."""

from tests import security_map


def test_the_rule_map_in_docs_security_md_matches_the_tests():
    documented = security_map.documented_map(security_map.DOC.read_text(encoding="utf-8"))
    assert documented is not None, "docs/security.md has lost the rule map's markers"
    assert documented == security_map.render(security_map.collect()), (
        "the rule map is out of date: run `python -m tests.security_map --write`"
    )


def test_every_implemented_rule_has_a_test_named_after_it():
    assert security_map.problems(security_map.collect()) == []


def test_rule_ids_are_read_from_the_start_of_a_test_name_only():
    assert security_map.rules_of("test_p22_p27_logout_needs_confirmation") == ["P22", "P27"]
    assert security_map.rules_of("test_c1_state_is_single_use") == ["C1"]
    # System-check ids and later numbers are not rules; the id list stops at the first non-id.
    assert security_map.rules_of("test_e004_missing_key") == []
    assert security_map.rules_of("test_p5_then_c2") == ["P5"]
    assert security_map.rules_of("test_logout_p27") == []


def test_a_rule_without_tests_is_reported_unless_pending(monkeypatch):
    found = {rule: {"f.py": ["test_x"]} for rule in security_map.RULES if rule not in security_map.PENDING}
    assert security_map.problems(found) == []
    del found["P3"]
    assert security_map.problems(found) == ["P3 has no test named after it (test_p3_...)"]
    # A rule listed as pending is not reported while it has no test; once it has one, it must leave.
    monkeypatch.setitem(security_map.PENDING, "P3", "an issue")
    assert security_map.problems(found) == []
    found["P3"] = {"f.py": ["test_p3_x"]}
    expected = "P3 has tests now: remove it from PENDING in tests/security_map.py"
    assert expected in security_map.problems(found)
