"""Catalog search: the index kept by the catalog services, and the backends that rank it."""
