"""What routes need, as FastAPI dependencies: settings, metrics, the data source, a valid group number.

A route states its needs in its signature (`source: SourceDep`, `group_number: GroupNumber`)
instead of reaching into `request.app.state`; tests can override any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from .batches import BatchedData, BatchScheduler
from .errors import group_range, problem, unavailable
from .metrics import Metrics
from .settings import Settings


@dataclass(frozen=True)
class Source:
    """What /data, /restart_data_generation and /groups serve from, made once in the lifespan."""

    settings: Settings
    data: BatchedData
    scheduler: BatchScheduler


# `async def`: a plain `def` dependency costs every request a hop through the thread pool.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_source(request: Request) -> Source:
    """503 with the reason while the service has no data (see dataset.DataUnavailable)."""
    source: Source | None = request.app.state.source
    if source is None:
        raise unavailable(request.app.state.unavailable)
    return source


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SourceDep = Annotated[Source, Depends(get_source)]

_GROUP_DOC = "Group number, 1..n_groups (default 1..10)."


def _in_range(settings: Settings, group_number: int, where: str) -> int:
    if not 1 <= group_number <= settings.n_groups:
        raise problem(422, (where, "group_number"), group_range(settings.n_groups, group_number), "value_error")
    return group_number


async def query_group(settings: SettingsDep, group_number: Annotated[int, Query(description=_GROUP_DOC)]) -> int:
    return _in_range(settings, group_number, "query")


async def path_group(settings: SettingsDep, group_number: Annotated[int, Path(description=_GROUP_DOC)]) -> int:
    return _in_range(settings, group_number, "path")


GroupNumber = Annotated[int, Depends(query_group)]
GroupInPath = Annotated[int, Depends(path_group)]
