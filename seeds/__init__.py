"""Seed data of chainmatch (data files in this folder) and their idempotent loader.

`seeds.loader` loads them (`load_all`), `seeds.commands` wraps it in `chainmatch seed`, and
`seeds.generate_demo_smes` regenerates the demo SMEs deterministically.
"""
