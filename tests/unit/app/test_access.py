"""Ownership decided on the server: owner tokens, the check, the cookie middleware, private folders."""

from __future__ import annotations

import pytest

from app.access import (OWNER_COOKIE, NoSuchConversation, OwnerCookieMiddleware, check_owner, new_token, owned,
                        owner_of, parse_token, private_folder)
from dialogue.store import ConversationStore


@pytest.fixture
def store(tmp_path):
    with ConversationStore(tmp_path / "c.db") as s:
        yield s


def test_tokens_are_random_and_only_well_formed_values_count():
    a, b = new_token(), new_token()
    assert a != b and a.digest != b.digest and len(a.digest) == 64
    assert a.secret not in repr(a)  # never logged by accident
    for bad in (None, "", "short", "x" * 39, "bad chars!" * 5, 42):
        assert parse_token(bad) is None
    assert parse_token(a.secret) == a


class _Req:
    def __init__(self, cookies):
        self.cookies = cookies


def test_owner_of_reads_requests_mappings_and_secrets():
    t = new_token()
    assert owner_of(_Req({OWNER_COOKIE: t.secret})) == t
    assert owner_of({OWNER_COOKIE: t.secret}) == t
    assert owner_of(t.secret) == t and owner_of(t) == t
    for nothing in (None, _Req({}), {"other": t.secret}, "made-up"):
        with pytest.raises(NoSuchConversation, match="no such conversation"):
            owner_of(nothing)


def test_check_owner_gives_one_answer_for_unknown_foreign_and_local(store):
    mine, theirs = new_token(), new_token()
    store.create("c-mine", owner=mine.digest)
    store.create("c-theirs", owner=theirs.digest)
    store.create("c-local")  # the CLI's: no web request owns it
    check_owner(store, "c-mine", mine)
    for cid, token in (("c-theirs", mine), ("c-local", mine), ("ghost", mine), ("c-mine", "x" * 43),
                       ("c-mine", None), ("", mine)):
        with pytest.raises(NoSuchConversation) as info:
            check_owner(store, cid, token)
        assert str(info.value) == "no such conversation"
    assert [c.id for c in owned(store, mine)] == ["c-mine"] and owned(store, None) == []


def test_private_folder_is_stable_and_not_derivable_from_the_id(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    name = private_folder(a, "conv1")
    assert name == private_folder(a, "conv1") and name.startswith("conv1-") and len(name) == len("conv1-") + 32
    assert name != private_folder(b, "conv1")  # another server secret, another name
    assert private_folder(a, "conv2") != name
    assert (a / "ui_secret").stat().st_mode & 0o077 == 0


def test_middleware_issues_an_httponly_cookie_the_same_request_already_sees():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    def echo(request):
        return PlainTextResponse(request.cookies.get(OWNER_COOKIE, "") + "|" + request.cookies.get("other", ""))

    app = Starlette(routes=[Route("/", echo)], middleware=[Middleware(OwnerCookieMiddleware)])
    with TestClient(app) as client:
        first = client.get("/", headers={"cookie": "other=1"})
        issued = first.cookies.get(OWNER_COOKIE)
        assert parse_token(issued) is not None and first.text == f"{issued}|1"
        header = first.headers["set-cookie"]
        assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
        again = client.get("/")  # the client keeps the cookie: no new one is issued
        assert again.text.startswith(issued) and "set-cookie" not in again.headers
    with TestClient(app, cookies={OWNER_COOKIE: "made-up"}) as client:  # a malformed one is replaced
        replaced = client.get("/")
        assert replaced.cookies.get(OWNER_COOKIE) not in (None, issued, "made-up")
        assert replaced.text.startswith(replaced.cookies.get(OWNER_COOKIE))
