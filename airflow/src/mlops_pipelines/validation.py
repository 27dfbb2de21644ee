"""Split rows into clean ones (typed per the contract) and rejected ones (with every reason)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_pipelines.contracts import DatasetContract, Numeric


@dataclass
class ValidationResult:
    clean: pd.DataFrame
    rejected: pd.DataFrame  # the input columns as text, plus `reason`

    @property
    def counts(self) -> dict[str, int]:
        return {"clean": len(self.clean), "rejected": len(self.rejected)}


def _missing(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("string").str.strip().eq("")


def _check_numeric(feature: Numeric, values: pd.Series, missing: pd.Series) -> tuple[pd.Series, list[tuple[pd.Series, pd.Series]]]:
    numbers = pd.to_numeric(values.where(~missing), errors="coerce").astype("float64")
    problems = [(~missing & numbers.isna(), values.astype("string").radd(f"{feature.name}: ").add(" is not a number"))]
    finite = np.isfinite(numbers)
    problems.append((numbers.notna() & ~finite, pd.Series(f"{feature.name}: must be finite", index=values.index)))
    ok = numbers.notna() & finite
    if feature.integer:
        problems.append((ok & (numbers % 1 != 0), numbers.astype("string").radd(f"{feature.name}: ").add(" is not an integer")))
    out_of_range = ok & ((numbers < feature.minimum) | (numbers > feature.maximum))
    problems.append(
        (out_of_range, numbers.astype("string").radd(f"{feature.name}: ").add(f" outside [{feature.minimum:g}, {feature.maximum:g}]"))
    )
    return numbers, problems


def _check_categorical(name: str, categories: tuple, values: pd.Series, missing: pd.Series) -> tuple[pd.Series, list]:
    text = values.astype("string").str.strip()
    allowed = ", ".join(map(str, categories))
    unknown = ~missing & ~text.isin([str(c) for c in categories])
    return text, [(unknown, "'" + text.fillna("") + f"' not one of [{allowed}]")]


def validate(frame: pd.DataFrame, contract: DatasetContract) -> ValidationResult:
    """Check types, domains and missing values of every feature and the target.

    `frame` holds the contract's feature and target columns (any extra column,
    such as a fingerprint, is carried through). A row with several problems
    names all of them, so one look at the rejected table explains it.
    """
    reasons = pd.Series("", index=frame.index, dtype="string")

    def note(mask: pd.Series, message) -> None:
        nonlocal reasons
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        text = message if isinstance(message, str) else message[mask]
        reasons = reasons.mask(mask, reasons.where(reasons.eq(""), reasons + "; ").fillna("") + text)

    typed: dict[str, pd.Series] = {}
    for feature in contract.features:
        if feature.name not in frame:
            raise KeyError(f"{contract.name}: column {feature.name!r} is missing from the input")
        values = frame[feature.name]
        missing = _missing(values)
        if not feature.nullable:
            note(missing, f"{feature.name}: missing")
        if isinstance(feature, Numeric):
            typed[feature.name], problems = _check_numeric(feature, values, missing)
        else:
            typed[feature.name], problems = _check_categorical(feature.name, feature.categories, values, missing)
            problems = [(mask, msg.radd(f"{feature.name}: ")) for mask, msg in problems]
        for mask, message in problems:
            note(mask, message)

    target = frame[contract.target]
    target_missing = _missing(target)
    note(target_missing, f"{contract.target}: missing")
    if contract.integer_classes:
        numbers = pd.to_numeric(target.where(~target_missing), errors="coerce")
        unknown = ~target_missing & ~numbers.isin(contract.classes)
        note(unknown, target.astype("string").radd(f"{contract.target}: '").add(f"' not one of {list(contract.classes)}"))
        typed[contract.target] = numbers
    else:
        text, problems = _check_categorical(contract.target, contract.classes, target, target_missing)
        for mask, message in problems:
            note(mask, message.radd(f"{contract.target}: "))
        typed[contract.target] = text

    is_clean = reasons.eq("")
    clean = pd.DataFrame(typed, index=frame.index)[is_clean]
    for feature in contract.numeric:
        if feature.integer:
            clean[feature.name] = clean[feature.name].astype("int64")
        else:
            clean[feature.name] = clean[feature.name].astype("float64")
    for feature in contract.categorical:
        clean[feature.name] = clean[feature.name].astype(object).where(clean[feature.name].notna(), None)
    if contract.integer_classes:
        clean[contract.target] = clean[contract.target].astype("int64")
    else:
        clean[contract.target] = clean[contract.target].astype(object)
    extra = [c for c in frame.columns if c not in typed]
    clean = pd.concat([frame.loc[is_clean, extra], clean], axis=1)

    rejected = frame.loc[~is_clean].copy()
    rejected["reason"] = reasons[~is_clean].astype(str)
    return ValidationResult(clean=clean.reset_index(drop=True), rejected=rejected.reset_index(drop=True))
