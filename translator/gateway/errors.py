"""Errors the gateway answers with, in OpenAI's shape (``{"error": {"message", "type", "code", "param"}}``).

Chat Completions and Responses share that shape, so one :class:`GatewayError` serves both endpoints.
Messages name what was wrong (the field, the limit, the upstream) and never carry a key.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ..protocol.provider_errors import ProviderError, error_body
from .store.errors import QuotaExceededError, ResponseTooLargeError, StoreError

__all__ = ["GatewayError"]


class GatewayError(Exception):
    """An HTTP error answer: status, OpenAI error fields, and extra headers (``retry-after``).

    ``upstream`` names the upstream whose failure this is (its error answer, unreachable, too slow,
    unreadable); ``None`` for the gateway's own refusals.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str,
        code: str | None = None,
        param: str | None = None,
        headers: Sequence[tuple[bytes, bytes]] = (),
        upstream: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = tuple(headers)
        self.upstream = upstream

    def body(self) -> bytes:
        return orjson.dumps(error_body(self.message, self.type, self.code, self.param))

    # -- the errors the gateway raises --------------------------------------------------------------

    @classmethod
    def from_provider(
        cls,
        status: int,
        error: ProviderError,
        headers: Sequence[tuple[bytes, bytes]] = (),
        *,
        upstream: str | None = None,
    ) -> GatewayError:
        """An upstream's own error answer, passed on with its status (and ``retry-after``)."""
        return cls(
            status,
            error.message,
            type=error.type,
            code=error.code,
            param=error.param,
            headers=headers,
            upstream=upstream,
        )

    @classmethod
    def bad_request(cls, message: str, *, param: str | None = None, code: str | None = None) -> GatewayError:
        return cls(400, message, type="invalid_request_error", code=code, param=param)

    @classmethod
    def unauthorized(cls, message: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> GatewayError:
        return cls(401, message, type="invalid_request_error", code="invalid_api_key", headers=headers)

    @classmethod
    def model_not_found(cls, model: str) -> GatewayError:
        return cls(
            404,
            f"The model {model!r} does not exist or is not routed by this gateway",
            type="invalid_request_error",
            code="model_not_found",
            param="model",
        )

    @classmethod
    def not_found(cls, message: str, *, code: str | None = None, param: str | None = None) -> GatewayError:
        return cls(404, message, type="invalid_request_error", code=code, param=param)

    @classmethod
    def too_large(cls, limit: int) -> GatewayError:
        return cls(
            413,
            f"request body is larger than the gateway's limit of {limit} bytes",
            type="invalid_request_error",
            code="request_too_large",
        )

    @classmethod
    def from_store(cls, exc: StoreError, *, param: str | None = None) -> GatewayError:
        """The answer to a store error that reached the client: a quota passed (413 ``store_quota_exceeded``
        for the owner's, 507 ``store_full`` for the store's), a response over ``store_max_bytes`` (413),
        else the store failing (503 ``store_unavailable``)."""
        if isinstance(exc, QuotaExceededError) and exc.quota == "per_owner":
            return cls(
                413,
                f"storing this would take your stored responses and conversations from {exc.usage:,} bytes"
                f" past the gateway's quota of {exc.limit:,} bytes per key (store_quota_per_owner): delete"
                " stored responses or conversations you no longer need, or send store=false",
                type="invalid_request_error",
                code="store_quota_exceeded",
                param=param,
            )
        if isinstance(exc, QuotaExceededError):
            return cls(
                507,
                f"the gateway's store is full: it holds {exc.usage:,} bytes, and storing this would pass its"
                f" quota of {exc.limit:,} bytes (store_quota_total): send store=false, delete stored"
                " responses or conversations, or ask the operator to raise store_quota_total",
                type="server_error",
                code="store_full",
                param=param,
            )
        if isinstance(exc, ResponseTooLargeError):
            return cls(413, str(exc), type="invalid_request_error", code="request_too_large", param=param)
        return cls(503, f"response store: {exc}", type="server_error", code="store_unavailable")

    @classmethod
    def request_timeout(cls, message: str) -> GatewayError:
        """The client took longer than ``client_timeout`` to send its request body (408)."""
        return cls(408, message, type="invalid_request_error", code="request_timeout")

    @classmethod
    def unreachable(cls, upstream: str, reason: str) -> GatewayError:
        return cls(
            502,
            f"upstream {upstream!r} is unreachable: {reason}",
            type="upstream_error",
            code="bad_gateway",
            upstream=upstream,
        )

    @classmethod
    def bad_upstream(cls, upstream: str, reason: str) -> GatewayError:
        message = f"upstream {upstream!r} {reason}"
        return cls(502, message, type="upstream_error", code="bad_gateway", upstream=upstream)

    @classmethod
    def timeout(cls, upstream: str, what: str, seconds: float) -> GatewayError:
        return cls(
            504,
            f"upstream {upstream!r} {what} within {seconds:g} s",
            type="upstream_error",
            code="gateway_timeout",
            upstream=upstream,
        )
