"""HTTP edge: REST API and the national gateway envelope."""
