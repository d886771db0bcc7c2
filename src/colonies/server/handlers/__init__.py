"""Handlers per area: each module declares its routes in its own ``routes`` registry, and
server/routes.py lists the modules and assembles them."""
