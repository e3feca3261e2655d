"""Operations: imports and the bulk path, tabular files, verify, report, demo data."""
