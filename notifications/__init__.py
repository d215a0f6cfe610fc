"""The notification outbox: one row per recipient × kind × object, delivered by the scheduler."""
