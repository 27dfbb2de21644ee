"""The Model tab's production and challenger, side by side, from the monitoring tables (real MySQL) and inference (faked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.canned import COVERTYPE
from tests.monitoring_rows import insert_comparison, insert_quality

from tests import canned

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def model_tab(start_app, fake, monkeypatch, reader_url):
    canned.serve_models(fake)
    monkeypatch.setenv("UI_MONITOR_DB_URL", reader_url)
    at = start_app(fake.url)
    at.selectbox(key="dataset").select("covertype").run()
    assert not at.exception
    return at


def test_production_and_challenger_side_by_side_with_the_recommendation(start_app, fake, monkeypatch, monitoring_db):
    writer, reader_url = monitoring_db
    for batch, (version, accuracy) in enumerate([("3", 0.80), ("3", 0.78), ("4", 0.83)], start=1):
        insert_quality(writer, "covertype", NOW - timedelta(minutes=10 - batch), version, accuracy, 0.9, batch)
    insert_comparison(writer, COVERTYPE, "2", "3", NOW - timedelta(days=1), recommendation="keep")  # another production's
    insert_comparison(writer, COVERTYPE, "3", "4", NOW)
    at = model_tab(start_app, fake, monkeypatch, reader_url)

    # The headline is live accuracy over production's scored batches; its test scores say what they are.
    headline = {m.label: m.value for m in at.get_by_key("model_headline").metric}
    assert headline == {"Live accuracy": "0.7900", "Test accuracy": "0.9855", "Test F1 macro": "0.9812"}
    captions = "\n".join(c.value for c in at.caption)
    assert "Live accuracy: 2,000 labelled rows it did not train on, over 2 batches." in captions

    table = at.get_by_key("model_comparison").table[0].value
    assert table.columns.tolist() == ["production v3", "challenger v4"]
    assert table["production v3"].tolist() == ["0.9712 ± 0.0121", "0.9855 (69 rows)", "0.7900 (2,000 rows)", "0.7912", "0.7001"]
    assert table["challenger v4"].tolist() == ["0.9750 ± 0.0090", "0.9900 (69 rows)", "0.8300 (1,000 rows)", "0.8105", "0.7220"]
    assert table.index[3] == "Accuracy on the 2,870 paired rows"
    said = at.get_by_key("model_recommendation")
    line = said.markdown[0].value
    assert "on 2,870 rows neither trained on (3 batches, 130 rows left out as seen)" in line
    assert "accuracy +1.93 points, 95 % CI [+0.81, +3.05] (McNemar p = 0.00031)" in line and "**promote**" in line
    assert said.info[0].value == "Challenger v4 is better than production v3: promote."
    # The challenger's CV and test figures came from inference.
    assert ("GET", f"/models/{COVERTYPE}", {"version": "4"}) in [(r.method, r.path, r.query) for r in fake.requests]


def test_without_a_challenger_or_labels_the_tab_says_so(start_app, fake, monkeypatch, monitoring_db):
    _, reader_url = monitoring_db
    at = model_tab(start_app, fake, monkeypatch, reader_url)
    assert {m.label for m in at.get_by_key("model_headline").metric} == {"Test accuracy", "Test F1 macro"}
    assert "No challenger has been compared with production version 3 yet." in [c.value for c in at.caption]


def test_unreadable_tables_are_named_and_the_rest_of_the_tab_works(start_app, fake, monkeypatch):
    at = model_tab(start_app, fake, monkeypatch, "mysql+pymysql://nobody:x@127.0.0.1:9/none")
    assert any(c.value.startswith("The comparison cannot be read now: the monitoring tables in MySQL cannot be read") for c in at.caption)
    assert at.get_by_key("model_versions").dataframe[0].value["version"].tolist() == ["4", "3", "2"]
