"""Route modules, one per area; each is a thin layer over a service module."""
