"""Which inference servers a ``remote:NAME`` column may use, and how to talk to them without leaking them.

A column named ``remote:NAME`` runs on a server configured outside the UI, so that its address and key
never appear in it. Either environment variables (NAME upper-cased, ``-`` as ``_``)::

    PLAYGROUND_REMOTE_<NAME>_URL     base URL, e.g. http://10.0.0.5:8000 (with or without /v1)
    PLAYGROUND_REMOTE_<NAME>_KEY     API key, sent as "Authorization: Bearer ..." (optional)
    PLAYGROUND_REMOTE_<NAME>_MODEL   the model's name on the server (optional if it serves one model)

or a YAML file named by ``PLAYGROUND_REMOTE_CONFIG`` (the variables above override it)::

    servers:
      smollm2-q4:
        url: http://127.0.0.1:8080
        key_env: SMOLLM2_KEY        # the variable that holds the key, or key: ... in the file itself
        model: smollm2
        instruct: true              # prompts go through the server's chat template unless turned off
        document_start: "<|endoftext|>"   # text put before plain prompts and scored texts
        dtype: Q4_1                 # the server's precision, shown beside its metrics

The URL and key are redacted from every message, repr and log record (``RemoteServer.redact``, a
log filter on httpx's loggers); errors name the server by its configured name only.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import yaml

from playground.errors import PlaygroundError
from playground.references import parse_reference

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


PREFIX = "remote:"
_FILE_KEYS = {"url", "key", "key_env", "model", "instruct", "document_start", "dtype"}


@dataclass(frozen=True, repr=False)
class RemoteServer:
    """One configured server: where it is (kept out of every message), the model and how to talk to it."""

    name: str
    url: str
    key: str | None = None
    model: str | None = None  # None: the one model the server lists
    instruct: bool = False
    document_start: str = ""
    dtype: str = "set by the server"
    env: str = ""  # the prefix of its environment variables, PLAYGROUND_REMOTE_<NAME>_, named in messages

    @property
    def label(self) -> str:
        return PREFIX + self.name

    @property
    def base_url(self) -> str:
        return re.sub(r"/v1/?$", "", self.url.rstrip("/"))

    def redact(self, text: str) -> str:
        """The text with the key, the URL and the host replaced, for messages and logs."""
        where = urlsplit(self.base_url)
        for secret in filter(None, [self.key, self.base_url, where.netloc, where.hostname]):
            text = text.replace(secret, f"<{self.label}>")
        return text

    def __repr__(self) -> str:
        key = "<hidden>" if self.key else None
        return f"RemoteServer(name={self.name!r}, model={self.model!r}, url=<hidden>, key={key})"


def is_remote(reference: str) -> bool:
    return isinstance(reference, str) and reference.strip().startswith(PREFIX)


def server_config(reference: str) -> RemoteServer:
    """The server a ``remote:NAME`` reference names, from the environment or the configuration file."""
    name = parse_reference(reference).name  # the one rule for NAME, and its message
    entry = _file_entry(name)
    env = f"PLAYGROUND_REMOTE_{name.upper().replace('-', '_')}_"
    url = os.environ.get(env + "URL") or entry.get("url")
    if not url:
        where = f" or under servers: {name}: in {os.environ['PLAYGROUND_REMOTE_CONFIG']}" if _config_path() else ""
        raise PlaygroundError(
            f"Remote column {PREFIX}{name} is not configured: set {env}URL (and {env}KEY, {env}MODEL if needed){where}."
        )
    if not re.match(r"^https?://[^/\s]+", url):
        raise PlaygroundError(f"The URL configured for {PREFIX}{name} is not an http(s) URL: fix {env}URL.")
    key = os.environ.get(env + "KEY") or entry.get("key")
    if not key and entry.get("key_env"):
        key = os.environ.get(str(entry["key_env"]))
    return RemoteServer(
        name=name,
        url=url,
        key=key or None,
        model=os.environ.get(env + "MODEL") or entry.get("model"),
        instruct=bool(entry.get("instruct", False)),
        document_start=str(entry.get("document_start", "")),
        dtype=str(entry.get("dtype", "set by the server")),
        env=env,
    )


def _config_path() -> Path | None:
    path = os.environ.get("PLAYGROUND_REMOTE_CONFIG")
    return Path(path).expanduser() if path else None


def _file_entry(name: str) -> dict:
    path = _config_path()
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PlaygroundError(
            f"Cannot read PLAYGROUND_REMOTE_CONFIG ({path}): {type(exc).__name__}. Fix the file."
        ) from exc
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise PlaygroundError(f"{path}: the file must hold a 'servers:' mapping of names to url, key, model.")
    entry = servers.get(name) or {}
    unknown = set(entry) - _FILE_KEYS if isinstance(entry, dict) else {"(not a mapping)"}
    if unknown:
        raise PlaygroundError(f"{path}: servers: {name}: unknown keys {sorted(unknown)}; known: {sorted(_FILE_KEYS)}.")
    return entry


# --- talking to the server ---------------------------------------------------------------------

# httpx logs every request's URL at INFO and httpcore the host at DEBUG: those records pass through
# this filter, which replaces what any configured server's redact() hides.
_SERVERS: dict[str, RemoteServer] = {}


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for server in list(_SERVERS.values()):
            message = server.redact(message)
        record.msg, record.args = message, None
        return True


_FILTER = _Redact()
for _logger in ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_logger).addFilter(_FILTER)


def client(server: RemoteServer, timeout: float = 60.0) -> httpx.Client:
    """An HTTP client for the server; the key travels only in the Authorization header."""
    _SERVERS[server.name] = server
    headers = {"Authorization": f"Bearer {server.key}"} if server.key else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=httpx.Timeout(timeout, connect=5.0))


def fail(server: RemoteServer, message: str) -> PlaygroundError:
    return PlaygroundError(server.redact(f"{server.label}: {message}"))


def http_error(server: RemoteServer, response: httpx.Response) -> PlaygroundError:
    """The user's message for a refused request: wrong key, unknown model or endpoint, or the server's words."""
    code = response.status_code
    if code in (401, 403):
        return fail(
            server,
            f"the server refused the API key (HTTP {code}). Set the key it was started with in the "
            f"{server.env}KEY (or key: in the configuration file).",
        )
    detail = _detail(response)
    if code == 404:
        return fail(
            server,
            f"the server has no such model or endpoint (HTTP 404: {detail}). Check the model name "
            "and that the server is OpenAI-compatible (it must answer /v1/completions).",
        )
    return fail(server, f"the server answered HTTP {code}: {detail}")


def _detail(response: httpx.Response) -> str:
    """The server's own words about a failed request: its error message, shortened."""
    try:
        detail = response.json()
        detail = detail.get("error", detail) if isinstance(detail, dict) else detail
        detail = detail.get("detail", detail) if isinstance(detail, dict) else detail
        detail = detail.get("message", detail) if isinstance(detail, dict) else detail
    except ValueError:
        detail = response.text
    return " ".join(str(detail).split())[:300]


def connection_error(server: RemoteServer, exc: Exception) -> PlaygroundError:
    if isinstance(exc, httpx.TimeoutException):
        return fail(server, "the server did not answer in time. Check that it is running and not overloaded.")
    if isinstance(exc, httpx.ConnectError):
        return fail(
            server,
            f"cannot connect to the server configured in {server.env}URL (or the configuration file): nothing "
            "answers there. Is it running, and are the URL's host and port right?",
        )
    return fail(server, f"the connection failed ({type(exc).__name__}). Check the server and the network.")


class NoPromptLogprobs(PlaygroundError):
    """The server returns no usable log-probabilities for a prompt's tokens, so it has no perplexity here."""


def request_json(
    server: RemoteServer, method: str, path: str, body: dict | None = None, refusal: str | None = None
) -> dict | list:
    """One request, its JSON answer; every failure becomes a PlaygroundError with a redacted message.

    With ``refusal``, a request the server turns down as unsupported (HTTP 400, 422, 500 or 501 rather
    than a wrong key or model) raises NoPromptLogprobs with that sentence and the server's words.
    """
    try:
        with client(server) as http:
            response = http.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise connection_error(server, exc) from None
    if refusal and response.status_code in (400, 422, 500, 501):
        detail = f"HTTP {response.status_code}: {_detail(response)}"
        raise NoPromptLogprobs(server.redact(f"{server.label}: {refusal} (it answered {detail})."))
    if response.status_code != 200:
        raise http_error(server, response)
    try:
        return response.json()
    except ValueError:
        raise fail(server, f"the server's answer to {path} is not JSON: is the URL an OpenAI-compatible API?") from None
