"""Errors of the mock Files + Batch API, in OpenAI's shape, whichever way the mock is reached.

The engine raises `MockAPIError`; the HTTP views answer its `body()` as JSON with its status, and the
in-process client turns it into the exception the `openai` SDK raises for that answer (see client).
Nothing here knows the SDK, so the engine runs without it.
"""


class MockAPIError(Exception):
    """An HTTP error answer: status code plus OpenAI's `{"error": {message, type, param, code}}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = error_type
        self.param = param
        self.code = code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> MockAPIError:
    return MockAPIError(400, message, param=param, code=code)


def not_found(message: str, param: str | None = None) -> MockAPIError:
    return MockAPIError(404, message, param=param)
