"""Store: tables, migrations, the unit of work and the double-entry journal."""
