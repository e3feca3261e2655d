"""REST routes, one module per audience."""
