"""The database: engine, migrations and the tables, split by area."""
