"""Errors of the mock Files + Batch API, in OpenAI's shape, for both of its transports.

The engine raises `MockAPIError`; the HTTP views answer it as JSON, and the in-process client turns it
into the exception the `openai` SDK would raise for the same HTTP answer, so callers catch the same
classes (`openai.BadRequestError`, `openai.NotFoundError`, ...) whichever way they reach the mock.
"""

import httpx2
import openai

_SDK_ERRORS = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
}
MOCK_API_BASE = "https://mock-openai.invalid/v1"  # the URL the in-process errors claim; never contacted


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

    def to_sdk_error(self, method: str, path: str) -> openai.APIStatusError:
        """The exception `openai.OpenAI` raises when the HTTP API answers this error."""
        request = httpx2.Request(method, f"{MOCK_API_BASE}{path}")
        response = httpx2.Response(self.status, json=self.body(), request=request)
        error_class = _SDK_ERRORS.get(self.status)
        if error_class is None:
            error_class = openai.InternalServerError if self.status >= 500 else openai.APIStatusError
        return error_class(f"Error code: {self.status} - {self.message}", response=response, body=self.body()["error"])


def bad_request(message: str, param: str | None = None, code: str | None = None) -> MockAPIError:
    return MockAPIError(400, message, param=param, code=code)


def not_found(message: str, param: str | None = None) -> MockAPIError:
    return MockAPIError(404, message, param=param)
