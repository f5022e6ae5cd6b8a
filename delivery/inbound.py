"""Reading a family's emailed reply: raw RFC 5322 bytes in (from an MTA pipe, a provider webhook's raw MIME or a
Maildir file), the sender, the addresses it was sent to and only the new text the family wrote out.

Standard library only: `email` with `email.policy.default` parses and decodes, `html.parser` reads HTML-only mail."""

import re
from dataclasses import dataclass
from email.message import Message, MIMEPart
from email.parser import BytesParser
from email.policy import default
from email.utils import getaddresses
from html.parser import HTMLParser

# C0 control characters but tab and line feed: PostgreSQL refuses NUL in text, and the others are never words.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def without_control_characters(text: str) -> str:
    """The text with NUL and the other C0 control characters removed, tab and line breaks kept (CR LF and a lone CR
    become LF), and any lone surrogate (an undecodable byte the mail parser kept) made a replacement character: no
    database stores those. Applied to everything a family sends before it is stored."""
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply. Homeroom keeps no files, only that one came: its name, size and type."""

    name: str
    size: int  # bytes, decoded
    content_type: str

    def as_json(self) -> dict[str, str | int]:
        return {"name": self.name, "size": self.size, "type": self.content_type}


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # the From address, lower-cased, without the display name
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To, in that order, lower-cased, each once
    subject: str
    message_id: str
    text: str  # only what the family wrote this time: quoted history and signature removed
    auto_submitted: bool  # an auto-reply or a bounce: never answer it, or two robots write to each other forever
    attachments: tuple[Attachment, ...] = ()  # what came with it and was not kept


class InboundEmailError(ValueError):
    """The bytes are not an email we can read: no sender, or no text to read."""


def read_email(raw: bytes) -> InboundEmail:
    message = BytesParser(policy=default).parsebytes(raw)
    senders = _addresses(message, "From")
    if not senders:
        # Also what garbage bytes look like: the parser reads them as a body without headers.
        raise InboundEmailError("The message has no From address.")
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        raise InboundEmailError("The message has no text part.")
    content = _decoded_text(body)
    if body.get_content_subtype() == "html":
        content = _html_to_text(content)
    recipients = [
        address for name in ("To", "Cc", "Delivered-To", "X-Original-To") for address in _addresses(message, name)
    ]
    return InboundEmail(
        sender=without_control_characters(senders[0]),
        recipients=list(dict.fromkeys(without_control_characters(address) for address in recipients)),
        subject=without_control_characters(_header(message, "Subject")),
        message_id=without_control_characters(_header(message, "Message-ID")),
        text=without_control_characters(_new_text(content)),
        auto_submitted=_is_auto_submitted(message, sender=senders[0]),
        attachments=tuple(_attachments(message, body=body)),
    )


MAX_ATTACHMENTS_NOTED = 20  # a reply naming more files than this is noted with the first twenty


def _attachments(message: Message, *, body: MIMEPart) -> list[Attachment]:
    """Every part that is not the text read (nor its other rendering): photos, documents, a forwarded email."""
    found: list[Attachment] = []
    for part in _leaf_parts(message):
        if part is body or len(found) >= MAX_ATTACHMENTS_NOTED:
            continue
        content_type = part.get_content_type()
        try:
            filename = part.get_filename()
        except Exception:  # a malformed parameter: the file still came
            filename = None
        disposition = part.get_content_disposition()
        if filename is None and content_type in ("text/plain", "text/html") and disposition != "attachment":
            continue  # the other rendering of the text, or a text part the client split the reply into
        if content_type == "message/rfc822":
            inner = part.get_payload()
            forwarded = inner[0] if isinstance(inner, list) and inner else None
            size = len(forwarded.as_bytes()) if isinstance(forwarded, Message) else 0
        else:
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
        name = without_control_characters(" ".join(str(filename or "").split()))[:200]
        found.append(Attachment(name=name, size=size, content_type=without_control_characters(content_type)[:100]))
    return found


def _leaf_parts(part: Message) -> list[Message]:
    """The parts that hold content, in order; an attached email counts as one part, not as its own parts."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    children = part.get_payload()
    if not isinstance(children, list):
        return []
    return [leaf for child in children if isinstance(child, Message) for leaf in _leaf_parts(child)]


# --- Headers -----------------------------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    try:
        value = message[name]
    except Exception:  # the header registry can trip over malformed values; the raw text still serves
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), None)
    return "" if value is None else " ".join(str(value).split())


def _addresses(message: Message, name: str) -> list[str]:
    found: list[str] = []
    for key, raw in message.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            parsed = default.header_fetch_parse(key, raw)
            # Address headers come parsed (groups, quoted names with commas); Delivered-To is plain text.
            pairs = [("", a.addr_spec) for a in parsed.addresses] if hasattr(parsed, "addresses") else None
        except Exception:
            pairs = None
        for _name, address in pairs if pairs is not None else getaddresses([raw]):
            if "@" in address:
                found.append(address.strip().lower())
    return found


def _is_auto_submitted(message: Message, *, sender: str) -> bool:
    auto_submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    precedence = _header(message, "Precedence").lower()
    return (
        auto_submitted not in ("", "no")
        or "X-Autoreply" in message
        or "X-Autorespond" in message
        or precedence in ("bulk", "auto_reply", "junk")
        or message.get_content_type() == "multipart/report"
        # A bounce: the mail system writes it, and gives it an empty envelope sender so nothing answers it.
        or sender.split("@")[0] in ("mailer-daemon", "postmaster")
        or _header(message, "Return-Path") == "<>"
    )


# --- Body --------------------------------------------------------------------------------------------------------


def _decoded_text(part: MIMEPart) -> str:
    try:
        return _declared_text(part)
    except (LookupError, UnicodeError):  # a charset Python does not know ("x-unknown"), or bytes it cannot be
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")


def _declared_text(part: MIMEPart) -> str:
    if part.get_param("charset") is None:
        # No charset means ASCII by the RFC, but 8-bit UTF-8 sent without one is common; read it as what it is.
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            try:
                return payload.decode("utf-8")
            except UnicodeDecodeError:
                pass
    return str(part.get_content())


class _HTMLText(HTMLParser):
    """Text as a mail client shows it: line breaks where the layout breaks lines, blockquotes as "> " quotes."""

    BLOCKS = frozenset(
        {"p", "div", "li", "ul", "ol", "tr", "table", "hr", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    )
    HIDDEN = frozenset({"head", "style", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._quote_depth = 0
        self._hidden_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._hidden_depth = 0  # an unclosed <head> ends where the body starts
        elif tag in self.HIDDEN:
            self._hidden_depth += 1
        elif tag == "br":
            self._end_line()
        elif tag in self.BLOCKS:
            self._break()
            if tag == "blockquote":
                self._quote_depth += 1
            if tag == "pre":
                self._pre_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self.BLOCKS:
            self._break()
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if self._pre_depth:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._line.append(first)
            for line in rest:
                self._end_line()
                self._line.append(line)
            return
        # Outside <pre>, source line breaks and runs of spaces show as one space.
        self._line.append(re.sub(r"[ \t\r\n\f]+", " ", data).replace("\xa0", " "))

    def _break(self) -> None:
        """A block starts or ends: a new line, unless we are already at the start of one."""
        if "".join(self._line).strip():
            self._end_line()
        else:
            self._line = []

    def _end_line(self) -> None:
        line = "".join(self._line)
        line = line if self._pre_depth else line.strip(" ")
        self.lines.append("> " * self._quote_depth + line if self._quote_depth else line)
        self._line = []

    def text(self) -> str:
        self.close()
        self._break()
        return "\n".join(self.lines)


def _html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    return parser.text()


# --- The new text of a reply -------------------------------------------------------------------------------------

# "On Mon, Nov 23, 2026 at 3:05 PM Ms. Rivera <rivera@school.org> wrote:" (Gmail, Apple Mail, Thunderbird) and
# "El lun, 23 nov 2026 a las 15:05, Ms. Rivera (<rivera@school.org>) escribió:". The digit (in the date) keeps
# a family's own "On Tuesday Sam wrote:" from counting.
_ATTRIBUTION = re.compile(r"(On\s.*\d.*\swrote|El\s.*\d.*\sescribi[óo])\s*:", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(r"\s*-{3,}\s*(Original Message|Mensaje original)\s*-{3,}\s*", re.IGNORECASE)
_OUTLOOK_RULE = re.compile(r"\s*_{10,}\s*")
_OUTLOOK_FROM = re.compile(r"\*?(From|De)\s*:", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"\*?(Sent|Date|To|Cc|Subject|Enviado|Fecha|Para|Asunto)\s*:", re.IGNORECASE)
_MOBILE = re.compile(
    r"(Sent from|Enviado desde)\s+(my|mi|Yahoo|Mail|Outlook|Correo|AOL)\b|Get Outlook for\s|Obtener Outlook para\s",
    re.IGNORECASE,
)


def _new_text(text: str) -> str:
    """What the family wrote this time: the history below the reply header, quoted lines and signature go."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(">"):
            index += 1  # quoted history; lines between quotes are the family's inline answers, so keep going
            continue
        attribution = _attribution_length(lines, index)
        if attribution:
            if any(kept_line.strip() for kept_line in kept):
                break
            # Nothing written above it: the family answers below the quote, so the quote goes and the answer stays.
            index += attribution
            continue
        if _ends_reply(lines, index):
            break
        kept.append(line)
        index += 1
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def _attribution_length(lines: list[str], index: int) -> int:
    """How many lines the "On ... wrote:" header starting here spans (clients wrap it); 0 if it is not one."""
    window: list[str] = []
    for line in lines[index : index + 3]:
        if line.startswith(">") or (window and not line.strip()):
            break
        window.append(line.strip())
        if _ATTRIBUTION.fullmatch(" ".join(window)):
            return len(window)
    return 0


def _ends_reply(lines: list[str], index: int) -> bool:
    line = lines[index]
    after_blank = index == 0 or not lines[index - 1].strip()
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return bool(
        _ORIGINAL_MESSAGE.fullmatch(line)
        or _OUTLOOK_RULE.fullmatch(line)
        # Outlook's "From: / Sent: / To: / Subject:" block; a family's own "From:" mid-paragraph is not one.
        or (after_blank and _OUTLOOK_FROM.match(line) and _OUTLOOK_NEXT.match(following))
        or line.rstrip() == "--"  # "-- " is the signature separator; some clients drop its trailing space
        or (_MOBILE.match(line) and len(line.strip()) <= 60)
    )
