"""The dashboard's accounts from the command line (the first admin, and scripts):

    python -m lib.users add NAME --role ROLE [--password-stdin]
    python -m lib.users set-role NAME --role ROLE
    python -m lib.users reset-password NAME [--password-stdin]
    python -m lib.users disable NAME
    python -m lib.users enable NAME
    python -m lib.users list
    python -m lib.users sso-add EMAIL --role ROLE
    python -m lib.users sso-set-role EMAIL --role ROLE
    python -m lib.users sso-disable EMAIL
    python -m lib.users sso-enable EMAIL
    python -m lib.users sso-remove EMAIL

The sso-* commands manage the e-mails that may sign in through single sign-on (an `[auth]` section in
.streamlit/secrets.toml) and their roles; `list` shows them after the accounts.

Roles: admin, manager, marketing, front_desk. Without --password-stdin the password is asked twice on the
terminal; with it, one line is read from standard input. Exit codes: 0 done, 1 refused (with a message
on standard error), 2 wrong usage. Every change is written to the audit log with who = "cli". The store is
the one the app uses: LEADS_STORE_URL, or the SQLite file in LEADS_DATA_DIR.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from lib import auth
from lib.config import load_settings
from lib.db import DatabaseError
from lib.errors import LeadsError
from lib.store import Store

WHO = "cli"


def _password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        line = stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("The two passwords differ.")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.users", description="Manage the dashboard's users.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, help=", ".join(auth.USER_ROLES))
    add.add_argument("--password-stdin", action="store_true", help="read the password from one stdin line")
    role = sub.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("--role", required=True, help=", ".join(auth.USER_ROLES))
    reset = sub.add_parser("reset-password", help="set a new password")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from one stdin line")
    for command, text in (("disable", "stop a user signing in"), ("enable", "let a disabled user sign in")):
        sub.add_parser(command, help=text).add_argument("name")
    sub.add_parser("list", help="list the users (never their passwords) and the single sign-on e-mails")
    for command, text in (("sso-add", "let an e-mail sign in through single sign-on"), ("sso-set-role", "")):
        sso = sub.add_parser(command, help=text or "change a single sign-on e-mail's role")
        sso.add_argument("email")
        sso.add_argument("--role", required=True, help=", ".join(auth.USER_ROLES))
    for command, text in (
        ("sso-disable", "stop a single sign-on e-mail signing in (kept in the list)"),
        ("sso-enable", "let a disabled single sign-on e-mail sign in again"),
        ("sso-remove", "take an e-mail off the single sign-on list"),
    ):
        sub.add_parser(command, help=text).add_argument("email")
    return parser


def run(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """The command line: returns the exit code (messages to `out` / standard error)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        store = Store.open(load_settings().store_url)  # LEADS_STORE_URL, or the SQLite file in LEADS_DATA_DIR
    except (LeadsError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return _command(args, store, stdin, out)
    except (ValueError, KeyError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _command(args: argparse.Namespace, store: Store, stdin: TextIO, out: TextIO) -> int:
    if args.command == "list":
        users = store.users()
        if users.empty and store.sso_users().empty:
            print("No users yet. Add the first admin: python -m lib.users add NAME --role admin", file=out)
        for row in users.itertuples():
            state = " (disabled)" if row.disabled else ""
            print(f"{row.name}\t{row.role}{state}", file=out)
        for row in store.sso_users().itertuples():
            state = " (disabled)" if row.disabled else ""
            print(f"{row.email}\t{row.role}{state}\tsingle sign-on", file=out)
        return 0
    if args.command.startswith("sso-"):
        return _sso_command(args, store, out)
    name = args.name.strip()
    if args.command == "add":
        role = auth.normalize_role(args.role)
        if store.user(name) is not None:
            raise ValueError(f"A user named {name!r} already exists.")
        password = _password(args, stdin)
        auth.check_password(password, name)
        store.add_user(name, role, auth.hash_password(password))
        store.audit(WHO, "user added", detail={"user": name, "role": role})
        print(f"Added {name} ({role}).", file=out)
        return 0
    user = store.user(name)
    if user is None:
        raise KeyError(f"There is no user named {name!r}.")
    name = user["name"]
    if args.command == "set-role":
        role = auth.normalize_role(args.role)
        _keep_an_admin(store, user, demoted=role != auth.ADMIN)
        store.update_user(name, role=role)
        store.audit(WHO, "user role changed", detail={"user": name, "from": user["role"], "to": role})
        print(f"{name} is now {role}.", file=out)
    elif args.command == "reset-password":
        password = _password(args, stdin)
        auth.check_password(password, name)
        store.update_user(name, password_hash=auth.hash_password(password))
        store.audit(WHO, "user password reset", detail={"user": name})
        print(f"New password set for {name}.", file=out)
    elif args.command == "disable":
        _keep_an_admin(store, user, demoted=True)
        store.update_user(name, disabled=True)
        store.audit(WHO, "user disabled", detail={"user": name})
        print(f"{name} can no longer sign in.", file=out)
    elif args.command == "enable":
        store.update_user(name, disabled=False)
        store.audit(WHO, "user enabled", detail={"user": name})
        print(f"{name} can sign in again.", file=out)
    return 0


def _sso_command(args: argparse.Namespace, store: Store, out: TextIO) -> int:
    if args.command == "sso-add":
        role = auth.normalize_role(args.role)
        email = store.add_sso_user(args.email, role)
        store.audit(WHO, "sso e-mail added", detail={"email": email, "role": role})
        print(f"{email} may sign in with single sign-on ({role}).", file=out)
        return 0
    mapping = store.sso_user(args.email)
    if mapping is None:
        raise KeyError(f"The e-mail {args.email.strip()} is not in the single sign-on list.")
    email = mapping["email"]
    if args.command == "sso-set-role":
        role = auth.normalize_role(args.role)
        store.update_sso_user(email, role=role)
        change = {"email": email, "from": mapping["role"], "to": role}
        store.audit(WHO, "sso e-mail role changed", detail=change)
        print(f"{email} is now {role}.", file=out)
    elif args.command in ("sso-disable", "sso-enable"):
        disabled = args.command == "sso-disable"
        store.update_sso_user(email, disabled=disabled)
        verb = "disabled" if disabled else "enabled"
        store.audit(WHO, f"sso e-mail {verb}", detail={"email": email})
        print(f"{email} is {verb}.", file=out)
    else:
        store.remove_sso_user(email)
        store.audit(WHO, "sso e-mail removed", detail={"email": email, "role": mapping["role"]})
        print(f"{email} can no longer sign in with single sign-on.", file=out)
    return 0


def _keep_an_admin(store: Store, user: dict, *, demoted: bool) -> None:
    """Refuse to take away the last active admin (nobody could manage users from the dashboard after)."""
    if demoted and user["role"] == auth.ADMIN and not user["disabled"] and store.active_admins() <= 1:
        raise ValueError(f"{user['name']} is the only active admin: add another admin first.")


if __name__ == "__main__":
    sys.exit(run())
