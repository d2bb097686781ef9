# SPDX-License-Identifier: Apache-2.0
"""The one error shape of the HTTP API: {"error": {"code", "message"}}."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error the client caused or must know about, with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
