# SPDX-License-Identifier: Apache-2.0
"""The one error shape of the HTTP API: {"error": {"code", "message"}}, and the one JSON
encoder of its responses."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse as _StarletteJSON


def json_bytes(content: Any) -> bytes:
    """UTF-8 JSON. A lone surrogate (JSON may escape one, Python decodes it) cannot be encoded:
    it becomes "?" here, so text a client sent can be echoed back without a 500."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8", "replace")


class JSONResponse(_StarletteJSON):
    """Every JSON answer of the API goes through `json_bytes`."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


class ApiError(Exception):
    """An error the client caused or must know about, with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details
        """One entry per problem, for clients that show each where it was typed (authored slots)."""

    def response(self) -> JSONResponse:
        if self.details is None:
            return error_response(self.status, self.code, self.message, self.headers)
        body = {"code": self.code, "message": self.message, "details": self.details}
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
