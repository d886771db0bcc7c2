"""Named statements (store/statements.py): ``:name`` parameters become asyncpg's ``$n`` and
nothing else does; every process or executor state written in the store's SQL carries its
name, and the name matches the enum."""

from __future__ import annotations

import re

import pytest

from colonies.core import ExecutorState, ProcessState
from colonies.store.statements import Statement, every_statement, main


def test_named_parameters_are_numbered_in_order_of_first_use():
    s = Statement("SELECT * FROM t WHERE a = :alpha AND b = :beta OR a > :alpha")
    assert s.sql == "SELECT * FROM t WHERE a = $1 AND b = $2 OR a > $1"
    assert s.params == ("alpha", "beta")
    assert s.args({"beta": 2, "alpha": 1}) == [1, 2]


def test_casts_literals_and_comments_are_not_parameters():
    s = Statement(
        "SELECT :x::bigint, 'a:b :c', '0001-01-01 00:00:00+00'::timestamptz, 'it''s :d' "
        "-- a :comment\n/* and :another */ FROM t WHERE y = :y_2"
    )
    assert s.params == ("x", "y_2")
    assert s.sql.startswith("SELECT $1::bigint, 'a:b :c', '0001-01-01 00:00:00+00'::timestamptz")
    assert "'it''s :d' -- a :comment\n/* and :another */" in s.sql
    assert s.sql.endswith("WHERE y = $2")


def test_a_statement_without_parameters_takes_none():
    s = Statement("SELECT 1")
    assert (s.sql, s.params, s.args({})) == ("SELECT 1", (), [])


@pytest.mark.parametrize("values", [{"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3}])
def test_a_missing_or_unknown_parameter_is_refused(values):
    with pytest.raises(TypeError, match="statement parameters are a, b; given"):
        Statement("SELECT :a, :b").args(values)


def test_every_statement_has_one_name_and_prints_whole_by_name(capsys):
    statements = every_statement()
    assert "processes.claims.CLAIM_ONE" in statements
    assert "processes.submissions.INSERT_MANY" in statements
    assert len(set(map(id, statements.values()))) == len(statements)
    assert main(["processes.claims.CLAIM_ONE", "colonies.SET_PAUSED"]) == 0
    out = capsys.readouterr().out
    assert out.count("-- name: ") == 2
    assert "-- name: processes.claims.CLAIM_ONE\n" in out
    # Whole: the fragments are in it, and no parameter is left unnumbered.
    assert "INSERT INTO request_nonces" in out and "pg_notify('colonies_events'" in out
    paused = out.split("-- name: colonies.SET_PAUSED\n")[1].splitlines()
    assert paused[0] == "-- parameters: $1 = :paused, $2 = :name"
    assert paused[1].startswith("WITH c AS (UPDATE colonies SET paused = $1 WHERE name = $2")
    assert not any(re.search(r"(?<!:):[a-z_]", line) for line in paused[1:])
    assert main(["no.SUCH"]) == 1


# A state compared with a number, or a list of states: each number must carry its name.
_COMPARED = re.compile(r"\bstate\s*(?:=|<>|>=|<=|<|>)\s*\d+\b(?!\s*/\*)")
_LISTED = re.compile(r"\bstate\s+IN\s*\(([^)]*)\)")
_NAMED = re.compile(r"(\d+)\s*/\*\s*([A-Za-z_]+)\s*\*/")


def test_every_state_literal_in_the_store_sql_carries_its_name():
    names = {**ProcessState.__members__, **ExecutorState.__members__}
    wrong: list[str] = []
    for name, statement in every_statement().items():
        text = statement.sql
        for match in _NAMED.finditer(text):
            value, said = int(match.group(1)), match.group(2)
            if said not in names or names[said].value != value:
                wrong.append(f"{name}: {match.group(0)}")
        wrong += [f"{name}: {m.group(0)} unnamed" for m in _COMPARED.finditer(text)]
        for listed in _LISTED.finditer(text):
            if re.search(r"\d+(?!\d|\s*/\*)", listed.group(1)):
                wrong.append(f"{name}: {listed.group(0)} unnamed")
    assert not wrong, "\n".join(wrong)


def test_the_state_check_finds_a_bare_or_misnamed_state():
    bare = Statement("SELECT 1 FROM processes WHERE state = 2 AND state IN (0 /* WAITING */, 1)")
    misnamed = Statement("UPDATE processes SET state = 3 /* CANCELLED */")
    assert [m.group(0) for m in _COMPARED.finditer(bare.sql)] == ["state = 2"]
    assert re.search(r"\d+(?!\d|\s*/\*)", _LISTED.search(bare.sql).group(1))  # type: ignore[union-attr]
    (match,) = _NAMED.finditer(misnamed.sql)
    assert ProcessState[match.group(2)].value != int(match.group(1))
