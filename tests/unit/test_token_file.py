"""The tokens file: hashes only, named and scoped, appended and revoked in place."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from authz import token_file
from authz.token_file import TokenFile, TokenFileError


def test_create_appends_a_hash_never_the_token(tmp_path):
    path = tmp_path / "tokens"
    token = token_file.append(path, "zenml", "integration")
    text = path.read_text()
    assert token not in text
    assert text == f"zenml integration sha256:{hashlib.sha256(token.encode()).hexdigest()}\n"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert token_file.read(path) == (token_file.Entry("zenml", "integration", token_file.digest(token)),)
    assert len(token) > 40 and token != token_file.append(path, "other", "check")


@pytest.mark.parametrize(("text", "message"), [
    ("zenml integration\n", "tokens:1: expected 'NAME SCOPE sha256:HEX', got 2 fields"),
    ("zenml root sha256:" + "0" * 64, "tokens:1: unknown scope 'root' (use one of check, integration, audit, admin)"),
    ("zenml check sha256:abc", "tokens:1: the hash must be"),
    ("# c\na check sha256:" + "0" * 64 + "\na check sha256:" + "1" * 64, "tokens:3: the name 'a' is used twice"),
    ("a check sha256:" + "0" * 64 + "\nb check sha256:" + "0" * 64, "tokens:2: the same token is listed twice"),
    ("admin admin sha256:" + "0" * 64, "tokens:1: the name 'admin' is reserved"),
    ("bad/name check sha256:" + "0" * 64, "tokens:1: 'bad/name' is not a token name"),
])
def test_a_malformed_file_names_its_line(text, message):
    with pytest.raises(TokenFileError) as caught:
        token_file.parse(text, "tokens")
    assert str(caught.value).startswith(message)


def test_duplicates_and_reserved_names_are_refused_when_creating(tmp_path):
    path = tmp_path / "tokens"
    token_file.append(path, "zenml", "integration")
    with pytest.raises(TokenFileError, match="a token named 'zenml' exists already"):
        token_file.append(path, "zenml", "check")
    with pytest.raises(TokenFileError, match="reserved"):
        token_file.append(path, "check", "check")
    assert [entry.name for entry in token_file.read(path)] == ["zenml"]


def test_concurrent_creates_and_a_revoke_lose_no_line(tmp_path):
    path = tmp_path / "tokens"
    token_file.append(path, "victim", "check")
    threads = [threading.Thread(target=token_file.append, args=(path, f"t{i}", "check")) for i in range(20)]
    threads.append(threading.Thread(target=token_file.remove, args=(path, "victim")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(entry.name for entry in token_file.read(path)) == sorted(f"t{i}" for i in range(20))


def test_revoke_keeps_comments_and_other_lines(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("# ops team\n")
    keep = token_file.append(path, "keep", "admin")
    token_file.append(path, "drop", "check")
    assert token_file.remove(path, "drop") and not token_file.remove(path, "drop")
    assert path.read_text().startswith("# ops team\nkeep admin ")
    assert [entry.digest for entry in token_file.read(path)] == [token_file.digest(keep)]


def test_the_file_is_re_read_when_it_changes_and_a_broken_edit_keeps_the_last_good_tokens(tmp_path, caplog):
    path = tmp_path / "tokens"
    first = token_file.append(path, "first", "check")
    tokens = TokenFile(path, interval=0)
    assert tokens.find(token_file.digest(first)).name == "first"
    second = token_file.append(path, "second", "integration")
    assert tokens.find(token_file.digest(second)).scope == "integration"
    token_file.remove(path, "first")
    assert tokens.find(token_file.digest(first)) is None
    path.write_text(path.read_text() + "garbage\n")
    assert tokens.find(token_file.digest(second)) is not None
    assert "cannot be used, keeping the previous tokens" in caplog.text
    path.unlink()
    assert tokens.find(token_file.digest(second)) is None


def test_a_missing_or_broken_file_stops_start_up(tmp_path):
    with pytest.raises(TokenFileError, match="cannot be read"):
        TokenFile(tmp_path / "missing")
    (tmp_path / "bad").write_text("x y z\n")
    with pytest.raises(TokenFileError, match="bad:1: unknown scope 'y'"):
        TokenFile(tmp_path / "bad")
