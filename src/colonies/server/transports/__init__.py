"""Transports: each moves request envelopes to the dispatcher (server/dispatch.py) and its
replies back, and does nothing else; verification, authorization, replay protection, metrics
and error envelopes happen once, in the dispatcher. A transport is one module here, wired into
the application by server/app.py.

The transports that aiohttp serves find the dispatcher in the application under
:data:`DISPATCHER_KEY`.
"""

from aiohttp import web

from colonies.server.dispatch import Dispatcher

DISPATCHER_KEY = web.AppKey("dispatcher", Dispatcher)
