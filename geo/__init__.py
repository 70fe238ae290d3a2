"""The pingan engine: layers, road network and the analyses built on them.

Nothing in this package does HTTP, renders HTML or reads the environment; callers
pass explicit arguments so the service, the CLI and batch jobs can all reuse it.
"""

__all__: list[str] = []
