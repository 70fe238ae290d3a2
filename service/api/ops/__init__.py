"""The service's operations: what both the JSON routers and the pages for people call.

Each takes the app's :class:`~service.api.deps.AppState` and returns a stored record or a
result of :mod:`geo`; the routers and pages only parse and serialise around them, so a
patrol planned from the dispatcher's form is the same plan as one planned by the API.
"""

from __future__ import annotations
