"""The course API's routes: a sample of the group's current batch, and starting the group over."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..batches import DataExhausted
from ..dataset import COLUMNS
from ..deps import GroupNumber, MetricsDep, SourceDep
from ..errors import problem
from ..schemas import INVALID_GROUP, NO_DATA, DataResponse, ExhaustedResponse, RestartResponse

router = APIRouter(tags=["batches"])


# Plain `def` routes: they write the state file, so they run in the thread pool.
@router.get(
    "/data",
    summary="Random sample of the group's current batch",
    description=(
        "Rows have the 13 values named by `columns`, in that order (as `GET /` lists them). The first call "
        "for a group starts batch 1. With `advance=per_call` (the default) the first call made "
        "`batch_interval_seconds` or more after the batch started moves the group on by one batch; with "
        "`advance=clock` the batch moves on every `batch_interval_seconds` whether or not anyone fetched it. "
        "Answers 410 once every batch has been delivered."
    ),
    response_model=DataResponse,
    responses={
        410: {"model": ExhaustedResponse, "description": "All batches delivered; the message says how to start again"},
        **INVALID_GROUP,
        **NO_DATA,
    },
)
def data(source: SourceDep, group_number: GroupNumber, metrics: MetricsDep) -> JSONResponse:
    s = source.settings
    try:
        batch = source.scheduler.current_batch(group_number)
    except DataExhausted:
        ended = problem(
            410,
            ("query", "group_number"),
            f"All {s.n_batches} batches have been delivered for group {group_number}. "
            f"Call GET /restart_data_generation?group_number={group_number} to start again from batch 1.",
            "exhausted",
        )
        return JSONResponse({"detail": ended.detail, "group_number": group_number, "n_batches": s.n_batches}, status_code=410)
    rows = source.data.sample(batch, s.sample_fraction, order=s.group_order(group_number))
    metrics.served(group_number, batch, len(rows))
    # Returned directly: the rows are already plain ints/strs, so skip re-validating thousands of them.
    return JSONResponse({"group_number": group_number, "batch_number": batch, "columns": list(COLUMNS), "data": rows})


@router.get(
    "/restart_data_generation",
    summary="Start the group over at batch 1",
    response_model=RestartResponse,
    responses={**INVALID_GROUP, **NO_DATA},
)
def restart(source: SourceDep, group_number: GroupNumber) -> dict[str, Any]:
    source.scheduler.restart(group_number)
    return {
        "group_number": group_number,
        "restarted": True,
        "message": f"Group {group_number} restarted; the next GET /data starts batch 1.",
    }
