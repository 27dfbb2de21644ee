"""One router per concern: health and metrics, models, the platform's predict routes, the original clients'."""
