"""The test's controls over HTTP, beside OpenAI's API: `/v1/mock/script` and `/v1/mock/clock/...`.

Guarded like the rest of the mock API (on only with MOCK_OPENAI_API and its key). From any language:

    POST /v1/mock/script          {"rules": {"cv-7": ["rate_limit_exceeded", "ok"], "cv-9*": "invalid_prompt"}}
    DELETE /v1/mock/script
    POST /v1/mock/clock/freeze    {"at": 1767225600}     (optional; now if absent)
    POST /v1/mock/clock/advance   {"seconds": 86400}
    POST /v1/mock/clock/resume
    GET  /v1/mock/clock
"""

from .views import _json, _json_body, openai_endpoint

script = openai_endpoint(
    get=lambda request, engine: _json(engine.controls.script()),
    post=lambda request, engine: _json(engine.controls.set_script(_json_body(request).get("rules"))),
    delete=lambda request, engine: _json(engine.controls.clear_script()),
)
clock = openai_endpoint(get=lambda request, engine: _json(engine.controls.clock()))
clock_freeze = openai_endpoint(
    post=lambda request, engine: _json(engine.controls.freeze_clock(_json_body(request).get("at")))
)
clock_advance = openai_endpoint(
    post=lambda request, engine: _json(engine.controls.advance_clock(_json_body(request).get("seconds")))
)
clock_resume = openai_endpoint(post=lambda request, engine: _json(engine.controls.resume_clock()))
