"""Read models: usage details, statements, exports, views, paging."""
