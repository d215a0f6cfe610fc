"""Forms of the month's event, one module per side (organiser, participant). They never write."""
