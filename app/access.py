"""Who may touch a conversation: the per-browser owner secret, decided on the server.

Every browser (and every API client) gets a random owner secret from the server in an HttpOnly
cookie (`warmchat_owner`, set by `OwnerCookieMiddleware` on the first response it lacks one).
Page scripts cannot read it; the browser sends it with every request, WebSocket included. The
database keeps only its SHA-256 digest, in `conversations.owner`. A conversation is reachable
through the web app only by a request whose secret hashes to that digest: every handler that
opens, continues, switches, exports or streams a conversation calls `check_owner` first, and an
unknown id, someone else's id and a made-up secret all get the same answer, "no such
conversation" (so the answer does not tell which ids exist).

Conversations made by the CLI have no owner (NULL): the terminal user owns the data dir, and the
web app never opens them.

Files of a conversation (rendered video, exports) live in folders whose names carry a key derived
from the server's secret (`private_folder`), so knowing or guessing a conversation id never gives
a file path that the web server would serve.

Usage from a route of the app (gradio handler, HTTP or WebSocket route):

    token = owner_of(request)                  # gr.Request | starlette Request/WebSocket | secret
    check_owner(store, conversation_id, token) # raises NoSuchConversation
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

OWNER_COOKIE = "warmchat_owner"
COOKIE_MAX_AGE_S = 10 * 365 * 24 * 3600  # a browser keeps its conversations for years
_SECRET = re.compile(r"^[A-Za-z0-9_-]{40,128}$")  # what new_token() makes (43 characters)


class NoSuchConversation(LookupError):
    """The conversation does not exist or does not belong to the caller (the same answer for both)."""

    def __init__(self, conversation_id: str | None = None):
        super().__init__("no such conversation")
        self.conversation_id = conversation_id


@dataclass(frozen=True, slots=True)
class OwnerToken:
    """A browser's owner secret. `digest` is what the database stores; the secret never is."""

    secret: str = field(repr=False)

    @property
    def digest(self) -> str:
        """SHA-256 of the secret, hex (64 characters)."""
        return hashlib.sha256(self.secret.encode("ascii")).hexdigest()


def new_token() -> OwnerToken:
    """A fresh owner secret (256 random bits)."""
    return OwnerToken(secrets.token_urlsafe(32))


def parse_token(value: object) -> OwnerToken | None:
    """The token in a cookie value, or None when it is missing or not shaped like one."""
    if isinstance(value, str) and _SECRET.match(value):
        return OwnerToken(value)
    return None


def owner_of(source: Any) -> OwnerToken:
    """The owner token a request carries.

    source: a `gr.Request`, a starlette `Request` or `WebSocket` (anything with `.cookies`), a
        mapping of cookies, an OwnerToken or the secret itself.

    Raises:
        NoSuchConversation: no valid owner cookie (such a caller owns nothing).
    """
    if isinstance(source, OwnerToken):
        return source
    if isinstance(source, str):
        value: object = source
    else:
        try:
            cookies = source.cookies  # gr.Request, starlette Request and WebSocket
        except AttributeError:  # a plain mapping, or a gr.Request built without a request
            cookies = source if isinstance(source, Mapping) else None
        value = cookies.get(OWNER_COOKIE) if cookies is not None else None
    token = parse_token(value)
    if token is None:
        raise NoSuchConversation()
    return token


def check_owner(store, conversation_id: str | None, token: OwnerToken | Any) -> None:
    """Raise NoSuchConversation unless `conversation_id` exists and belongs to `token`.

    store: a dialogue.store.ConversationStore. token: an OwnerToken or anything `owner_of` reads.
    Compares digests in constant time.
    """
    from dialogue.store import StoreError

    if not conversation_id:
        raise NoSuchConversation(conversation_id)
    token = owner_of(token)
    try:
        stored = store.owner(conversation_id)
    except StoreError:
        raise NoSuchConversation(conversation_id) from None
    if stored is None or not hmac.compare_digest(stored, token.digest):
        log.info("refused conversation %s to a request that does not own it", conversation_id)
        raise NoSuchConversation(conversation_id)


def owned(store, token: OwnerToken | Any) -> list:
    """The caller's conversations (ConversationInfo, most recent first); [] without a token."""
    try:
        token = owner_of(token)
    except NoSuchConversation:
        return []
    return store.list_conversations(owner=token.digest)


# --- the server secret and private folder names ---------------------------------------------


def server_secret(data_dir: str | Path) -> str:
    """The server's own random secret (`<data dir>/ui_secret`, mode 0600), created on first use.

    It keys private folder names and the gradio BrowserState encryption; it is never sent.
    """
    path = Path(data_dir) / "ui_secret"
    if not path.is_file():
        from app.ui.storage import atomic_write_text

        atomic_write_text(path, secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def folder_key(data_dir: str | Path, conversation_id: str) -> str:
    """The private key of one conversation's folders: 32 hex of HMAC-SHA256(server secret, id).

    Folder names carry it after the id (`media/<id>-<key>`, dialogue.turns.media_folder;
    `exports/<id>-<key>`): the id stays readable for people looking at the data dir, and the
    name cannot be derived from the id, so a file in a served folder is reachable only through
    the server handing it out.
    """
    return hmac.new(server_secret(data_dir).encode(), conversation_id.encode(), hashlib.sha256).hexdigest()[:32]


def private_folder(data_dir: str | Path, conversation_id: str) -> str:
    """The folder name for one conversation's files: `<id>-<folder_key>`."""
    return f"{conversation_id}-{folder_key(data_dir, conversation_id)}"


# --- what the server reads for a persona ----------------------------------------------------


def avatar_source(avatar: str, avatars_dir: str | Path) -> str:
    """What the renderer is given for a persona's avatar: a built-in name as it is, else the path
    of a portrait inside `avatars_dir` (a file name there, or a path that resolves inside it,
    symlinks followed). A persona saved by a web user cannot make the server read other files.

    Raises:
        avatar.face.landmarks.PortraitError: anything else, with one message whether or not a
            file of that name exists elsewhere (the answer must not tell).
    """
    from avatar.face.landmarks import PortraitError
    from avatar.render import list_builtin_avatars

    builtin = list_builtin_avatars()
    if avatar in builtin:
        return avatar
    root = Path(avatars_dir).resolve()
    found = None
    if avatar:
        candidate = Path(avatar) if Path(avatar).is_absolute() else root / avatar
        try:
            found = candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a symlink loop, unreadable
            found = None
    if found is None or not found.is_relative_to(root) or not found.is_file():
        raise PortraitError(f"avatar {str(avatar)[:80]!r} is neither a built-in avatar ({', '.join(builtin)}) nor a "
                            "portrait uploaded in the Persona tab")
    return str(found)


# --- the cookie -------------------------------------------------------------------------------


def _cookie_header(token: OwnerToken, secure: bool) -> bytes:
    attrs = f"{OWNER_COOKIE}={token.secret}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict"
    return (attrs + ("; Secure" if secure else "")).encode("latin-1")


def _request_cookie(headers: list[tuple[bytes, bytes]]) -> OwnerToken | None:
    for name, value in headers:
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: treat as no cookie (http.cookies.CookieError)
                continue
            morsel = jar.get(OWNER_COOKIE)
            if morsel is not None and (token := parse_token(morsel.value)) is not None:
                return token
    return None


class OwnerCookieMiddleware:
    """ASGI middleware: every HTTP request carries an owner cookie.

    A request without a valid `warmchat_owner` cookie gets a fresh secret: added to the request's
    own Cookie header (so the handler of this very request sees it) and set on the response
    (HttpOnly, SameSite=Strict, Secure over https). WebSocket requests are passed through as
    they are (a page always loads over HTTP first, which sets the cookie).
    Pure ASGI (no response buffering): streamed responses (SSE, video) pass untouched.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _request_cookie(scope.get("headers", [])) is not None:
            await self.app(scope, receive, send)
            return
        token = new_token()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"cookie"]
        others = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie")
        cookie = f"{OWNER_COOKIE}={token.secret}".encode("latin-1")
        headers.append((b"cookie", others + b"; " + cookie if others else cookie))
        scope = dict(scope, headers=headers)
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) +
                               [(b"set-cookie", _cookie_header(token, secure))])
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def middleware() -> list:
    """The app's middleware for `Blocks.launch(app_kwargs={"middleware": ...})`."""
    from starlette.middleware import Middleware

    return [Middleware(OwnerCookieMiddleware)]
