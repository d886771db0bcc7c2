"""The aiohttp server: routes, the dispatch registry, handlers, metrics."""
