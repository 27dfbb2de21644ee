"""One router per concern: the service itself (overview, health, metrics), the course API's batches, the groups' state."""
