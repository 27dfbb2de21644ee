"""Feature drift: recent feature distributions against the production version's training rows.

Per feature, a two-sample test that suits its kind in the dataset contract, and
the population stability index (PSI) as the size of the change:

- numeric: the Kolmogorov-Smirnov test; PSI over ten bins cut at the
  reference's deciles.
- categorical: Pearson's chi-square test of the two samples' category counts
  (the contract's categories; ones absent from both samples left out; ones the
  current sample would expect fewer than five rows of pooled for the test, as
  the chi-square approximation needs); PSI over the categories.

The p-values of the features compared at once (one source of one check) are
adjusted with Benjamini-Hochberg (`scipy.stats.false_discovery_control`): a
feature drifts when its adjusted p-value is below `FALSE_DISCOVERY_RATE` *and*
its PSI is above the threshold of its kind. The test keeps small samples from
flagging noise (the PSI of 30 rows of an unchanged distribution is often above
0.2); the PSI keeps large ones from flagging a change too small to matter.
Twelve uncorrected tests at 5 % would flag at least one feature in ~46 % of
unchanged windows. `bench/drift_false_alarms.py` measures both.

Evidently was the first choice; its current release (0.7.23) installs with the
platform's pins but fails to import with pandas 3.1 (airflow/README.md), so the
tests are written here with numpy and scipy, and the report is a small HTML page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from mlops_pipelines.contracts import Categorical, DatasetContract

PSI_BINS = 10
PSI_THRESHOLD = 0.2
CATEGORY_PSI_THRESHOLD = 0.1
# Benjamini-Hochberg's level over the features of one comparison.
FALSE_DISCOVERY_RATE = 0.05
# Categories the current sample would expect fewer rows of than this are pooled for the chi-square test.
CHI2_MIN_EXPECTED = 5.0
# Shares are floored at this before the logarithm: an empty bin would make PSI infinite.
PSI_EPSILON = 1e-4
# Fewer rows than this on either side: the feature is not compared (DRIFT_MIN_ROWS; bench/drift_false_alarms.py).
MIN_ROWS = 50


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    method: str  # ks | chi2: the test behind p_value
    statistic: float  # the test's statistic (KS distance, chi-square)
    p_value: float  # the test's own
    p_adjusted: float  # Benjamini-Hochberg over the features compared with it
    psi: float  # the size of the change
    drifted: bool
    rows_reference: int
    rows_current: int
    # Shares per bin or category, reference and current, for the report.
    labels: tuple[str, ...] = ()
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()

    @property
    def psi_threshold(self) -> float:
        return CATEGORY_PSI_THRESHOLD if self.kind == "categorical" else PSI_THRESHOLD

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


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy's): reject where below the false discovery rate."""
    values = np.asarray(p_values, dtype=float)
    return stats.false_discovery_control(values, method="bh") if len(values) else values


def _tested(
    name: str,
    kind: str,
    method: str,
    test: tuple[float, float],
    labels: tuple[str, ...],
    ref_shares: np.ndarray,
    cur_shares: np.ndarray,
    rows: tuple[int, int],
) -> FeatureDrift:
    """One feature's test and PSI, not yet judged (`decide` adjusts the p-values of a comparison together)."""
    statistic, p_value = test
    psi_value = _psi(ref_shares, cur_shares)
    return FeatureDrift(
        name, kind, method, statistic, p_value, p_value, psi_value, False, *rows, labels, tuple(ref_shares), tuple(cur_shares)
    )


def _numeric(name: str, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    ref, cur = reference.dropna().to_numpy(dtype=float), current.dropna().to_numpy(dtype=float)
    edges = numeric_bins(ref)
    ref_shares, cur_shares = _shares(ref, edges), _shares(cur, edges)
    result = stats.ks_2samp(ref, cur)
    bounds = [-math.inf, *edges.tolist(), math.inf]
    labels = tuple(f"[{lo:g}, {hi:g})" for lo, hi in zip(bounds, bounds[1:]))
    return _tested(
        name, "numeric", "ks", (float(result.statistic), float(result.pvalue)), labels, ref_shares, cur_shares, (len(ref), len(cur))
    )


def chi_square(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square test of two samples' counts over the same categories, rare ones pooled.

    Categories in which the current sample would expect fewer than CHI2_MIN_EXPECTED
    rows are merged into one (kept apart only if the merged one is still too rare,
    then it joins the rarest kept): with a 20,000-row reference and a 100-row window,
    one row of a soil type found once in 2,000 would otherwise weigh like a shift.
    """
    ref, cur = np.asarray(reference_counts, dtype=float), np.asarray(current_counts, dtype=float)
    expected = (ref + cur) / max(1.0, (ref + cur).sum()) * cur.sum()
    rare = expected < CHI2_MIN_EXPECTED
    if rare.any():
        kept_ref, kept_cur = list(ref[~rare]), list(cur[~rare])
        pooled_ref, pooled_cur = ref[rare].sum(), cur[rare].sum()
        if kept_ref and (pooled_ref + pooled_cur) / max(1.0, (ref + cur).sum()) * cur.sum() < CHI2_MIN_EXPECTED:
            smallest = int(np.argmin(np.asarray(kept_ref) + np.asarray(kept_cur)))
            kept_ref[smallest] += pooled_ref
            kept_cur[smallest] += pooled_cur
        else:
            kept_ref.append(pooled_ref)
            kept_cur.append(pooled_cur)
        ref, cur = np.asarray(kept_ref), np.asarray(kept_cur)
    if len(ref) < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(np.vstack([ref, cur]))
    return float(result.statistic), float(result.pvalue)


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
    test = chi_square(ref_counts, cur_counts)
    return _tested(feature.name, "categorical", "chi2", test, tuple(categories), ref_shares, cur_shares, (len(ref), len(cur)))


def decide(results: Sequence[FeatureDrift], rate: float = FALSE_DISCOVERY_RATE) -> list[FeatureDrift]:
    """The results with Benjamini-Hochberg adjusted p-values and the drifted flag of each, judged together."""
    adjusted = benjamini_hochberg([r.p_value for r in results])
    return [replace(r, p_adjusted=float(q), drifted=bool(q < rate and r.psi > r.psi_threshold)) for r, q in zip(results, adjusted)]


def compare(contract: DatasetContract, reference: pd.DataFrame, current: pd.DataFrame, min_rows: int = MIN_ROWS) -> list[FeatureDrift]:
    """One result per contract feature present with at least `min_rows` on both sides, in contract order, judged together."""
    results = []
    for feature in contract.features:
        if feature.name not in reference or feature.name not in current:
            continue
        ref, cur = reference[feature.name], current[feature.name]
        if ref.notna().sum() < min_rows or cur.notna().sum() < min_rows:
            continue
        if isinstance(feature, Categorical):
            results.append(_categorical(feature, ref, cur))
        else:
            results.append(_numeric(feature.name, pd.to_numeric(ref, errors="coerce"), pd.to_numeric(cur, errors="coerce")))
    return decide(results)


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


def html_report(title: str, sections: dict[str, list[FeatureDrift]], context: dict[str, str], min_rows: int = MIN_ROWS) -> str:
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
            parts.append(f"<p>Not enough rows to compare (at least {min_rows} per feature).</p>")
            continue
        parts.append(
            f"<p>Drifted: Benjamini-Hochberg adjusted p-value below {FALSE_DISCOVERY_RATE} and PSI above "
            f"{PSI_THRESHOLD} (numeric) or {CATEGORY_PSI_THRESHOLD} (categories).</p>"
            "<table><tr><th>feature</th><th>test</th><th>statistic</th><th>p-value</th><th>adjusted p-value</th><th>PSI</th>"
            "<th>rows (training / current)</th><th>drifted</th></tr>"
        )
        for r in results:
            flag = '<span class="drifted">yes</span>' if r.drifted else "no"
            parts.append(
                f"<tr><td>{html.escape(r.feature)}</td><td>{r.method}</td><td>{r.statistic:.4f}</td><td>{r.p_value:.3g}</td>"
                f"<td>{r.p_adjusted:.3g}</td><td>{r.psi:.4f}</td><td>{r.rows_reference} / {r.rows_current}</td><td>{flag}</td></tr>"
            )
        parts.append("</table>")
        for r in results:
            parts.append(f"<details><summary>{html.escape(r.feature)} (PSI {r.psi:.4f})</summary>{_bars(r)}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)
