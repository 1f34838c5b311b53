"""Web layer: languages, forms, CSRF, headers and page rendering."""
