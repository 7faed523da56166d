"""ListSubjects (AuthorizationService) and ListSubjectAccess (DirectoryService): who has
access, and what someone holds. Both answer from the index at one revision, and a page token
names that revision: once a write has moved the server on, the next page is ABORTED and the
listing starts again, so the pages of one listing never mix two states."""

from __future__ import annotations

import base64
import binascii
import zlib

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.domain.errors import InvalidArgument, StaleListing
from authz.domain.validation import check_id, check_name, check_subject
from authz.service.authorizer import View

from . import convert
from .backend import Backend

_NOT_OURS = "is not a token this server issued for this question"


def _token(revision: int, question: str, cursor: str) -> str:
    """A page token: the revision, a digest of the question, and where the next page starts."""
    text = f"{revision}:{zlib.crc32(question.encode()):08x}:{cursor}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _cursor(token: str, revision: int, question: str) -> str | None:
    """Where the page starts (None: the first page). INVALID_ARGUMENT for a token that is not
    ours or was issued for another question; ABORTED for one of an earlier revision."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        issued, digest, cursor = text.split(":", 2)
        issued_at = int(issued)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(_NOT_OURS, "page_token") from None
    if digest != f"{zlib.crc32(question.encode()):08x}":
        raise InvalidArgument(_NOT_OURS, "page_token")
    if issued_at != revision:
        raise StaleListing(f"the listing was at revision {issued_at} and the server is now at {revision}; "
                           "start again from the first page", "page_token")
    return cursor


def _numbers(cursor: str, count: int) -> list[int]:
    try:
        numbers = [int(part) for part in cursor.split(".")]
    except ValueError:
        numbers = []
    if len(numbers) != count or any(n < 0 for n in numbers):
        raise InvalidArgument(_NOT_OURS, "page_token")
    return numbers


class _Scopes(dict):
    """Node -> its full Scope message, each made once per answer."""

    def __init__(self, view: View) -> None:
        super().__init__()
        self.view = view

    def __missing__(self, node):
        message = self[node] = convert.scope_to_proto(self.view.scope_of(node))
        return message


async def list_subjects(backend: Backend, request: authz_pb.ListSubjectsRequest, context):
    await backend.wait_for(request.at_least_revision, context)
    view = backend.authorizer.view()
    check_name(request.action, "action", "action")
    if not request.HasField("resource"):
        raise InvalidArgument("is required", "resource")
    resource = convert.resource_from_proto(request.resource)
    check_name(resource.type, "resource.type", "resource type")
    if resource.id:
        check_id(resource.id, "resource.id")
    size = backend.limits.page_size(request.page_size, "subjects asked for")
    scope = convert.scope_from_proto(request.scope)
    question = f"subjects {request.action} {resource.type}/{resource.id} {scope}"
    revision = view.revision
    after = _cursor(request.page_token, revision, question) or ""
    page, more = view.list_subjects(request.action, resource, scope, after, size)
    scopes = _Scopes(view).__getitem__
    response = authz_pb.ListSubjectsResponse(revision=revision)
    member_expiry = view.member_expiry
    for allowed in page:
        entry = response.subjects.add(subject=allowed.subject)
        for grant in allowed.grants:
            convert.fill_grant(entry.grants.add(), grant, scopes,
                               lambda team, who=allowed.subject: member_expiry(team[5:], who))
    if more:
        response.next_page_token = _token(revision, question, page[-1].subject)
    return response


async def list_subject_access(backend: Backend, request: dir_pb.ListSubjectAccessRequest, context):
    await backend.wait_for(request.at_least_revision, context)
    view = backend.authorizer.view()
    subject, organization = request.subject, request.organization_id
    if subject:
        check_subject(subject, "subject")
    elif not organization:
        raise InvalidArgument("give a subject, or an organization_id for everyone's access in it", "subject")
    if organization:
        check_id(organization, "organization_id")
    size = backend.limits.page_size(request.page_size, "entries asked for")
    question = f"access {subject} {organization}"
    revision = view.revision
    cursor = _cursor(request.page_token, revision, question)
    if subject:
        (offset,) = _numbers(cursor, 1) if cursor is not None else (0,)
        rows = view.subject_access(subject, organization)
        page = rows[offset:offset + size]
        following = f"{offset + size}" if offset + size < len(rows) else None
    else:
        position, offset = _numbers(cursor, 2) if cursor is not None else (0, 0)
        page, next_start = view.organization_access(organization, position, offset, size)
        following = None if next_start is None else f"{next_start[0]}.{next_start[1]}"
    scopes = _Scopes(view).__getitem__
    response = dir_pb.ListSubjectAccessResponse(revision=revision)
    for row in page:
        entry = response.entries.add(subject=row.subject)
        entry.node.CopyFrom(scopes(row.node))
        convert.fill_grant(entry.grant, row.grant, scopes,
                           lambda team, who=row.subject: view.member_expiry(team[5:], who))
    if following is not None:
        response.next_page_token = _token(revision, question, following)
    return response

