"""``pingan serve`` (the HTTP service) and ``pingan users`` (its users, from a shell)."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from geo.errors import PinganError

__all__ = ["add_serve_parsers"]

_NEEDS = (
    "the service needs its extra packages (FastAPI, uvicorn, SQLAlchemy): `make serve` "
    "installs them, or `.ci/install service`"
)


class ServeError(PinganError):
    """A bad ``pingan serve`` or ``pingan users`` request."""


def _config(args: argparse.Namespace) -> Any:
    try:
        from service.api.config import ApiConfig
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise ServeError(_NEEDS) from exc
    return ApiConfig.from_env(
        area=Path(args.area) if getattr(args, "area", None) else None,
        data_dir=Path(args.data) if args.data else None,
        database_url=args.database_url,
        max_upload_mb=getattr(args, "max_upload_mb", None),
        job_workers=getattr(args, "workers", None),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the planning service on uvicorn until Ctrl-C."""
    try:
        import uvicorn

        from service.api import create_app
        from service.api.app import load_service_area
    except ImportError as exc:
        raise ServeError(_NEEDS) from exc
    config = _config(args)
    if config.area is not None and not config.area.is_file():
        raise ServeError(f"--area {config.area}: no such area file")
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(
            f"pingan serve: listening on {args.host}, not only this machine: anyone who "
            "reaches it can try to sign in; put it behind TLS",
            file=sys.stderr,
        )
    where = config.area or "the sample district"
    print(f"pingan serve: {where} on http://{args.host}:{args.port}/ (data in {config.data_dir})")
    # Loaded before uvicorn starts, so a bad layer is one clear message (exit 2), not
    # a lifespan traceback; the app then serves this Area.
    area = load_service_area(config)
    print(
        "pingan serve: first start? the first users' passwords are in "
        f"{config.data_dir / 'first-users.txt'}"
    )
    uvicorn.run(create_app(config, area=area), host=args.host, port=args.port, log_level="info")
    return 0


def _store(args: argparse.Namespace) -> Any:
    try:
        from service.store import open_store
    except ImportError as exc:
        raise ServeError(_NEEDS) from exc
    config = _config(args)
    return open_store(config.database_url or config.data_dir / "pingan.gpkg")


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add a user and print their password (generated unless --password-stdin)."""
    if args.role == "team_leader" and not args.team:
        raise ServeError("--role team_leader needs --team TEAM: the team they lead")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else ""
        password = password or getpass.getpass(f"password for {args.name}: ")
    else:
        password = secrets.token_urlsafe(9)
    if len(password) < 8:
        raise ServeError("the password must have at least 8 characters")
    store = _store(args)
    try:
        user = store.create_user(args.name, args.role, password, team=args.team)
        store.audit(None, "user.create", f"user:{user.id}", {"by": "pingan users add"})
    finally:
        store.close()
    print(f"added {user.name} ({user.role}{', team ' + user.team if user.team else ''})")
    if not args.password_stdin:
        print(f"password: {password}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List the users."""
    store = _store(args)
    try:
        users = store.list_users()
    finally:
        store.close()
    for u in users:
        print(f"{u.id}\t{u.name}\t{u.role}\t{u.team or ''}\t{u.created}")
    if not users:
        print("no users yet: `pingan serve` creates the first ones, or `pingan users add`")
    return 0


def cmd_users_token(args: argparse.Namespace) -> int:
    """Print a new bearer token for a user (for scripts and curl)."""
    store = _store(args)
    try:
        found = [u for u in store.list_users() if u.name == args.name]
        if not found:
            raise ServeError(f"no user named {args.name!r} (pingan users list)")
        token = store.issue_token(found[0].id, label="pingan users token")
        store.audit(None, "user.token", f"user:{found[0].id}", {"by": "pingan users token"})
    finally:
        store.close()
    print(token)
    return 0


def _store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data folder (default ./data, or $PINGAN_DATA)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL + PostGIS instead of the embedded GeoPackage "
        "(postgresql+psycopg://user@host/db; default $DATABASE_URL)",
    )


def add_serve_parsers(sub: Any) -> None:
    """Add ``serve`` and ``users`` to the ``pingan`` parser."""
    s = sub.add_parser("serve", help="run the planning service (HTTP API and pages)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--area", help="area file (TOML/JSON); default the sample district")
    s.add_argument("--max-upload-mb", type=float, help="upload limit (default 200)")
    s.add_argument("--workers", type=int, help="background jobs at once (default 1)")
    _store_flags(s)
    s.set_defaults(func=cmd_serve)

    u = sub.add_parser("users", help="the service's users")
    us = u.add_subparsers(dest="users_command", required=True)
    add = us.add_parser("add", help="add a user and print their password")
    add.add_argument("name")
    add.add_argument(
        "--role", required=True, choices=("admin", "dispatcher", "team_leader", "planner")
    )
    add.add_argument("--team", help="team leaders: the id of their team")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _store_flags(add)
    add.set_defaults(func=cmd_users_add)
    ls = us.add_parser("list", help="list the users")
    _store_flags(ls)
    ls.set_defaults(func=cmd_users_list)
    tok = us.add_parser("token", help="print a new bearer token for a user")
    tok.add_argument("name")
    _store_flags(tok)
    tok.set_defaults(func=cmd_users_token)
