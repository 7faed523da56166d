"""Shadow evaluation and grants that expire, through the real server (one for the module)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import grpc
import pytest
from worlds import load_recs

from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz._gen.authz.v1 import policy_pb2 as pb
from authz.client import check_request, scope
from authz.storage.sql import SqlStorage
from authz.testing.server import Server

pytestmark = pytest.mark.e2e
POLICIES = Path(__file__).resolve().parents[2] / "policies"
CODE = grpc.StatusCode
ACTIVE_FLIP = "p, flipper, project, pipeline, *, read\np, flipper, project, model, *, read\n"
CANDIDATE_FLIP = "p, flipper, project, model, *, read\n"  # one permission fewer


def policy_copy(directory: Path, flip: str) -> Path:
    shutil.copytree(POLICIES, directory)
    (directory / "flip.csv").write_text(flip)
    return directory


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("shadow")
    active = policy_copy(root / "active", ACTIVE_FLIP)
    candidate = policy_copy(root / "candidate", CANDIDATE_FLIP)
    url = f"sqlite:///{root / 'authz.db'}"
    server = Server(root, url, "--policies", str(active), "--policy-poll-seconds", "0",
                    "--expiry-sweep-seconds", "0.2").start()
    with server.client() as client:
        load_recs(client)
        yield server, client, candidate, url
    server.stop()


def report(client) -> pb.ShadowReport:
    return client._call(client.policy.GetShadowReport, pb.GetShadowReportRequest(max_examples=100))


def settled(client, evaluated: int) -> pb.ShadowReport:
    deadline = time.monotonic() + 10
    while True:
        current = report(client)
        if current.evaluated >= evaluated or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def test_a_candidate_removing_one_permission_yields_exactly_the_expected_disagreements(world):
    _server, client, candidate, _ = world
    started = client._call(client.policy.StartShadow, pb.StartShadowRequest(
        candidate_directory=str(candidate), sample_rate=1.0))
    assert started.sample_rate == 1.0 and started.replica and not started.warnings
    # Exercising the permission removed (user:f reads pipelines) and not (models, ada's pipelines).
    answers = [
        client.check("user:f", "read", "pipeline/train", project="recs").allowed,
        client.check("user:f", "read", "model/ranker", project="recs").allowed,
        client.check("user:ada", "read", "pipeline/train", project="recs").allowed,
        client.check("user:f", "delete", "pipeline/train", project="recs").allowed,
    ]
    assert answers == [True, True, True, False]  # the active policy's answers
    batch = client.batch_check([
        check_request("user:f", "read", "pipeline/a", project="recs"),
        check_request("user:f", "read", "pipeline/b", project="recs", explain=True),
        check_request("user:f", "read", "model/m", project="recs"),
    ])
    assert [result.allowed for result in batch.results] == [True, True, True]
    assert "flip.csv" in batch.results[1].explanation.text
    listing = client.list_allowed("user:f", "read", "pipeline", project="recs")
    assert listing.full_access
    shadow = settled(client, 8)
    assert shadow.running and shadow.sampled == 8 and shadow.evaluated == 8
    assert shadow.dropped == 0 and shadow.stale == 0
    counts = {row.rpc: (row.evaluated, row.candidate_allows, row.candidate_denies) for row in shadow.disagreements}
    assert counts == {"Check": (4, 0, 1), "BatchCheck": (3, 0, 2), "ListAllowedResources": (1, 0, 1)}
    examples = [(e.rpc, e.subject, e.action, e.resource.type + "/" + e.resource.id) for e in shadow.examples]
    assert examples == [  # newest first
        ("ListAllowedResources", "user:f", "read", "pipeline/"),
        ("BatchCheck", "user:f", "read", "pipeline/b"),
        ("BatchCheck", "user:f", "read", "pipeline/a"),
        ("Check", "user:f", "read", "pipeline/train"),
    ]
    check_example = shadow.examples[-1]
    assert check_example.active_allowed and not check_example.candidate_allowed
    assert check_example.scope.project_id == "recs"
    assert "flip.csv" in check_example.active_explanation
    assert check_example.candidate_explanation.startswith("denied:")
    assert "has flipper on project:recs; allows nothing on pipeline" in check_example.candidate_explanation
    # The answers stayed the active policy's while shadowing.
    assert client.check("user:f", "read", "pipeline/train", project="recs").allowed
    stopped = client._call(client.policy.StopShadow, pb.StopShadowRequest())
    assert not stopped.running and stopped.end_reason == "stopped"
    with pytest.raises(grpc.RpcError) as caught:
        client._call(client.policy.StopShadow, pb.StopShadowRequest())
    assert caught.value.code() == CODE.FAILED_PRECONDITION


def test_a_reload_of_the_active_policy_ends_the_shadow_and_the_report_says_so(world):
    _, client, candidate, _ = world
    client._call(client.policy.StartShadow, pb.StartShadowRequest(candidate_directory=str(candidate),
                                                                   sample_rate=0.5))
    client._call(client.policy.Reload, pb.ReloadRequest(force=True))
    ended = report(client)
    assert not ended.running and ended.end_reason == "the active policy was reloaded"


def test_a_bad_candidate_or_rate_is_refused_naming_why(world, tmp_path):
    _, client, candidate, _ = world
    broken = policy_copy(tmp_path / "broken", "p, flipper, project, pipeline, *, fly\n")
    cases = [
        (pb.StartShadowRequest(candidate_directory=str(candidate), sample_rate=1.5), CODE.INVALID_ARGUMENT,
         "sample_rate"),
        (pb.StartShadowRequest(candidate_directory=str(tmp_path / "nowhere")), CODE.NOT_FOUND,
         "candidate_directory"),
        (pb.StartShadowRequest(), CODE.INVALID_ARGUMENT, "candidate_directory"),
        (pb.StartShadowRequest(candidate_directory=str(broken)), CODE.FAILED_PRECONDITION, "invalid"),
    ]
    for request, code, words in cases:
        with pytest.raises(grpc.RpcError) as caught:
            client._call(client.policy.StartShadow, request)
        assert caught.value.code() == code and words in caught.value.details()


def timestamp_in(seconds: float):
    holder = dir_pb.CreateRoleBindingRequest()
    holder.expires_at.FromMicroseconds(int((time.time() + seconds) * 1e6))
    return holder.expires_at


def test_a_grant_that_expires_mid_run_stops_granting_and_leaves_with_a_change_record(world):
    _, client, _, url = world
    expires = timestamp_in(2.0)
    created = client._call(client.directory.CreateRoleBinding, dir_pb.CreateRoleBindingRequest(
        subject="user:carol", role="project_viewer", scope=scope(project="recs"), expires_at=expires))
    assert created.binding.expires_at == expires  # to the microsecond
    nanos = dir_pb.CreateRoleBindingRequest(subject="user:nanos", role="project_viewer", scope=scope(project="recs"),
                                            expires_at=timestamp_in(3600))
    nanos.expires_at.nanos = nanos.expires_at.nanos // 1000 * 1000 + 999
    cut = client._call(client.directory.CreateRoleBinding, nanos).binding.expires_at
    assert cut.ToNanoseconds() == nanos.expires_at.ToNanoseconds() - 999  # never later than asked
    listed = client._call(client.directory.ListRoleBindings, dir_pb.ListRoleBindingsRequest(
        expires_before=timestamp_in(60)))
    assert [b.subject for b in listed.bindings] == ["user:carol"]
    explained = client.check("user:carol", "read", "pipeline/train", project="recs", explain=True)
    assert explained.allowed and explained.explanation.binding.expires_at == expires
    assert ", until " in explained.explanation.text
    while time.time() < expires.ToNanoseconds() / 1e9:
        assert client.check("user:carol", "read", "pipeline/train", project="recs").allowed
        time.sleep(0.05)
    assert not client.check("user:carol", "read", "pipeline/train", project="recs").allowed
    deadline = time.monotonic() + 10
    storage = SqlStorage(url)
    try:
        while True:
            records = [r for r in storage.read_changes(0, 1000) if r.actor == "authz:expiry"]
            if records or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(records) == 1 and [op.id for op in records[0].operations] == [created.binding.id]
    finally:
        storage.close()
    everything = client._call(client.directory.ListRoleBindings, dir_pb.ListRoleBindingsRequest())
    assert "user:carol" not in [b.subject for b in everything.bindings]


def test_a_time_in_the_past_is_invalid_argument_naming_the_field(world):
    _, client, _, _ = world
    requests = [
        (client.directory.CreateRoleBinding, dir_pb.CreateRoleBindingRequest(
            subject="user:x", role="project_viewer", scope=scope(project="recs"), expires_at=timestamp_in(-1))),
        (client.directory.AddTeamMember, dir_pb.AddTeamMemberRequest(
            team_id="ds", subject="user:x", expires_at=timestamp_in(-1))),
        (client.directory.Import, dir_pb.ImportRequest(operations=[dir_pb.Operation(
            add_team_member=dir_pb.AddTeamMemberRequest(team_id="ds", subject="user:x",
                                                        expires_at=timestamp_in(-1)))])),
    ]
    for method, request in requests:
        with pytest.raises(grpc.RpcError) as caught:
            client._call(method, request)
        assert caught.value.code() == CODE.INVALID_ARGUMENT
        assert "expires_at" in caught.value.details() and "in the past" in caught.value.details()


def test_a_share_and_a_membership_that_expire_show_it_when_listed(world):
    _, client, _, _ = world
    expires = timestamp_in(3600)
    request = dir_pb.SetResourceMembershipRequest(subject="user:eve", scope=scope(project="recs"), actions=["read"],
                                                  expires_at=expires)
    request.resource.type, request.resource.id = "pipeline", "churn"
    client._call(client.directory.SetResourceMembership, request)
    shares = client.list_resource_shares(subject="user:eve").shares
    assert [s.expires_at for s in shares] == [expires]
    client._call(client.directory.AddTeamMember, dir_pb.AddTeamMemberRequest(
        team_id="ds", subject="user:eve", expires_at=expires))
    who = client.list_subjects("read", "pipeline/train", project="recs")
    grants = [g for s in who.subjects if s.subject == "user:eve" for g in s.grants if g.via_team]
    assert grants and all(g.via_team_expires_at == expires for g in grants)
