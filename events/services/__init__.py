"""The event's verbs, one module per area (planning, registration, requests, scheduling, agenda, outcomes, reports)."""
