"""The drift tests on crafted data and on the Covertype file: a shifted feature is flagged, an unshifted one is not."""

import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlops_pipelines.contracts import COVERTYPE, PENGUINS
from mlops_pipelines.monitoring import drift


def frames(n: int = 3000, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n, p=[0.5, 0.35, 0.15]),
            "bill_length_mm": rng.normal(44 + shift, 5, n),
            "bill_depth_mm": rng.normal(17, 2, n),
            "flipper_length_mm": rng.normal(200, 14, n),
            "body_mass_g": rng.normal(4200, 800, n),
            "sex": rng.choice(["female", "male"], n),
        }
    )


def by_feature(results):
    return {r.feature: r for r in results}


def test_a_shifted_numeric_feature_is_flagged_and_the_others_are_not():
    reference, current = frames(seed=1), frames(seed=2)
    current["bill_length_mm"] += 6  # about one standard deviation
    results = by_feature(drift.compare(PENGUINS, reference, current))
    assert results["bill_length_mm"].drifted and results["bill_length_mm"].method == "ks"
    assert results["bill_length_mm"].psi > drift.PSI_THRESHOLD and results["bill_length_mm"].p_adjusted < 1e-6
    assert [name for name, r in results.items() if r.drifted] == ["bill_length_mm"]
    assert drift.drifted_share(list(results.values())) == pytest.approx(1 / 6)


def test_a_shifted_category_mix_is_flagged_by_chi_square():
    reference, current = frames(seed=1), frames(seed=2)
    rng = np.random.default_rng(3)
    current["island"] = rng.choice(["Biscoe", "Dream", "Torgersen"], len(current), p=[0.15, 0.35, 0.5])
    results = by_feature(drift.compare(PENGUINS, reference, current))
    island = results["island"]
    assert island.method == "chi2" and island.drifted and island.p_value < 1e-6
    assert not results["sex"].drifted and results["sex"].p_adjusted > drift.FALSE_DISCOVERY_RATE
    assert island.labels == ("Biscoe", "Dream", "Torgersen")
    assert sum(island.current_shares) == pytest.approx(1)


def test_samples_of_one_distribution_do_not_drift():
    results = drift.compare(PENGUINS, frames(seed=1), frames(seed=2))
    assert len(results) == 6 and not any(r.drifted for r in results)
    assert all(r.p_adjusted > drift.FALSE_DISCOVERY_RATE for r in results)


def test_psi_is_zero_for_identical_samples_and_grows_with_the_shift():
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, 5000)
    assert drift.psi(values, values) == pytest.approx(0)
    assert drift.psi(values, values + 0.2) < drift.psi(values, values + 1) < drift.psi(values, values + 3)


def test_integer_features_with_few_values_get_fewer_bins():
    reference = pd.Series([0, 1, 1, 2] * 100)
    assert len(drift.numeric_bins(reference.to_numpy())) <= 3
    assert drift.psi(reference, pd.Series([2] * 400)) > drift.PSI_THRESHOLD


def test_too_few_rows_are_not_compared_and_unknown_values_count_as_other():
    reference = frames(seed=1)
    few = frames(n=drift.MIN_ROWS - 1, seed=2)
    assert drift.compare(PENGUINS, reference, few) == []
    assert len(drift.compare(PENGUINS, reference, few, min_rows=drift.MIN_ROWS - 1)) == 6
    odd = frames(seed=2)
    odd.loc[: len(odd) // 2, "island"] = "Atlantis"
    island = by_feature(drift.compare(PENGUINS, reference, odd))["island"]
    assert island.labels[-1] == "(other)" and island.drifted


def test_the_html_report_names_each_feature_its_test_and_the_share():
    reference, current = frames(seed=1), frames(seed=2)
    current["bill_length_mm"] += 6
    results = drift.compare(PENGUINS, reference, current)
    page = drift.html_report("penguins: feature drift", {"ingested": results, "predictions": []}, {"model": "m v1"})
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "ingested: 17% of 6 features drifted" in page and "adjusted p-value" in page
    assert "predictions: 0% of 0 features drifted" in page and "Not enough rows" in page
    assert all(f">{name}<" in page for name in PENGUINS.feature_names)


def test_covertype_features_use_the_test_of_their_kind():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f.name: rng.integers(0, 10, 500) for f in COVERTYPE.numeric})
    frame["Wilderness_Area"] = rng.choice(["Rawah", "Neota"], 500)
    frame["Soil_Type"] = rng.choice(["C7745", "C2703"], 500)
    methods = {r.feature: r.method for r in drift.compare(COVERTYPE, frame, frame)}
    assert methods == {f.name: ("chi2" if f.kind == "categorical" else "ks") for f in COVERTYPE.features}


def test_benjamini_hochberg_matches_a_hand_computed_case():
    # Sorted p-values 0.01, 0.02, 0.03, 0.04, 0.2 of five tests: p * 5 / rank = 0.05, 0.05, 0.05, 0.05, 0.2
    # (each the minimum over its rank and the ranks above); in the given order.
    adjusted = drift.benjamini_hochberg([0.04, 0.2, 0.01, 0.03, 0.02])
    assert adjusted == pytest.approx([0.05, 0.2, 0.05, 0.05, 0.05])
    # One small p-value among many large ones is not significant once adjusted: 0.01 * 12 = 0.12.
    assert drift.benjamini_hochberg([0.01] + [0.9] * 11)[0] == pytest.approx(0.12)
    assert len(drift.benjamini_hochberg([])) == 0


def result(feature: str, p_value: float, psi: float, kind: str = "numeric") -> drift.FeatureDrift:
    return drift.FeatureDrift(feature, kind, "ks", 0.0, p_value, p_value, psi, False, 100, 100)


def test_a_feature_drifts_only_when_significant_after_correction_and_large_enough():
    judged = {
        r.feature: r
        for r in drift.decide(
            [
                result("significant alone", 0.01, 0.5),  # rank 2 of 4: 0.01 * 4 / 2 = 0.02
                result("small change", 0.001, 0.05),  # the most significant, but a negligible PSI
                result("significant only uncorrected", 0.04, 0.5),  # rank 3: 0.04 * 4 / 3 = 0.053
                result("noise", 0.6, 0.9),
            ]
        )
    }
    assert judged["significant alone"].p_adjusted == pytest.approx(0.02)
    assert judged["significant alone"].drifted and not judged["small change"].drifted and not judged["noise"].drifted
    assert judged["significant only uncorrected"].p_adjusted == pytest.approx(0.04 * 4 / 3)
    assert not judged["significant only uncorrected"].drifted
    # Category PSI counts from 0.1.
    assert drift.decide([result("c", 0.001, 0.15, kind="categorical")])[0].drifted
    assert not drift.decide([result("n", 0.001, 0.15)])[0].drifted


def test_rare_categories_are_pooled_for_the_chi_square_test():
    # 40 categories, 30 of them rare; a 100-row window with one row in each of three rare ones is no shift.
    reference = np.array([1800] * 10 + [6] * 30)
    current = np.array([10, 10, 10, 10, 10, 10, 10, 9, 9, 9] + [1, 1, 1] + [0] * 27)
    _, pooled = drift.chi_square(reference, current)
    raw = stats.chi2_contingency(np.vstack([reference, current])).pvalue
    assert raw < 0.05 < pooled
    # A category the window is full of is still a shift.
    assert drift.chi_square(reference, np.array([0] * 10 + [100] + [0] * 29))[1] < 1e-6


COVERTYPE_PATH = os.environ.get("COVERTYPE_PATH", "")


@pytest.fixture(scope="module")
def covertype():
    if not os.path.isfile(COVERTYPE_PATH):
        pytest.skip("COVERTYPE_PATH does not name the Covertype file")
    return pd.read_csv(COVERTYPE_PATH, dtype={"Soil_Type": str, "Wilderness_Area": str})[COVERTYPE.feature_names]


def elevation_batch(frame: pd.DataFrame, number: int, batches: int = 10, seed: int = 42) -> np.ndarray:
    """data_api's `elevation` cut (batches.split_by_column): the seeded shuffle, stably sorted by Elevation."""
    shuffled = np.random.default_rng(seed).permutation(len(frame))
    return np.array_split(shuffled[np.argsort(frame["Elevation"].to_numpy()[shuffled], kind="stable")], batches)[number - 1]


def test_unchanged_covertype_windows_flag_almost_nothing_at_the_minimum_rows(covertype):
    rng = np.random.default_rng(11)
    flagged = 0
    for _ in range(20):
        order = rng.permutation(len(covertype))
        results = drift.compare(COVERTYPE, covertype.iloc[order[:20_000]], covertype.iloc[order[20_000 : 20_000 + drift.MIN_ROWS]])
        assert len(results) == len(COVERTYPE.features)
        flagged += sum(r.drifted for r in results)
    assert flagged <= 2  # of 240 features compared


def test_the_e2e_tiers_elevation_ordered_group_is_flagged(covertype):
    # test_07_monitoring: production trained on two shuffled fetches (2 x ~1,055 rows), the window
    # three fetches of elevation batch 1 (the lowest tenth of the mountain).
    rng = np.random.default_rng(5)
    fetch = round(0.1 * len(covertype) / 10)
    reference = covertype.iloc[rng.choice(len(covertype), 2 * fetch, replace=False)]
    batch = elevation_batch(covertype, 1)
    window = covertype.iloc[np.concatenate([rng.choice(batch, fetch, replace=False) for _ in range(3)])]
    results = by_feature(drift.compare(COVERTYPE, reference, window))
    assert results["Elevation"].drifted and results["Elevation"].p_adjusted < 1e-12
    # One fetch of any batch, 500 rows of it: the shift is still seen.
    for number in (1, 5, 10):
        part = elevation_batch(covertype, number)
        reference = covertype.drop(covertype.index[part]).sample(20_000, random_state=number)
        window = covertype.iloc[rng.choice(part, 500, replace=False)]
        assert by_feature(drift.compare(COVERTYPE, reference, window))["Elevation"].drifted, number
