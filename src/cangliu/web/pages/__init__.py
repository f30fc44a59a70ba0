"""Server-rendered pages (Jinja2 + htmx + Alpine.js)."""
