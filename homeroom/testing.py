"""Test helpers shared by every app's tests: a real SMTP mailbox (served by aiosmtpd in conftest.py) and a
LibreTranslate stand-in on 127.0.0.1."""

import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# allauth's codes are letters and digits, dashed in two halves ("ABCD-EF12"); the mail has the code on its own line.
LOGIN_CODE = re.compile(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]{3,})+)\s*$", re.MULTILINE)


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        # With policy.default the parser builds an EmailMessage, whose get_body() finds the text part.
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for_message_to(self, address: str, *, timeout: float = 5.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages):
                if address in {recipient.addr_spec for recipient in message["To"].addresses}:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"No mail to {address} within {timeout} s; received: {[m['To'] for m in self.messages]}")

    def login_code_for(self, address: str) -> str:
        body = self.wait_for_message_to(address).get_body(preferencelist=("plain",))
        assert body is not None, "the sign-in mail has no text part"
        text = body.get_content()
        match = LOGIN_CODE.search(text)
        assert match, f"No sign-in code in the mail to {address}:\n{text}"
        return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scratch_database_url(name: str, *, in_memory_folder: bool = False) -> str:
    """A database of its own for a test or a benchmark whose worker processes must share it: a file for SQLite, a
    fresh database on the same server for PostgreSQL (DATABASE_URL). The caller migrates it. `in_memory_folder` puts
    the SQLite file in /dev/shm where there is one, for a test: migrating it waits for no disk (a benchmark leaves
    it on disk, as in production)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        folder = "/dev/shm" if in_memory_folder and os.path.isdir("/dev/shm") else None  # noqa: S108
        return f"sqlite:///{tempfile.mkdtemp(prefix='homeroom-', dir=folder)}/{name}.sqlite3"
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_scratch_database(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    elif url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        if folder.name.startswith("homeroom-"):  # only the folder scratch_database_url made
            shutil.rmtree(folder, ignore_errors=True)


DICTIONARY = {"es": {"Hello": "Hola", "Maya read a whole book today.": "Maya leyó un libro entero hoy."}}
SUPPORTED = {"en", "es", "pt", "zh"}


class FakeLibreTranslate:
    """A LibreTranslate stand-in: it records each request's JSON and answers like the real server."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.api_key = ""  # when set, requests must carry it
        self.mode = "normal"  # "hang", "malformed", "short", "string" or "html-error"
        self.release = threading.Event()  # ends a hanging answer at teardown
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "content_type": self.headers["Content-Type"], **body})
                status, answer = server.answer(body)
                if server.mode == "hang":
                    server.release.wait(5)
                self.send_response(status)
                content = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll so that stop() returns at once rather than after serve_forever's default half-second.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def answer(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.api_key and body.get("api_key") != self.api_key:
            return 403, {"error": "Invalid API key"}
        if body["target"] not in SUPPORTED:
            return 400, {"error": f"{body['target']} is not supported"}
        if self.mode == "malformed":
            return 200, b'{"translatedText": ["Hola"'
        if self.mode == "html-error":
            return 502, b"<html><body>Bad Gateway</body></html>"
        texts = body["q"] if isinstance(body["q"], list) else [body["q"]]
        words = DICTIONARY.get(body["target"], {})
        translated = [words.get(text, f"[{body['target']}] {text}") for text in texts]
        if self.mode == "short":
            translated = translated[:-1]
        if self.mode == "string":
            return 200, {"translatedText": translated[0]}
        return 200, {"translatedText": translated}

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


# --- The figures of docs/security.md ---------------------------------------------------------------------------

SECURITY_FIGURES_ENV = "HOMEROOM_SECURITY_FIGURES"


def count_security_probes(
    area: str, *, probes: int, leaks: int = 0, errors: int = 0, lost: int = 0, doubled: int = 0
) -> None:
    """Adds what an attack or fault test tried (`probes`: requests, fields, inputs, faults) and what went wrong
    (`leaks`: a record shown or changed out of reach; `errors`: a 500 or something stored broken; `lost`: a message
    that never went; `doubled`: one sent twice) to the table `make security` writes into docs/security.md. Call it
    before asserting, so that a failing run shows its figures too. Outside `make security` it does nothing."""
    path = os.environ.get(SECURITY_FIGURES_ENV)
    if not path:
        return
    row = {"area": area, "probes": probes, "leaks": leaks, "errors": errors, "lost": lost, "doubled": doubled}
    with open(path, "a", encoding="utf-8") as figures:  # one line per call; xdist workers append in turn
        figures.write(json.dumps(row) + "\n")
