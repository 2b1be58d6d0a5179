"""Property-based tests (Hypothesis): no request line the mock can receive crashes a batch (issue 9).

Request bodies are random JSON, valid chat and embeddings bodies with wrong types put at any level,
odd `json_schema`s, NULs, huge strings and deep nesting. Through the real in-process client every batch
must end in a terminal status, every custom_id must be in the output or the error file exactly once (with
OpenAI's 400/404 for a bad body, never a 500: that would be a generator crash caught by the engine's
safety net), and nothing may be written outside the mock root.

CI runs a fixed, derandomised budget; set RECRUIT_FUZZ_EXAMPLES (e.g. 1000) for a longer, random run. With
`-s` each test prints what it saw (statuses, error params and codes).
"""

import copy
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.client import MockOpenAIClient
from core.mock_openai.engine.answers import answer_requests
from core.mock_openai.generators.base import Request
from tests.fuzz_budget import EXAMPLES, FUZZ
from tests.mock_batch_helpers import assert_matches_schema, decode_embedding

DEEP = "__deep_nesting__"  # replaced in the written line by raw JSON nested this many levels
CHAT, EMBEDDINGS = "/v1/chat/completions", "/v1/embeddings"
TERMINAL = {"completed", "failed", "expired", "cancelled"}
RESPONSE_COMPONENT = {CHAT: "CreateChatCompletionResponse", EMBEDDINGS: "CreateEmbeddingResponse"}

# --- strategies -------------------------------------------------------------------------------------
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from('\x00\n\t"\\ aé€😀'), max_size=20),
    st.sampled_from([40_000, 600_000]).map(lambda n: "word " * (n // 5)),  # past the token limits
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.just(2**64),  # past 64 bits
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# Nested up to 400 levels, and one time in thirty past orjson's (and so the mock's) 1,024: an unparseable line.
deep = (
    st.integers(0, 29)
    .flatmap(lambda k: st.just(1100) if k == 29 else st.integers(1, 400))
    .map(lambda depth: f"{DEEP}{depth}")
)
anything = st.one_of(json_values, json_values, json_values, deep)

type_names = st.sampled_from(["string", "integer", "number", "boolean", "array", "object", "null", "thing"])
schema_keywords = {
    "type": st.one_of(type_names, st.lists(type_names, max_size=3), anything),
    "properties": st.one_of(
        st.dictionaries(st.sampled_from(["name", "email", "basics", "work", "score"]), st.deferred(lambda: schemas)),
        st.lists(st.text(max_size=6), max_size=3),
        anything,
    ),
    "required": st.one_of(st.lists(st.sampled_from(["name", "email", "next", "score"]), max_size=3), anything),
    "items": st.one_of(st.deferred(lambda: schemas), anything),
    "anyOf": st.one_of(st.lists(st.deferred(lambda: schemas), max_size=3), anything),
    "enum": st.one_of(st.lists(json_values, max_size=3), anything),
    "$ref": st.one_of(st.sampled_from(["#", "#/$defs/node", "#/nowhere", "http://x/y", "#/properties/name"]), anything),
    "$defs": st.one_of(st.fixed_dictionaries({"node": st.deferred(lambda: schemas)}), anything),
    "additionalProperties": st.one_of(st.booleans(), anything),
    "maxItems": st.one_of(st.integers(-3, 5), anything),
    "const": json_values,
}
schemas = st.one_of(
    st.booleans(),
    st.fixed_dictionaries({}, optional=schema_keywords),
    st.just({"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]}),
)
json_schema_formats = st.fixed_dictionaries(
    {"type": st.just("json_schema")},
    optional={
        "json_schema": st.one_of(
            st.fixed_dictionaries(
                {"name": st.one_of(st.sampled_from(["answer", "json_resume", "cv"]), anything)},
                optional={"schema": st.one_of(schemas, anything), "strict": st.one_of(st.booleans(), anything)},
            ),
            anything,
        )
    },
)
response_formats = st.one_of(
    st.sampled_from([{"type": "text"}, {"type": "json_object"}]), json_schema_formats, anything
)
contents = st.one_of(
    texts,
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), max_size=3),
    anything,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system", "assistant", "developer"]), "content": contents},
    ),
    min_size=1,
    max_size=4,
)
chat_bodies = st.fixed_dictionaries(
    {"model": st.just("gpt-4o-mini"), "messages": messages},
    optional={
        "response_format": response_formats,
        "temperature": st.one_of(st.floats(0, 2), anything),
    },
)
token_arrays = st.lists(st.one_of(st.integers(0, 100_000), anything), min_size=1, max_size=5)
embedding_bodies = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["text-embedding-3-small", "text-embedding-ada-002"]),
        "input": st.one_of(
            texts, st.lists(texts, max_size=4), token_arrays, st.lists(token_arrays, max_size=3), anything
        ),
    },
    optional={
        "dimensions": st.one_of(st.integers(-2, 4000), anything),
        "encoding_format": st.one_of(st.sampled_from(["float", "base64"]), anything),
    },
)


@st.composite
def mutated(draw, bodies):
    """A body with up to two values anywhere in it (at any depth) replaced by anything at all."""
    body = copy.deepcopy(draw(bodies))  # strategies share objects (sampled_from, just): never mutate them
    for _ in range(draw(st.integers(0, 2))):
        paths = list(_paths(body))
        if not paths:
            break
        container, key = draw(st.sampled_from(paths))
        container[key] = draw(anything)
    return body


def _paths(value):
    if isinstance(value, dict):
        for key in list(value):
            if key != "model":  # one model per batch, or validation fails the whole batch
                yield value, key
                yield from _paths(value[key])
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value, index
            yield from _paths(value[index])


@st.composite
def batches_for(draw, endpoint: str):
    """Bodies for one batch: mostly mutated valid bodies and random objects, all naming the batch's model
    (else validation fails the whole batch, which is right but reaches no generator); one batch in ten also
    gets bodies that are not objects or lack the model."""
    bodies = chat_bodies if endpoint == CHAT else embedding_bodies
    model = draw(
        st.sampled_from(["gpt-4o-mini"] if endpoint == CHAT else ["text-embedding-3-small", "text-embedding-ada-002"])
    )
    random_objects = st.dictionaries(
        st.sampled_from(["input", "messages", "response_format", "x"]), anything, max_size=3
    )
    lines = draw(st.lists(st.one_of(mutated(bodies), mutated(bodies), bodies, random_objects), min_size=1, max_size=6))
    lines = copy.deepcopy(lines)
    for body in lines:
        body["model"] = model
    if draw(st.integers(0, 9)) == 9:  # not 0: Hypothesis favours the simplest value
        lines += draw(st.lists(json_values, min_size=1, max_size=2))
    return lines


fuzz_batches = st.sampled_from([CHAT, EMBEDDINGS]).flatmap(lambda e: st.tuples(st.just(e), batches_for(e)))


# --- helpers ------------------------------------------------------------------------------------------
def _line(custom_id: str, endpoint: str, body) -> str:
    """The JSONL line, with each deep-nesting marker replaced by raw JSON nested that deep."""
    text = json.dumps({"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body})
    while (start := text.find(f'"{DEEP}')) != -1:
        end = text.index('"', start + 1)
        depth = int(text[start + 1 + len(DEEP) : end])
        text = text[:start] + "[" * depth + "]" * depth + text[end + 1 :]
    return text


def _read(client, file_id) -> list[dict]:
    if not file_id:
        return []
    return [orjson.loads(raw) for raw in client.files.content(file_id).content.splitlines() if raw.strip()]


def _as_published(body: dict) -> dict:
    """The body with base64 embeddings decoded: the published schema types them as arrays (contract README)."""
    for item in body.get("data") or []:
        if isinstance(item.get("embedding"), str):
            item["embedding"] = decode_embedding(item["embedding"]).tolist()
    return body


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def _report(name: str, seen: Counter) -> None:
    print(f"\n[{name}] {EXAMPLES} examples budget; " + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items())))


# --- properties ---------------------------------------------------------------------------------------
def test_no_request_line_breaks_a_batch():
    seen: Counter = Counter()
    cwd_before = set(os.listdir("."))

    @FUZZ
    @given(fuzz_batches)
    def run(case):
        endpoint, bodies = case
        with tempfile.TemporaryDirectory(prefix="recruit-fuzz-") as outer:
            outer = Path(outer)
            root = outer / "mock"
            client = MockOpenAIClient(root=root, failure_rate=0.0, latency=0.0, seed=7, workers=1)
            custom_ids = [f"req-{i}" for i in range(len(bodies))]
            path = outer / "input.jsonl"
            path.write_text("\n".join(_line(c, endpoint, b) for c, b in zip(custom_ids, bodies, strict=True)) + "\n")
            uploaded = client.files.create(file=path.open("rb"), purpose="batch")
            created = client.batches.create(input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h")
            batch = client.batches.retrieve(created.id)

            assert batch.status in TERMINAL, batch
            seen[f"batch {batch.status}"] += 1
            outside = {p for p in _tree(outer) if p.split("/")[0] != "mock"}
            assert outside == {"input.jsonl"}, "written outside the mock root"
            assert not [p for p in _tree(root) if ".tmp-" in p], "a run left temporary files"
            if batch.status == "failed":
                assert batch.errors and batch.errors.data and batch.output_file_id is None
                seen.update(f"validation {e.code}" for e in batch.errors.data)
                return
            output, errors = _read(client, batch.output_file_id), _read(client, batch.error_file_id)
            answered = Counter(line["custom_id"] for line in output + errors)
            assert answered == Counter(custom_ids), answered  # each exactly once, none invented
            assert batch.request_counts.total == len(custom_ids)
            assert (batch.request_counts.completed, batch.request_counts.failed) == (len(output), len(errors))
            for line in output:
                assert line["response"]["status_code"] == 200
                assert_matches_schema(_as_published(line["response"]["body"]), RESPONSE_COMPONENT[endpoint])
                seen["answered 200"] += 1
            for line in errors:
                response = line["response"]
                assert response["status_code"] in (400, 404), line  # a 500 is a generator crash
                error = response["body"]["error"]
                assert error["type"] == "invalid_request_error" and error["message"]
                seen[f"{response['status_code']} {error['param']} {error['code']}"] += 1

    run()
    assert set(os.listdir(".")) == cwd_before, "written into the working directory"
    _report("batches", seen)


@FUZZ
@given(st.sampled_from([CHAT, EMBEDDINGS]), st.lists(st.one_of(chat_bodies, embedding_bodies, json_values), max_size=4))
def test_answers_never_raise_and_are_openai_statuses(endpoint, bodies):
    """The dispatch itself, on bodies of either endpoint (the wrong one too) that validation never saw."""
    requests = [Request(f"r{i}", body, 0, 0) for i, body in enumerate(bodies)]
    answers = answer_requests(endpoint, requests, failure_rate=0.0, prior_failures={})
    assert len(answers) == len(requests)
    for answer in answers:
        assert answer.status in (200, 400, 404), answer
        orjson.dumps(answer.body, option=orjson.OPT_SERIALIZE_NUMPY)  # every answer can be written


def test_odd_json_schemas_get_a_400_or_a_json_answer():
    """Valid chat requests whose only oddity is the `json_schema` (the path of issue 9, case 4)."""
    seen: Counter = Counter()

    @FUZZ
    @given(st.lists(st.one_of(schemas, anything), min_size=1, max_size=4), st.sampled_from(["answer", "json_resume"]))
    def run(drawn, name):
        requests = [
            Request(
                f"parse-{i}" if name == "json_resume" else f"explain-{i}",
                {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "Candidate: Python, SQL. Job: Python. Score: 0.8"}],
                    "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema}},
                },
                0,
                0,
            )
            for i, schema in enumerate(drawn)
        ]
        for answer in answer_requests(CHAT, requests, failure_rate=0.0, prior_failures={}):
            if answer.status == 200:
                orjson.loads(answer.body["choices"][0]["message"]["content"])  # a JSON document
                seen["200"] += 1
            else:
                error = answer.body["error"]
                assert answer.status == 400 and error["param"].startswith("response_format"), answer
                seen[f"400 {error['param']} {error['code']}"] += 1

    run()
    _report("json_schema", seen)
