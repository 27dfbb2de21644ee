"""Monitoring: the production model's live accuracy, feature drift, and when to retrain."""
