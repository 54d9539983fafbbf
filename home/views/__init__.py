"""Home's pages and htmx partials, one module per section of the page."""
