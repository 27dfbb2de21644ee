"""The four monitoring tables as docs/monitoring-schema (airflow's MONITORING_TABLES)
defines them, for tests against a real MySQL. Once airflow's golden file
contract/monitoring-tables.json exists, test_monitoring_data checks this DDL against it.
SQL that MySQL 8 and MariaDB both accept."""

from __future__ import annotations

DDL = [
    """CREATE TABLE predictions (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        request_id VARCHAR(64) NOT NULL,
        row_index INT NOT NULL,
        predicted_at DATETIME(3) NOT NULL,
        dataset VARCHAR(32) NOT NULL,
        route VARCHAR(64) NOT NULL,
        model_name VARCHAR(255) NOT NULL,
        model_version VARCHAR(32) NOT NULL,
        features TEXT NOT NULL,
        prediction VARCHAR(64) NOT NULL,
        confidence FLOAT NOT NULL,
        probabilities TEXT NOT NULL,
        latency_ms FLOAT NOT NULL,
        UNIQUE KEY uq_predictions_request_row (request_id, row_index),
        KEY ix_predictions_dataset_predicted_at (dataset, predicted_at)
    )""",
    """CREATE TABLE model_quality (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        dataset VARCHAR(32) NOT NULL,
        model_name VARCHAR(255) NOT NULL,
        model_version VARCHAR(32) NOT NULL,
        batch_key VARCHAR(64) NOT NULL,
        group_number INT NULL,
        batch_number INT NULL,
        rows_scored INT NOT NULL,
        accuracy FLOAT NOT NULL,
        f1_macro FLOAT NOT NULL,
        baseline_accuracy FLOAT NULL,
        baseline_f1_macro FLOAT NULL,
        mlflow_run_id VARCHAR(64) NULL,
        measured_at DATETIME NOT NULL,
        UNIQUE KEY uq_model_quality_batch (dataset, model_name, model_version, batch_key),
        KEY ix_model_quality_dataset_measured_at (dataset, measured_at)
    )""",
    """CREATE TABLE feature_drift (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        check_id VARCHAR(64) NOT NULL,
        source VARCHAR(16) NOT NULL,
        feature VARCHAR(64) NOT NULL,
        dataset VARCHAR(32) NOT NULL,
        model_name VARCHAR(255) NOT NULL,
        model_version VARCHAR(32) NOT NULL,
        window_start DATETIME NOT NULL,
        window_end DATETIME NOT NULL,
        method VARCHAR(16) NOT NULL,
        statistic FLOAT NOT NULL,
        p_value FLOAT NULL,
        drifted BOOLEAN NOT NULL,
        rows_compared INT NOT NULL,
        report_run_id VARCHAR(64) NULL,
        measured_at DATETIME NOT NULL,
        UNIQUE KEY uq_feature_drift (check_id, source, feature),
        KEY ix_feature_drift_dataset_measured_at (dataset, measured_at)
    )""",
    """CREATE TABLE retrain_triggers (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        dataset VARCHAR(32) NOT NULL,
        reason VARCHAR(32) NOT NULL,
        detail TEXT NOT NULL,
        model_name VARCHAR(255) NOT NULL,
        model_version VARCHAR(32) NOT NULL,
        fired_at DATETIME NOT NULL,
        KEY ix_retrain_triggers_dataset_fired_at (dataset, fired_at)
    )""",
]
TABLES = ("predictions", "model_quality", "feature_drift", "retrain_triggers")
