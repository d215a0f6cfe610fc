"""The event's pages: the organiser's desk, the participants' pages, the report."""
