"""A group's state, read-only: for people and tests watching a group move through its batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from ..deps import GroupInPath, SourceDep
from ..schemas import INVALID_GROUP, NO_DATA, GroupStatusResponse

router = APIRouter(tags=["groups"])


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()


@router.get(
    "/groups/{group_number}",
    summary="The group's current state (read-only; does not start its clock)",
    response_model=GroupStatusResponse,
    responses={**INVALID_GROUP, **NO_DATA},
)
def group_status(source: SourceDep, group_number: GroupInPath) -> dict[str, Any]:
    scheduler = source.scheduler
    st = scheduler.status(group_number)
    return {
        "group_number": group_number,
        "started": st.started,
        "exhausted": st.exhausted,
        "batch_number": st.batch_number,
        "n_batches": scheduler.n_batches,
        "order": source.settings.group_order(group_number),
        "batch_started_at": _iso(st.batch_started_at),
        "next_batch_at": _iso(st.next_batch_at),
        "seconds_until_next_batch": None if st.next_batch_at is None else max(0.0, st.next_batch_at - scheduler.clock()),
    }
