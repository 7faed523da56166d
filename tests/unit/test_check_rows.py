"""A batch's rows answered in one call (engine/check.answer_all) answer as each row alone does,
and an invalid row stops the batch at its position; the per-call metrics export what
prometheus_client's Counter and Histogram would."""

from __future__ import annotations

import random

import pytest
from harness import Engine, tree
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from authz import metrics
from authz.domain import operations as ops
from authz.domain.errors import InvalidArgument
from authz.engine.check import CheckMemo, answer, answer_all

SUBJECTS = ["user:a", "user:b", "team:t1", "user:c", "user:nobody", "service_account:s"]
ACTIONS = ["read", "update", "delete"]
TYPES = ["pipeline", "model", "project", "workspace"]
SCOPES = [("", "", "p1"), ("", "", "p2"), ("", "w1", ""), ("o1", "", ""), ("", "", "unknown"), ("o1", "w1", "p1")]


@pytest.fixture
def e() -> Engine:
    engine = tree(Engine())
    engine.bind("user:a", "project_viewer", project_id="p1")
    engine.bind("team:t1", "workspace_admin", workspace_id="w1")
    engine.write(ops.AddTeamMember("t1", "user:c"))
    engine.share("user:b", "model/m1", ("read",), project_id="p2")
    return engine


def _rows(seed: int, count: int, repeat: float):
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        if rows and rng.random() < repeat:  # the same subject and scope as before, as a client sends
            subject, scope = rows[-1][0], rows[-1][5:]
        else:
            subject, scope = rng.choice(SUBJECTS), rng.choice(SCOPES)
        rtype = rng.choice(TYPES)
        rid = rng.choice(["", "m1", "x", "p1", "w1"])
        rows.append((subject, rng.choice(ACTIONS), True, rtype, rid, *scope))
    return rows


@pytest.mark.parametrize("seed", range(20))
def test_a_batch_answers_as_its_rows_alone(e, seed):
    e.bind("user:nobody", "project_viewer", project_id="p2")  # a member of nothing, bound once
    rows = _rows(seed, 60, repeat=0.5)
    answers: list = []
    granted = answer_all(CheckMemo(), e.index, e.policy, rows, answers, "yes", "no")
    alone = [answer(CheckMemo(), e.index, e.policy, row) for row in rows]
    assert answers == ["yes" if allowed else "no" for allowed in alone]
    assert granted == sum(alone)
    for row, allowed in zip(rows, alone, strict=True):
        subject, action, _, rtype, rid, organization, workspace, project = row
        scope = {k: v for k, v in (("organization_id", organization), ("workspace_id", workspace),
                                   ("project_id", project)) if v}
        if project != "unknown" and (project != "p1" or not workspace or workspace == "w1"):
            assert allowed == e.check(subject, action, f"{rtype}/{rid}" if rid else rtype, **scope)


@pytest.mark.parametrize(("bad", "field"), [
    (("user:a", "read", True, "pipeline", "x", "", "", "p 1"), "project_id"),
    (("nobody", "read", True, "pipeline", "x", "", "", "p1"), "subject"),
    (("user:a", "re ad", True, "pipeline", "x", "", "", "p1"), "action"),
    (("user:a", "read", False, "", "", "", "", "p1"), "resource"),
    (("user:a", "read", True, "pipeline", "x", "o2", "", "p1"), "organization_id"),
])
def test_an_invalid_row_stops_the_batch_at_its_position(e, bad, field):
    good = ("user:a", "read", True, "pipeline", "x", "", "", "p1")
    answers: list = []
    with pytest.raises(InvalidArgument) as raised:
        answer_all(CheckMemo(), e.index, e.policy, [good, good, bad, good], answers)
    assert answers == [True, True]
    assert field in str(raised.value.field)
    with pytest.raises(InvalidArgument) as alone:
        answer(CheckMemo(), e.index, e.policy, bad)
    assert (alone.value.message, alone.value.field) == (raised.value.message, raised.value.field)


def _exposition(registry: CollectorRegistry) -> list[str]:
    return sorted(line for line in generate_latest(registry).decode().splitlines() if line)


def test_the_call_counts_export_what_counter_and_histogram_would():
    seconds = [0.0001, 0.00009, 0.0003, 0.001, 0.0025, 7.0, 10.0, 11.0, 0.0]
    ours = metrics.CallCollector()
    calls = ours.method("authz.v1.X", "Y")
    for value in seconds:
        calls.observe(value)
        calls.ok += 1
    calls.failed("INVALID_ARGUMENT")
    ours.decisions("Check")[True] += 2
    ours.decisions("BatchCheck")[False] += 3
    mine = CollectorRegistry()
    mine.register(ours)
    theirs = CollectorRegistry()
    requests = Counter("authz_grpc_requests_total", "gRPC requests handled, by service, method and status code.",
                       ["service", "method", "code"], registry=theirs)
    duration = Histogram(
        "authz_grpc_request_duration_seconds",
        "Time to handle a gRPC request, by service and method (server side, excluding transport).",
        ["service", "method"], buckets=metrics.DURATION_BUCKETS, registry=theirs)
    checks = Counter("authz_checks_total", "Decisions made, by method (Check, BatchCheck) and decision.",
                     ["method", "decision"], registry=theirs)
    for value in seconds:
        duration.labels("authz.v1.X", "Y").observe(value)
        requests.labels("authz.v1.X", "Y", "OK").inc()
    requests.labels("authz.v1.X", "Y", "INVALID_ARGUMENT").inc()
    checks.labels("Check", "allowed").inc(2)
    checks.labels("Check", "denied")
    checks.labels("BatchCheck", "allowed")
    checks.labels("BatchCheck", "denied").inc(3)
    assert _exposition(mine) == _exposition(theirs)


def _random_world(rng: random.Random) -> Engine:
    """Bindings at every level for users and teams, users in one or two teams, and shares with
    users and teams: every rule reachable, directly and through a team."""
    engine = tree(Engine())
    levels = {"organization_id": ["o1", "o2"], "workspace_id": ["w1", "w2", "w3"], "project_id": ["p1", "p2", "p3"]}
    level_of = {"organization_id": "organization", "workspace_id": "workspace", "project_id": "project"}
    roles = {level: sorted(r.name for r in engine.policy.roles.values() if r.level == level)
             for level in level_of.values()}
    people = [f"user:u{i}" for i in range(6)]
    for user in people[:5]:
        for team in rng.sample(["t1", "t2"], rng.randint(1, 2)):
            engine.write(ops.AddTeamMember(team, user))
    for _ in range(12):
        field = rng.choice(sorted(levels))
        who = rng.choice(people + ["team:t1", "team:t2"])
        try:
            engine.bind(who, rng.choice(roles[level_of[field]]), **{field: rng.choice(levels[field])})
        except Exception:  # noqa: BLE001 -- a duplicate or a team outside its organization: skip it
            continue
    for _ in range(6):
        who = rng.choice(people + ["team:t1", "team:t2"])
        engine.share(who, f"{rng.choice(['model', 'pipeline'])}/{rng.choice(['m1', 'x'])}",
                     tuple(rng.sample(["read", "update"], rng.randint(1, 2))), project_id=rng.choice(["p1", "p2"]))
    return engine


@pytest.mark.parametrize("seed", range(30))
def test_runs_of_one_subject_and_scope_answer_as_the_grant_finder(seed):
    """answer_all finds the roles a run's subject holds once (decide.held_roles); its answers
    equal decide.find_grant's, which walks each binding through policy.allows instead."""
    from authz.engine import decide
    from authz.engine.scope import known_chain

    rng = random.Random(seed)
    e = _random_world(rng)
    subjects = [f"user:u{i}" for i in range(7)] + ["team:t1", "team:t2"]
    scopes = [("", "", "p1"), ("", "", "p2"), ("", "", "p3"), ("", "w1", ""), ("o1", "", ""), ("", "w1", "p1")]
    rows = []
    while len(rows) < 200:
        subject, scope = rng.choice(subjects), rng.choice(scopes)
        for _ in range(rng.randint(1, 12)):  # a run, as one client sends
            rtype = rng.choice(["pipeline", "model", "project", "workspace", "organization", "team"])
            rid = rng.choice(["", "m1", "x", "p1", "p2", "w1", "o1"])
            rows.append((subject, rng.choice(["read", "update", "delete", "create"]), True, rtype, rid, *scope))
    answers: list = []
    granted = answer_all(CheckMemo(), e.index, e.policy, rows, answers, True, False)
    expected = []
    for subject, action, _, rtype, rid, organization, workspace, project in rows:
        chain = known_chain(e.index, organization, workspace, project)
        expected.append(chain is not None and decide.find_grant(e.index, e.policy, subject, action, rtype, rid, chain)
                        is not None)
    assert answers == expected
    assert granted == sum(expected)
    assert 0 < granted < len(rows)
