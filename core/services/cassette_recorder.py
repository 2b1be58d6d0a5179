"""Recording cassettes from the real Batch API (see core.mock_openai.cassettes), when
OPENAI_RECORD_CASSETTES_DIR is set: a test suite pays OpenAI once and replays its answers forever.

An output line names its request only by custom_id, so the recorder follows a batch from upload to
download: at upload it notes each custom_id's endpoint and body key (`.pending/inputs/<file id>.json`),
when a retrieve shows the batch finished it notes which input its output and error files answer
(`.pending/outputs/<file id>`), and when one of those files is read to its end its lines become a
cassette (`<file id>.jsonl`, written atomically, so reading it twice records it once). Nothing is
recorded for files it did not see uploaded. Only request bodies and answers are kept, never a key or
header.
"""

from collections.abc import Iterator
from pathlib import Path

import orjson

from core.mock_openai.cassettes import cassette_line, raw_body
from core.mock_openai.engine.atomic_files import atomic_writer, read_json, write_json_atomically

TERMINAL = ("completed", "failed", "expired", "cancelled")


class CassetteRecorder:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._inputs = self.directory / ".pending" / "inputs"
        self._outputs = self.directory / ".pending" / "outputs"
        for path in (self._inputs, self._outputs):
            path.mkdir(parents=True, exist_ok=True)

    def note_upload(self, file_id: str, path: Path) -> None:
        """Remember the requests of an uploaded input file: custom_id -> [url, body]."""
        requests = {}
        with Path(path).open("rb") as handle:
            for raw in handle:
                if raw.strip():
                    request = orjson.loads(raw)
                    requests[request["custom_id"]] = [request["url"], request["body"]]
        write_json_atomically(self._inputs / f"{file_id}.json", requests)

    def note_batch(self, batch) -> None:
        """A finished batch: its output and error files answer its input file's requests."""
        if batch.status not in TERMINAL:
            return
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                write_json_atomically(self._outputs / f"{file_id}.json", {"input_file_id": batch.input_file_id})

    def recording(self, file_id: str, lines: Iterator[bytes]) -> Iterator[bytes]:
        """`lines` (raw JSONL lines of an output or error file), passed through; recorded as a cassette once
        read to the end, when the file answers an input this recorder saw uploaded."""
        answers = read_json(self._outputs / f"{file_id}.json")
        requests = read_json(self._inputs / f"{answers['input_file_id']}.json") if answers else None
        if requests is None:
            yield from lines
            return
        with atomic_writer(self.directory / f"{file_id}.jsonl") as cassette:
            for raw in lines:
                line = orjson.loads(raw)
                request, response = requests.get(line.get("custom_id")), line.get("response")
                if request is not None and response is not None:
                    url, body = request
                    recorded_body = raw_body(raw, response["body"])
                    cassette.write(cassette_line(url, body, response["status_code"], recorded_body))
                yield raw
