"""Feature drift: recent feature distributions against the production version's training rows.

Per feature, a test that suits its kind in the dataset contract:

- numeric: the population stability index (PSI) over ten bins cut at the
  reference's deciles; drifted above 0.2 (the usual "significant shift" rule of
  thumb). PSI rather than Kolmogorov-Smirnov because a KS p-value with thousands
  of rows flags differences too small to matter.
- categorical: Pearson's chi-square test of the two samples' category counts
  (the contract's categories; ones absent from both samples left out); drifted
  when p < 0.05 and the categories' PSI is above 0.1, so a huge sample does not
  flag a negligible change.

Evidently was the first choice; its current release (0.7.23) installs with the
platform's pins but fails to import with pandas 3.1 (airflow/README.md), so the
tests are written here with numpy and scipy, and the report is a small HTML page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mlops_pipelines.contracts import Categorical, DatasetContract

PSI_BINS = 10
PSI_THRESHOLD = 0.2
CATEGORY_PSI_THRESHOLD = 0.1
CHI2_P_VALUE = 0.05
# Shares are floored at this before the logarithm: an empty bin would make PSI infinite.
PSI_EPSILON = 1e-4
# Fewer rows than this on either side: the feature is not compared.
MIN_ROWS = 30


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    method: str  # psi | chi2
    statistic: float
    p_value: float | None
    drifted: bool
    rows_reference: int
    rows_current: int
    # Shares per bin or category, reference and current, for the report.
    labels: tuple[str, ...] = ()
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    ref = np.maximum(reference, PSI_EPSILON)
    cur = np.maximum(current, PSI_EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_bins(reference: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (duplicates dropped: a feature with few values gets fewer bins)."""
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(1, counts.sum())


def psi(reference: Sequence[float], current: Sequence[float], bins: int = PSI_BINS) -> float:
    """Population stability index of `current` against `reference`, binned at the reference's quantiles."""
    ref, cur = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    edges = numeric_bins(ref, bins)
    return _psi(_shares(ref, edges), _shares(cur, edges))


def _numeric(name: str, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    ref, cur = reference.dropna().to_numpy(dtype=float), current.dropna().to_numpy(dtype=float)
    edges = numeric_bins(ref)
    ref_shares, cur_shares = _shares(ref, edges), _shares(cur, edges)
    value = _psi(ref_shares, cur_shares)
    bounds = [-math.inf, *edges.tolist(), math.inf]
    labels = tuple(f"[{lo:g}, {hi:g})" for lo, hi in zip(bounds, bounds[1:]))
    return FeatureDrift(
        name, "numeric", "psi", value, None, value > PSI_THRESHOLD, len(ref), len(cur), labels, tuple(ref_shares), tuple(cur_shares)
    )


def _categorical(feature: Categorical, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    ref, cur = reference.dropna().astype(str), current.dropna().astype(str)
    categories = [c for c in feature.categories if (ref == c).any() or (cur == c).any()]
    # Values outside the contract (none pass validation; predictions may hold some) count as one more category.
    other = "(other)"
    ref = ref.where(ref.isin(categories), other)
    cur = cur.where(cur.isin(categories), other)
    if (ref == other).any() or (cur == other).any():
        categories.append(other)
    ref_counts = ref.value_counts().reindex(categories, fill_value=0).to_numpy()
    cur_counts = cur.value_counts().reindex(categories, fill_value=0).to_numpy()
    ref_shares, cur_shares = ref_counts / max(1, ref_counts.sum()), cur_counts / max(1, cur_counts.sum())
    if len(categories) < 2:
        statistic, p_value = 0.0, 1.0
    else:
        result = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))
        statistic, p_value = float(result.statistic), float(result.pvalue)
    drifted = p_value < CHI2_P_VALUE and _psi(ref_shares, cur_shares) > CATEGORY_PSI_THRESHOLD
    return FeatureDrift(
        feature.name,
        "categorical",
        "chi2",
        statistic,
        p_value,
        drifted,
        len(ref),
        len(cur),
        tuple(categories),
        tuple(ref_shares),
        tuple(cur_shares),
    )


def compare(contract: DatasetContract, reference: pd.DataFrame, current: pd.DataFrame) -> list[FeatureDrift]:
    """One result per contract feature present with enough rows on both sides, in contract order."""
    results = []
    for feature in contract.features:
        if feature.name not in reference or feature.name not in current:
            continue
        ref, cur = reference[feature.name], current[feature.name]
        if ref.notna().sum() < MIN_ROWS or cur.notna().sum() < MIN_ROWS:
            continue
        if isinstance(feature, Categorical):
            results.append(_categorical(feature, ref, cur))
        else:
            results.append(_numeric(feature.name, pd.to_numeric(ref, errors="coerce"), pd.to_numeric(cur, errors="coerce")))
    return results


def drifted_share(results: Sequence[FeatureDrift]) -> float:
    return sum(r.drifted for r in results) / len(results) if results else 0.0


def _bars(result: FeatureDrift) -> str:
    rows = []
    for label, ref, cur in zip(result.labels, result.reference_shares, result.current_shares):
        rows.append(
            f"<tr><td>{html.escape(label)}</td>"
            f'<td><div class="bar ref" style="width:{200 * ref:.1f}px"></div>{ref:.1%}</td>'
            f'<td><div class="bar cur" style="width:{200 * cur:.1f}px"></div>{cur:.1%}</td></tr>'
        )
    return '<table class="bins"><tr><th>bin / category</th><th>training</th><th>current</th></tr>' + "".join(rows) + "</table>"


def html_report(title: str, sections: dict[str, list[FeatureDrift]], context: dict[str, str]) -> str:
    """A self-contained HTML page: per source, the share drifted and each feature's test and distributions."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}.drifted{color:#b00;font-weight:bold}"
        ".bar{display:inline-block;height:10px;margin-right:4px}.ref{background:#69c}.cur{background:#e93}"
        "details{margin:.3em 0}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><table>",
        *(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in context.items()),
        "</table>",
    ]
    for source, results in sections.items():
        parts.append(f"<h2>{html.escape(source)}: {drifted_share(results):.0%} of {len(results)} features drifted</h2>")
        if not results:
            parts.append(f"<p>Not enough rows to compare (at least {MIN_ROWS} per feature).</p>")
            continue
        parts.append(
            "<table><tr><th>feature</th><th>test</th><th>statistic</th><th>p-value</th><th>rows (training / current)</th><th>drifted</th></tr>"
        )
        for r in results:
            p_value = "" if r.p_value is None else f"{r.p_value:.3g}"
            flag = '<span class="drifted">yes</span>' if r.drifted else "no"
            parts.append(
                f"<tr><td>{html.escape(r.feature)}</td><td>{r.method}</td><td>{r.statistic:.4f}</td><td>{p_value}</td>"
                f"<td>{r.rows_reference} / {r.rows_current}</td><td>{flag}</td></tr>"
            )
        parts.append("</table>")
        for r in results:
            parts.append(f"<details><summary>{html.escape(r.feature)} ({r.method} {r.statistic:.4f})</summary>{_bars(r)}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)
