"""Reference data: persons, kinships, institutions, tokens."""
