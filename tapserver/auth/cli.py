"""`tapserver token create|revoke|list`: operator-issued bearer tokens."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

from tapserver.config import Settings

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expires(value: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``90m``, ``2w`` from now, or an ISO 8601 instant (UTC when no offset is given)."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(value.strip().lower())
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration (30d, 12h) or ISO 8601 instant: {value!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `create`, `revoke` and `list` under ``parser`` (the `tapserver token` parser)."""
    actions = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="issue a token (printed once; only its hash is stored)")
    create.add_argument("--user", required=True, help="user name the token authenticates")
    create.add_argument("--group", action="append", default=[], metavar="G",
                        help="group of the user (repeat for several)")
    create.add_argument("--expires", type=parse_expires, default=None, metavar="WHEN",
                        help="expiry: a duration from now (30d, 12h) or an ISO 8601 instant (default: never)")
    revoke = actions.add_parser("revoke", help="revoke a token by id, or every token of a user")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("token_id", nargs="?", help="token id (from `tapserver token list`)")
    target.add_argument("--user", help="revoke every token of this user")
    listing = actions.add_parser("list", help="list tokens (ids, users, groups, state; never the tokens)")
    listing.add_argument("--user", help="only this user's tokens")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from tapserver.auth.tokens import TokenStore

    engine = create_engine(settings.admin_url, poolclass=NullPool)
    try:
        store = TokenStore(engine)
        if args.token_command == "create":
            token_id, token = store.create(args.user, args.group, args.expires)
            print(f"token id {token_id} for user {args.user}"
                  + (f", expires {args.expires.isoformat()}" if args.expires else ""), file=sys.stderr)
            print("the token is shown once; store it now:", file=sys.stderr)
            print(token)
            return 0
        if args.token_command == "revoke":
            count = store.revoke(token_id=args.token_id) if args.token_id else store.revoke(user_id=args.user)
            print(f"revoked {count} token(s)")
            return 0 if count else 1
        now = datetime.now(UTC)
        for info in store.list(args.user):
            expires = info.expires.isoformat() if info.expires else "never"
            print(f"{info.token_id}\t{info.user_id}\t{','.join(info.groups) or '-'}\t{info.state(now)}\t"
                  f"created {info.created.isoformat()}\texpires {expires}")
        return 0
    finally:
        engine.dispose()
