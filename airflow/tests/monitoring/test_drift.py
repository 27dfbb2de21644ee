"""The drift tests on crafted data: a shifted feature is flagged, an unshifted one is not."""

import numpy as np
import pandas as pd
import pytest

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
    assert results["bill_length_mm"].drifted and results["bill_length_mm"].method == "psi"
    assert results["bill_length_mm"].statistic > drift.PSI_THRESHOLD
    assert [name for name, r in results.items() if r.drifted] == ["bill_length_mm"]
    assert drift.drifted_share(list(results.values())) == pytest.approx(1 / 6)


def test_a_shifted_category_mix_is_flagged_by_chi_square():
    reference, current = frames(seed=1), frames(seed=2)
    rng = np.random.default_rng(3)
    current["island"] = rng.choice(["Biscoe", "Dream", "Torgersen"], len(current), p=[0.15, 0.35, 0.5])
    results = by_feature(drift.compare(PENGUINS, reference, current))
    island = results["island"]
    assert island.method == "chi2" and island.drifted and island.p_value < 1e-6
    assert not results["sex"].drifted and results["sex"].p_value > drift.CHI2_P_VALUE
    assert island.labels == ("Biscoe", "Dream", "Torgersen")
    assert sum(island.current_shares) == pytest.approx(1)


def test_samples_of_one_distribution_do_not_drift():
    results = drift.compare(PENGUINS, frames(seed=1), frames(seed=2))
    assert len(results) == 6 and not any(r.drifted for r in results)
    assert all(r.statistic < drift.PSI_THRESHOLD for r in results if r.method == "psi")


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
    assert "ingested: 17% of 6 features drifted" in page
    assert "predictions: 0% of 0 features drifted" in page and "Not enough rows" in page
    assert all(f">{name}<" in page for name in PENGUINS.feature_names)


def test_covertype_features_use_the_test_of_their_kind():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f.name: rng.integers(0, 10, 500) for f in COVERTYPE.numeric})
    frame["Wilderness_Area"] = rng.choice(["Rawah", "Neota"], 500)
    frame["Soil_Type"] = rng.choice(["C7745", "C2703"], 500)
    methods = {r.feature: r.method for r in drift.compare(COVERTYPE, frame, frame)}
    assert methods == {f.name: ("chi2" if f.kind == "categorical" else "psi") for f in COVERTYPE.features}
