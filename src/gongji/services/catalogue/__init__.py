"""医保目录: the effective item of a region, and loading the catalogue (upsert in bulk)."""
