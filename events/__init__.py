"""The month's event: year plan, sessions, registrations, meeting requests, meetings, outcomes, report."""
