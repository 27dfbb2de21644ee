"""Response bodies of the HTTP API, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DataResponse(BaseModel):
    group_number: int
    batch_number: int
    # Rows are lists, as the course API sends them; `columns` names their values, so a
    # reader can check the order by name instead of trusting positions.
    columns: list[str]
    data: list[list[int | str]]


class RestartResponse(BaseModel):
    group_number: int
    restarted: bool
    message: str


class GroupStatusResponse(BaseModel):
    group_number: int
    started: bool
    exhausted: bool
    batch_number: int | None
    n_batches: int
    order: str = Field(description="Which rows each batch holds: shuffled or elevation")
    batch_started_at: str | None
    next_batch_at: str | None
    seconds_until_next_batch: float | None


class HealthResponse(BaseModel):
    status: str
    rows: int
    n_groups: int
    n_batches: int


class Overview(BaseModel):
    service: str
    description: str
    endpoints: dict[str, str]
    columns: list[str] = Field(description="The 13 values of a row, in order")
    rows: int
    n_groups: int
    n_batches: int
    batch_interval_seconds: float
    advance: str
    order: str
    order_groups: dict[str, str] = Field(description="Groups served in another order than `order`")
    interval_groups: dict[str, float] = Field(description="Groups whose batches move on another interval than `batch_interval_seconds`")
    sample_fraction: float


class ErrorItem(BaseModel):
    """FastAPI's validation error item: every 4xx and 5xx answer lists its problems so (see data_api.errors)."""

    type: str = Field(description="Kind of problem: missing, int_parsing, value_error, exhausted, unavailable, not_found, ...")
    loc: list[str | int] = Field(description='Where: e.g. ["query", "group_number"]; empty when it is no one parameter')
    msg: str = Field(description="The reason, for people")
    input: Any = Field(None, description="The value given, where FastAPI parsed one")


class ErrorResponse(BaseModel):
    detail: list[ErrorItem]


class ExhaustedResponse(ErrorResponse):
    # So a client can say which batch was the last without parsing the message.
    group_number: int
    n_batches: int


# The error answers routes document (FastAPI's `responses=`), in the one shape.
Responses = dict[int | str, dict[str, Any]]
INVALID_GROUP: Responses = {422: {"model": ErrorResponse, "description": "Missing, non-integer or out-of-range group_number"}}
NO_DATA: Responses = {
    503: {"model": ErrorResponse, "description": "No data: the reason names the setting to fix and the address the download tried"}
}
