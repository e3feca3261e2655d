"""Region policies in force: dated versions read from the database (a leaf: kernel only)."""
