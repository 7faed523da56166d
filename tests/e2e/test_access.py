"""Who has access, through the real server: ListSubjects and ListSubjectAccess over gRPC,
their tokens, pages and errors, and the who-can, access and access-report commands against
the example organization, whose rows are known."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import grpc
import pytest

from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.client import check_request
from authz.testing import example
from authz.testing.server import Server

pytestmark = pytest.mark.e2e

CHECK_TOKEN = "checks-only-token"
SUBJECTS = sorted({member for members in example.TEAMS.values() for member in members}
                  | {f"team:{team}" for team in example.TEAMS} | {"user:olivia", "user:nobody"})
# (subject, kind, role, node, through team, resource, actions): the example's access report.
REPORT = [
    ("service_account:ci-bot", "binding", "organization_member", "organization:acme", "team:ml-engineering", "", ""),
    ("team:data-science", "binding", "organization_member", "organization:acme", "", "", ""),
    ("team:ml-engineering", "binding", "organization_member", "organization:acme", "", "", ""),
    ("user:ada", "binding", "organization_member", "organization:acme", "team:data-science", "", ""),
    ("user:grace", "binding", "organization_member", "organization:acme", "team:data-science", "", ""),
    ("user:linus", "binding", "organization_member", "organization:acme", "team:ml-engineering", "", ""),
    ("user:margaret", "binding", "organization_member", "organization:acme", "team:ml-engineering", "", ""),
    ("user:olivia", "binding", "organization_admin", "organization:acme", "", "", ""),
    ("service_account:ci-bot", "binding", "stack_admin", "workspace:production", "team:ml-engineering", "", ""),
    ("service_account:ci-bot", "binding", "workspace_viewer", "workspace:production", "team:ml-engineering", "", ""),
    ("team:ml-engineering", "binding", "stack_admin", "workspace:production", "", "", ""),
    ("team:ml-engineering", "binding", "workspace_viewer", "workspace:production", "", "", ""),
    ("user:linus", "binding", "stack_admin", "workspace:production", "team:ml-engineering", "", ""),
    ("user:linus", "binding", "workspace_viewer", "workspace:production", "team:ml-engineering", "", ""),
    ("user:margaret", "binding", "stack_admin", "workspace:production", "team:ml-engineering", "", ""),
    ("user:margaret", "binding", "workspace_viewer", "workspace:production", "team:ml-engineering", "", ""),
    ("team:data-science", "binding", "project_viewer", "project:prod-fraud-detection", "", "", ""),
    ("user:ada", "binding", "project_viewer", "project:prod-fraud-detection", "team:data-science", "", ""),
    ("user:grace", "binding", "project_admin", "project:prod-fraud-detection", "", "", ""),
    ("user:grace", "binding", "project_viewer", "project:prod-fraud-detection", "team:data-science", "", ""),
    ("service_account:ci-bot", "binding", "project_developer", "project:prod-recommendations", "", "", ""),
    ("team:data-science", "binding", "project_viewer", "project:prod-recommendations", "", "", ""),
    ("user:ada", "binding", "project_viewer", "project:prod-recommendations", "team:data-science", "", ""),
    ("user:grace", "binding", "project_viewer", "project:prod-recommendations", "team:data-science", "", ""),
    ("user:eve", "share", "", "project:prod-recommendations", "", "pipeline/churn-model-training", "read"),
    ("service_account:ci-bot", "binding", "workspace_admin", "workspace:staging", "team:ml-engineering", "", ""),
    ("team:data-science", "binding", "workspace_developer", "workspace:staging", "", "", ""),
    ("team:ml-engineering", "binding", "workspace_admin", "workspace:staging", "", "", ""),
    ("user:ada", "binding", "workspace_developer", "workspace:staging", "team:data-science", "", ""),
    ("user:grace", "binding", "workspace_developer", "workspace:staging", "team:data-science", "", ""),
    ("user:linus", "binding", "workspace_admin", "workspace:staging", "team:ml-engineering", "", ""),
    ("user:margaret", "binding", "workspace_admin", "workspace:staging", "team:ml-engineering", "", ""),
    ("team:contractors", "binding", "project_contributor", "project:staging-llms", "", "", ""),
    ("user:eve", "binding", "project_contributor", "project:staging-llms", "team:contractors", "", ""),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("access")
    (workdir / "check.token").write_text(CHECK_TOKEN + "\n")
    instance = Server(workdir, f"sqlite:///{workdir / 'authz.db'}", "--check-token-file",
                      str(workdir / "check.token")).start()
    with instance.client() as client:
        client.import_operations(example.operations())
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def admin(server):
    with server.client() as client:
        yield client


def authz(server, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "authz.cli", *args, "--grpc-address", server.address,
               "--database-url", server.database_url]
    return subprocess.run(command, cwd=server.workdir, capture_output=True, text=True, timeout=60)


def node_of(scope) -> str:
    kind = "project" if scope.project_id else "workspace" if scope.workspace_id else "organization"
    return f"{kind}:{getattr(scope, kind + '_id')}"


def bindings_by_key(admin) -> dict[tuple[str, str, str], str]:
    """(holder, role, node) -> binding id of every binding of the example."""
    found = {}
    for subject in SUBJECTS:
        request = dir_pb.ListRoleBindingsRequest(subject=subject)
        for binding in admin.directory.ListRoleBindings(request, metadata=admin.metadata).bindings:
            found[(binding.subject, binding.role, node_of(binding.scope))] = binding.id
    return found


QUESTIONS = [
    ("delete", "pipeline", {"project": "prod-fraud-detection"}),
    ("read", "secret/aws-credentials", {"workspace": "production"}),
    ("read", "pipeline/churn-model-training", {"project": "prod-recommendations"}),
    ("read", "project/staging-llms", {"workspace": "staging"}),
    ("read", "organization/acme", {"organization": "acme"}),
    ("update", "pipeline/train", {"project": "staging-recommendations"}),
    ("create", "stack", {"workspace": "production"}),
]


@pytest.mark.parametrize("action, resource, where", QUESTIONS)
def test_list_subjects_holds_exactly_whom_check_allows(admin, action, resource, where):
    response = admin.list_subjects(action, resource, **where)
    listed = {allowed.subject: allowed for allowed in response.subjects}
    assert [a.subject for a in response.subjects] == sorted(listed)
    checks = admin.batch_check(check_request(s, action, resource, **where) for s in SUBJECTS)
    for subject, result in zip(SUBJECTS, checks.results, strict=True):
        assert (subject in listed) == result.allowed, subject
        assert result.revision == response.revision
    assert listed, "each question has someone allowed"


def test_grants_name_the_binding_team_share_membership_and_wildcard(admin):
    keys = bindings_by_key(admin)
    fraud = admin.list_subjects("delete", "pipeline", project="prod-fraud-detection")
    assert [s.subject for s in fraud.subjects] == ["user:grace", "user:olivia"]
    grace = fraud.subjects[0].grants[0]
    assert (grace.rule, grace.binding.role, grace.wildcard) == (1, "project_admin", True)
    assert grace.binding.id == keys[("user:grace", "project_admin", "project:prod-fraud-detection")]
    assert grace.binding.scope.workspace_id == "production"  # scopes come back resolved
    churn = {s.subject: s.grants for s in admin.list_subjects(
        "read", "pipeline/churn-model-training", project="prod-recommendations").subjects}
    assert [(g.rule, g.share.subject, list(g.share.actions)) for g in churn["user:eve"]] == [(2, "user:eve", ["read"])]
    ci_bot = churn["service_account:ci-bot"]
    assert [(g.binding.role, g.via_team, g.wildcard) for g in ci_bot] == [
        ("project_developer", "", False), ("workspace_viewer", "team:ml-engineering", True)]
    members = {s.subject: s.grants for s in admin.list_subjects(
        "read", "project/staging-llms", workspace="staging").subjects}
    eve = members["user:eve"][0]
    assert (eve.rule, eve.via_team, eve.member_of.project_id) == (3, "team:contractors", "staging-llms")
    assert eve.binding.id == keys[("team:contractors", "project_contributor", "project:staging-llms")]
    unknown = admin.list_subjects("read", "pipeline", project="no-such-project")
    assert list(unknown.subjects) == [] and unknown.revision == fraud.revision


def test_pages_cover_the_answer_in_order(admin):
    whole = admin.list_subjects("read", "pipeline/churn-model-training", project="prod-recommendations")
    subjects, token = [], ""
    while True:
        page = admin.list_subjects("read", "pipeline/churn-model-training", project="prod-recommendations",
                                   page_size=2, page_token=token)
        assert len(page.subjects) <= 2 and page.revision == whole.revision
        subjects += page.subjects
        token = page.next_page_token
        if not token:
            break
    assert subjects == list(whole.subjects)
    entries, token = [], ""
    while True:
        page = admin.list_subject_access(organization="acme", page_size=3, page_token=token)
        entries += page.entries
        token = page.next_page_token
        if not token:
            break
    assert entries == list(admin.list_subject_access(organization="acme", page_size=1000).entries)
    assert len(entries) == len(REPORT)


def test_subject_access_of_the_contractor(admin):
    response = admin.list_subject_access("user:eve")
    rows = [(e.grant.rule, node_of(e.node), e.grant.via_team) for e in response.entries]
    assert rows == [(3, "organization:acme", "team:contractors"), (2, "project:prod-recommendations", ""),
                    (3, "workspace:staging", "team:contractors"), (1, "project:staging-llms", "team:contractors"),
                    (3, "project:staging-llms", "team:contractors")]
    assert list(admin.list_subject_access("user:eve", organization="other").entries) == []


def test_the_check_token_is_not_enough(server):
    with server.client(token=CHECK_TOKEN) as checker:
        assert checker.check("user:olivia", "read", "pipeline", organization="acme").allowed
        for call in (lambda: checker.list_subjects("read", "pipeline", organization="acme"),
                     lambda: checker.list_subject_access("user:eve")):
            with pytest.raises(grpc.RpcError) as caught:
                call()
            # A known token outside its scope: PERMISSION_DENIED, naming the scope it lacks.
            assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "needs scope 'admin'" in caught.value.details()
    with server.client(token=None) as anonymous, pytest.raises(grpc.RpcError) as caught:
        anonymous.list_subjects("read", "pipeline", organization="acme")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("call, code, field", [
    (lambda c: c.list_subjects("", "pipeline", project="prod-llms"), "INVALID_ARGUMENT", "action:"),
    (lambda c: c.list_subjects("read", "Pipe line", project="prod-llms"), "INVALID_ARGUMENT", "resource.type:"),
    (lambda c: c.list_subjects("read", "pipeline"), "INVALID_ARGUMENT", "scope:"),
    (lambda c: c.list_subjects("read", "pipeline", project="prod-llms", page_size=1001), "INVALID_ARGUMENT",
     "page_size:"),
    (lambda c: c.list_subjects("read", "pipeline", project="prod-llms", page_token="bm9wZQ=="), "INVALID_ARGUMENT",
     "page_token:"),
    (lambda c: c.list_subject_access(), "INVALID_ARGUMENT", "subject:"),
    (lambda c: c.list_subject_access("eve"), "INVALID_ARGUMENT", "subject:"),
    (lambda c: c.list_subject_access(organization="a b"), "INVALID_ARGUMENT", "organization_id:"),
])
def test_bad_requests_name_the_field(admin, call, code, field):
    with pytest.raises(grpc.RpcError) as caught:
        call(admin)
    assert caught.value.code().name == code and caught.value.details().startswith(field), caught.value.details()


def test_a_token_belongs_to_its_question(admin):
    token = admin.list_subjects("read", "pipeline", project="prod-recommendations", page_size=1).next_page_token
    assert token
    with pytest.raises(grpc.RpcError) as caught:
        admin.list_subjects("delete", "pipeline", project="prod-recommendations", page_token=token)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_commands_print_text_json_and_csv(server, admin):
    who = authz(server, "who-can", "delete", "pipeline", "--project", "prod-fraud-detection", "--format", "json")
    assert who.returncode == 0, who.stderr
    answer = json.loads(who.stdout)
    assert [s["subject"] for s in answer["subjects"]] == ["user:grace", "user:olivia"]
    assert answer["subjects"][1]["grants"][0] | {"binding_id": ""} == {
        "subject": "user:olivia", "kind": "binding", "role": "organization_admin", "node": "organization:acme",
        "through_team": "", "binding_id": "", "resource": "", "actions": [], "wildcard": True}
    eve = authz(server, "access", "user:eve", "--format", "json")
    assert eve.returncode == 0, eve.stderr
    assert [(r["kind"], r["node"]) for r in json.loads(eve.stdout)["rows"]][:2] == [
        ("member", "organization:acme"), ("share", "project:prod-recommendations")]
    text = authz(server, "access", "team:contractors")
    assert text.returncode == 0 and "1 binding, 0 shares, 3 memberships" in text.stdout.splitlines()[0]
    missing = authz(server, "who-can", "read", "pipeline")
    assert missing.returncode == 2 and "give --project" in missing.stderr
    bad = authz(server, "access", "eve")
    assert bad.returncode == 2 and "INVALID_ARGUMENT: subject:" in bad.stderr


def test_access_report_rows_are_the_known_ones(server, admin):
    done = authz(server, "access-report", "--organization", "acme", "--format", "csv")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    revision = admin.list_subject_access(organization="acme").revision
    assert header == f"# access report of organization:acme at revision {revision}"
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    assert [(r["subject"], r["kind"], r["role"], r["node"], r["through_team"], r["resource"], r["actions"])
            for r in rows] == REPORT
    keys = bindings_by_key(admin)
    for row in rows:
        if row["kind"] == "binding":
            holder = row["through_team"] or row["subject"]
            assert row["binding_id"] == keys[(holder, row["role"], row["node"])]
        else:
            assert row["binding_id"] == ""


def test_a_listing_across_a_write_is_aborted(server, admin):
    """Last in the module: it writes."""
    first = admin.list_subject_access(organization="acme", page_size=5)
    admin.create_organization("elsewhere")
    with pytest.raises(grpc.RpcError) as caught:
        admin.list_subject_access(organization="acme", page_size=5, page_token=first.next_page_token)
    assert caught.value.code() == grpc.StatusCode.ABORTED
    assert "start again" in caught.value.details()
    done = authz(server, "access-report", "--organization", "acme", "--format", "json")
    report = json.loads(done.stdout)
    assert report["revision"] == first.revision + 1 and len(report["rows"]) == len(REPORT)


def test_the_commands_start_a_listing_again_when_a_write_aborts_it(admin):
    """A real write between the first and second page of the first attempt: the server aborts
    the second page, and the listing starts again at the new revision."""
    from authz.cli.access import _all_pages

    calls: list[str] = []

    def fetch(token: str):
        calls.append(token)
        page = admin.list_subject_access(organization="acme", page_size=10, page_token=token)
        if len(calls) == 1:
            admin.create_organization(f"interloper{page.revision}")
        return page

    entries, revision = _all_pages(fetch, "entries")
    fresh = admin.list_subject_access(organization="acme", page_size=1000)
    assert revision == fresh.revision and entries == list(fresh.entries)
    assert calls[0] == "" and calls[1] != "" and calls[2] == ""  # page 1, the aborted page 2, page 1 again
