"""What the tests share: builders of test data (factories: people, enterprises, institutions, needs, products;
events: events and sessions through the planning services, approved registrations, matching scenarios;
participation: open events, sessions and registrations relative to the real clock, meetings; online: livestreams,
visits, lead requests), the database helper (database, count, counts) and readers of rendered pages (pages)."""
