"""Cassettes: real OpenAI answers recorded once, replayed by the mock byte for byte.

The real backend records (core.services.cassette_recorder, on when OPENAI_RECORD_CASSETTES_DIR is set);
the mock replays (MOCK_OPENAI_CASSETTES_DIR): a request whose endpoint and body match a recorded one gets
the recorded status and body, the body's bytes exactly as OpenAI wrote them; any other request is
synthesised as usual, or refused with a 400 `request_not_recorded` in strict mode
(MOCK_OPENAI_CASSETTES_STRICT). Requests are keyed by content (endpoint and body, not custom_id), so a
recording serves every later batch that sends the same request.

A cassette is a directory of `*.jsonl` files, one line per recorded answer:
`{"key": <request_key>, "url": ..., "status_code": ..., "body_json": <the body's JSON text>}`; the body is
kept as text, so replay can write the very bytes that were recorded.
"""

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import orjson

_DECODER = json.JSONDecoder()


class Recorded(NamedTuple):
    status: int
    body: bytes  # the body's JSON, byte for byte as recorded


def request_key(url: str, body: object) -> str:
    """The key of a request's content: its endpoint and body, whatever its custom_id or key order."""
    return hashlib.sha256(orjson.dumps([url, body], option=orjson.OPT_SORT_KEYS)).hexdigest()


def raw_body(line: bytes, body: object) -> bytes:
    """The bytes of `body` as they stand in the output `line` it was parsed from (OpenAI's own spacing and
    number spelling), found by decoding the value after each `"body"` key until one equals `body`."""
    text = line.decode()
    start = 0
    while (found := text.find('"body"', start)) != -1:
        start = found + 1
        position = found + len('"body"')
        while position < len(text) and text[position] in " \t:":
            position += 1
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:  # `"body"` inside a string, not a key: look further
            continue
        if value == body:
            return text[position:end].encode()
    raise ValueError("the line does not hold the body it was parsed into")


def cassette_line(url: str, body: object, status: int, body_bytes: bytes) -> bytes:
    key = request_key(url, body)
    return orjson.dumps({"key": key, "url": url, "status_code": status, "body_json": body_bytes.decode()}) + b"\n"


def load_cassettes(directory: Path) -> dict[str, Recorded]:
    """Every recorded answer under `directory` by request key (a later file wins for a key recorded twice).
    A line that is not a cassette line raises ValueError naming its file and line."""
    recorded: dict[str, Recorded] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    line = orjson.loads(raw)
                    recorded[line["key"]] = Recorded(int(line["status_code"]), line["body_json"].encode())
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
                    raise ValueError(f"{path}:{number}: not a cassette line ({error!r})") from error
    return recorded
