"""``musedc users``: users and groups from the command line (the domain is qcservice.users)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from sqlalchemy import Engine, text

from qcservice.db import make_engine
from qcservice.users import (
    ROLES,
    add_to_group,
    add_user,
    list_groups,
    list_users,
    remove_from_group,
    set_active,
    set_password,
    set_role,
)


def _engine(obj) -> Engine:
    return make_engine(obj.settings)


def _read_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(obj, action) -> None:
    engine = _engine(obj)
    with engine.begin() as conn:
        action(conn)
    _sync_vo(engine)


def _user_change(group: click.Group, name: str, change: Callable[..., None], done: str,
                 help: str, *more: click.Argument) -> None:
    """Add command ``name`` to ``group``: USERNAME (and the arguments ``more``) changed by
    ``change(conn, username, ...)`` in one transaction and copied to DaCHS, then ``done``
    said (formatted with the arguments). The commands that change a user differ in no more."""
    params = [click.Argument(["username"]), *more]

    @click.pass_obj
    def callback(obj, **args: str) -> None:
        values = [args[p.name] for p in params]
        _run(obj, lambda conn: change(conn, *values))
        click.echo(done.format(**args))

    group.add_command(click.Command(name, callback=callback, params=params, help=help))


def _sync_vo(engine: Engine) -> None:
    """Copy the change into DaCHS at once when this database has a DaCHS instance, so
    one command manages the viewer's and the VO services' users."""
    with engine.connect() as conn:
        has_dachs = conn.execute(text("SELECT to_regclass('dc.users') IS NOT NULL")
                                 ).scalar_one()
    if has_dachs:
        from qcservice.vo.accounts import sync_users

        users, memberships = sync_users(engine)
        click.echo(f"VO services (DaCHS): {users} users, {memberships} group memberships")


@click.group()
def users() -> None:
    """Users and groups of the data centre (viewer logins, VO rights)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--no-password", is_flag=True, help="Create without a password (no login).")
@click.pass_obj
def users_add(obj, username: str, role: str, password_stdin: bool, no_password: bool) -> None:
    """Create USERNAME with a role and a password."""
    password = None if no_password else _read_password(password_stdin)
    _run(obj, lambda c: add_user(c, username, role, password))
    click.echo(f"user {username} ({role}) created")


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_obj
def users_passwd(obj, username: str, password_stdin: bool) -> None:
    """Set USERNAME's password."""
    password = _read_password(password_stdin)
    _run(obj, lambda c: set_password(c, username, password))
    click.echo(f"password of {username} changed")


@users.command("list")
@click.pass_obj
def users_list(obj) -> None:
    """List the users, their roles and groups."""
    with _engine(obj).connect() as conn:
        for u in list_users(conn):
            state = "" if u["active"] else " (inactive)"
            pw = "" if u["has_password"] else " (no password)"
            click.echo(f"{u['username']:<20} {u['role']:<13} {u['groups'] or '-'}{state}{pw}")


@users.group("group")
def users_group() -> None:
    """Add users to groups or take them out."""


@users.command("groups")
@click.pass_obj
def users_groups(obj) -> None:
    """List the groups and how many members each has."""
    with _engine(obj).connect() as conn:
        for g in list_groups(conn):
            click.echo(f"{g['name']:<20} {g['kind']:<11} {g['members']} member(s)")


_user_change(users, "role", set_role, "{username} is now {role}", "Give USERNAME the role ROLE.",
             click.Argument(["role"], type=click.Choice(ROLES)))
_user_change(users, "deactivate", lambda conn, username: set_active(conn, username, False),
             "{username} deactivated",
             "Lock USERNAME out of the viewer and the VO services (kept for the audit trail).")
_user_change(users, "activate", lambda conn, username: set_active(conn, username, True),
             "{username} activated", "Let a deactivated USERNAME log in again.")
_user_change(users_group, "add", add_to_group, "{username} is in {group}",
             "Put USERNAME in GROUP (created when missing).", click.Argument(["group"]))
_user_change(users_group, "remove", remove_from_group, "{username} left {group}",
             "Take USERNAME out of GROUP.", click.Argument(["group"]))
