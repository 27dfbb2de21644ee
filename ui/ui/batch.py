"""Batch prediction of a CSV file: reading and typing it, splitting rejected rows
from good ones, and the table of results. No Streamlit here.

Inference refuses a whole batch when any row is bad, naming each bad row by its
index. So the rows are sent, the rows it names are set aside with its reasons,
and the others are sent again: every good row is predicted, every bad row is
listed with why.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ui.feature_spec import Feature, FeatureSpec
from ui.inference_client import FieldProblem, InputRejected, Prediction, PredictionResult

# Rows per request: inference's default limit.
CHUNK_ROWS = 1000
# Rows per file: more is a job for the batch pipelines, not a web page.
MAX_ROWS = 20_000


class CsvError(ValueError):
    """The file as a whole cannot be used (not CSV, no header, missing columns, too long)."""


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based number of the data row (the first row after the header is 1)
    field: str
    reason: str


@dataclass
class ParsedCsv:
    columns: list[str]  # as in the file's header
    rows: list[dict[str, Any]]  # typed JSON rows of the rows that passed the local checks
    row_numbers: list[int]  # the file row number of each entry of `rows`
    extra: list[dict[str, str]]  # the values of the columns that are not features, per entry of `rows`
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    total_rows: int = 0


@dataclass
class BatchOutcome:
    model: str | None = None
    version: str | None = None
    predictions: dict[int, Prediction] = field(default_factory=dict)  # by index into ParsedCsv.rows
    rejected: dict[int, list[FieldProblem]] = field(default_factory=dict)  # by index into ParsedCsv.rows


def convert_cell(feature: Feature, text: str | None) -> Any:
    """One CSV cell as the JSON value of its feature; ValueError(reason) if it cannot be.

    Empty -> None (inference decides whether the feature may be null);
    integer features -> int ("12" and "12.0"; "12.5" stays 12.5 for inference to
    refuse with its own reason); numbers -> float; categories -> the text.
    """
    text = (text or "").strip()
    if text == "":
        return None
    if feature.is_categorical:
        return text
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    if feature.is_integer:
        if number.is_integer():
            return int(number)
        return number
    return number


def parse_csv(data: bytes, spec: FeatureSpec, max_rows: int = MAX_ROWS) -> ParsedCsv:
    """Read and type a CSV whose columns are the feature names (extra columns are kept aside)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("The file is not UTF-8 text; save it as CSV (UTF-8).") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, spec))
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise CsvError("The file is empty: it needs a header row naming the columns, then one row per prediction.")
        header = [h.strip() for h in header]
        missing = [name for name in spec.names if name not in header]
        if missing:
            raise CsvError(
                f"The file has no column for: {', '.join(missing)}. The header must name every feature: {', '.join(spec.names)}."
            )
        duplicated = sorted({h for h in header if header.count(h) > 1 and h in spec.names})
        if duplicated:
            raise CsvError(f"The file names these columns more than once: {', '.join(duplicated)}.")
        index = {name: header.index(name) for name in header}
        extra_columns = [h for h in header if h not in spec.names and h]
        parsed = ParsedCsv(columns=header, rows=[], row_numbers=[], extra=[], ignored_columns=extra_columns)
        number = 0
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            number += 1
            if number > max_rows:
                raise CsvError(f"The file has more than {max_rows} rows; split it into smaller files.")
            if len(cells) != len(header):
                parsed.problems.append(RowProblem(number, "(row)", f"has {len(cells)} values but the header names {len(header)} columns"))
                continue
            row: dict[str, Any] = {}
            problems = []
            for feature in spec.features:
                try:
                    row[feature.name] = convert_cell(feature, cells[index[feature.name]])
                except ValueError as exc:
                    problems.append(RowProblem(number, feature.name, str(exc)))
            if problems:
                parsed.problems.extend(problems)
                continue
            parsed.rows.append(row)
            parsed.row_numbers.append(number)
            parsed.extra.append({c: cells[index[c]] for c in extra_columns})
        parsed.total_rows = number
    except csv.Error as exc:
        raise CsvError(f"The file is not valid CSV: {exc}.") from None
    if parsed.total_rows == 0:
        raise CsvError("The file has a header but no rows to predict.")
    return parsed


def _delimiter(text: str, spec: FeatureSpec) -> str:
    """Comma, or the semicolon or tab of spreadsheets set to other locales, whichever splits
    the header into the feature names."""
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        try:
            header = {h.strip() for h in next(csv.reader([first_line], delimiter=delimiter), [])}
        except csv.Error:
            continue
        if set(spec.names) <= header:
            return delimiter
    return ","


def rejected_rows(problems: list[FieldProblem], batch_size: int) -> dict[int, list[FieldProblem]]:
    """The batch indices inference named in a 422, with their problems.

    Empty when a problem names no row (or a row outside the batch): then the
    request as a whole was refused, not some of its rows.
    """
    by_row: dict[int, list[FieldProblem]] = {}
    for problem in problems:
        if problem.row is None or not 0 <= problem.row < batch_size:
            return {}
        by_row.setdefault(problem.row, []).append(problem)
    return by_row


PredictRows = Callable[[list[dict[str, Any]]], PredictionResult]


def predict_rows(predict: PredictRows, rows: list[dict[str, Any]], chunk_rows: int = CHUNK_ROWS) -> BatchOutcome:
    """Predict every row that inference accepts; the others come back in `rejected`.

    `predict` sends one batch (at most `chunk_rows` rows). An `InputRejected`
    that names no row, and every other `InferenceError`, propagates.
    """
    outcome = BatchOutcome()
    for start in range(0, len(rows), chunk_rows):
        pending = list(range(start, min(start + chunk_rows, len(rows))))
        # Each retry drops at least one row, so this ends.
        while pending:
            try:
                result = predict([rows[i] for i in pending])
            except InputRejected as exc:
                bad = rejected_rows(exc.problems, len(pending))
                if not bad:
                    raise
                for position, row_problems in bad.items():
                    outcome.rejected[pending[position]] = [FieldProblem(p.field, p.reason, pending[position]) for p in row_problems]
                pending = [i for position, i in enumerate(pending) if position not in bad]
                continue
            if len(result.predictions) != len(pending):
                raise InputRejected(
                    [FieldProblem("(batch)", f"inference answered {len(result.predictions)} predictions for {len(pending)} rows")]
                )
            outcome.model, outcome.version = result.model, result.version
            outcome.predictions.update(zip(pending, result.predictions))
            pending = []
    return outcome


def probability_column(label: Any) -> str:
    return f"probability_{label}"


def results_table(parsed: ParsedCsv, outcome: BatchOutcome, spec: FeatureSpec) -> pd.DataFrame:
    """One line per predicted row: its row number, extra columns, features, prediction and every probability."""
    columns = [
        "row",
        *parsed.ignored_columns,
        *spec.names,
        "predicted_label",
        "predicted_name",
        "confidence",
        *(probability_column(c) for c in spec.classes),
    ]
    records = []
    for i, prediction in sorted(outcome.predictions.items()):
        record: dict[str, Any] = {"row": parsed.row_numbers[i], **parsed.extra[i], **parsed.rows[i]}
        record["predicted_label"] = prediction.label
        record["predicted_name"] = prediction.label_name
        record["confidence"] = prediction.confidence
        for label, p in prediction.probabilities.items():
            record[probability_column(label)] = p
        records.append(record)
    if not records:
        return pd.DataFrame(columns=columns)
    # Labels the spec does not list (should not happen) still get their column, last.
    unlisted = list(dict.fromkeys(c for r in records for c in r if c not in columns))
    return pd.DataFrame.from_records(records).reindex(columns=columns + unlisted)


def rejected_table(parsed: ParsedCsv, outcome: BatchOutcome) -> pd.DataFrame:
    """One line per problem of every row not predicted: row number, field, reason."""
    lines: list[dict[str, Any]] = [{"row": p.row, "field": p.field, "reason": p.reason} for p in parsed.problems]
    for i, problems in outcome.rejected.items():
        lines.extend({"row": parsed.row_numbers[i], "field": p.field, "reason": p.reason} for p in problems)
    lines.sort(key=lambda line: line["row"])
    return pd.DataFrame(lines, columns=["row", "field", "reason"])


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode("utf-8")
