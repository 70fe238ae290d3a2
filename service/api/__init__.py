"""The planning service: FastAPI over the one :class:`geo.area.Area` it loads at start-up.

``create_app`` (:mod:`service.api.app`) builds it; ``pingan serve`` runs it on uvicorn.
Routers only parse, call the engine through the service's jobs, and return schemas.
"""

from service.api.app import create_app
from service.api.config import ApiConfig

__all__ = ["ApiConfig", "create_app"]
