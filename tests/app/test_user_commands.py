"""`aibrain users` as an administrator runs it, on each database backend: users added, listed, given
new passwords and disabled, every change audited; every refused input one line naming the field."""

from __future__ import annotations

import argparse
import getpass
import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aibrain.web.user_commands import add_arguments, run
from configs.load import load_site
from routing.access.access_tables import AuditEntry
from routing.access.accounts import authenticate
from routing.access.web_sessions import find_session, open_session
from routing.incidents.database import make_engine, session_factory
from tests.configs.test_load_site import good_site, write_site

PASSWORD = "correct horse battery"
LONG = timedelta(days=1)
TOO_SHORT = "password: too short; use at least 10 characters"


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Path:
    return write_site(tmp_path, good_site() | {"database": db_url})


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def users(site: Path, *argv: str, stdin: str = "") -> int:
    """`aibrain users ...` in this process, its stdin given."""
    parser = argparse.ArgumentParser(prog="aibrain users")
    add_arguments(parser)
    args = parser.parse_args([*argv, "--config", str(site)])
    saved, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        return run(args, load_site(site))
    finally:
        sys.stdin = saved


def signs_in(sessions: sessionmaker[Session], username: str, password: str) -> bool:
    with sessions() as session, session.begin():
        return authenticate(session, username, password, datetime.now(UTC)) is not None


def test_users_are_added_listed_given_passwords_and_disabled(site: Path, sessions: sessionmaker[Session],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert users(site, "list") == 0
    assert "no users yet" in capsys.readouterr().out
    assert users(site, "add", "zhang.wei", "--role", "centre", "--scope", "street:外滩街道", "--name", "张伟 [/]",
                 "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert "added centre zhang.wei (张伟 [/]), scope street:外滩街道 (外滩街道)" in capsys.readouterr().out
    assert users(site, "add", "li.si", "--role", "worker", "--scope", "grid:G-01", "--worker", "w-001",
                 "--generate-password") == 0
    out = capsys.readouterr().out
    generated = out.split("password for li.si: ")[1].split()[0]
    assert "scope grid:G-01 (汇丰社区第一网格), worker w-001" in out and out.count(generated) == 1
    assert signs_in(sessions, "zhang.wei", PASSWORD) and signs_in(sessions, "li.si", generated)

    assert users(site, "list") == 0
    listing = capsys.readouterr().out
    for shown in ("zhang.wei", "张伟 [/]", "centre", "street:外滩街道", "li.si", "worker", "grid:G-01", "w-001"):
        assert shown in listing, shown
    assert "$argon2" not in listing and generated not in listing

    with sessions() as session, session.begin():
        user = authenticate(session, "zhang.wei", PASSWORD, datetime.now(UTC))
        assert user is not None
        token, _ = open_session(session, user, datetime.now(UTC), None)
    assert users(site, "passwd", "zhang.wei", "--password-stdin", stdin="a new passphrase\r\n") == 0
    assert signs_in(sessions, "zhang.wei", "a new passphrase") and not signs_in(sessions, "zhang.wei", PASSWORD)
    with sessions() as session, session.begin():
        assert find_session(session, token, datetime.now(UTC), LONG, LONG) is None

    assert users(site, "disable", "li.si") == 0
    assert not signs_in(sessions, "li.si", generated)
    capsys.readouterr()
    assert users(site, "list") == 0
    [li_si] = [line for line in capsys.readouterr().out.splitlines() if "li.si" in line]
    assert str(datetime.now(UTC).astimezone(load_site(site).config.tz).year) in li_si  # disabled since

    with sessions() as session:
        audit = [(e.username, e.action, e.target, e.detail) for e in session.scalars(select(AuditEntry)
                                                                                     .order_by(AuditEntry.id))]
    cli = f"cli:{getpass.getuser()}"
    assert audit == [
        (cli, "user_added", "user:zhang.wei", "role centre, scope street:外滩街道"),
        (cli, "user_added", "user:li.si", "role worker, scope grid:G-01, worker w-001"),
        (cli, "password_changed", "user:zhang.wei", None),
        (cli, "user_disabled", "user:li.si", None),
    ]


def test_a_typed_password_is_asked_twice(site: Path, sessions: sessionmaker[Session],
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A terminal cannot run under pytest: getpass's answers are given.
    typed = iter([PASSWORD, PASSWORD + "x", PASSWORD, PASSWORD])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(typed))
    assert users(site, "add", "root", "--role", "admin", "--scope", "district") == 2
    assert capsys.readouterr().err == "error: password: the two entries differ\n"
    assert users(site, "add", "root", "--role", "admin", "--scope", "district") == 0
    assert signs_in(sessions, "root", PASSWORD)


@pytest.mark.parametrize(("argv", "stdin", "error"), [
    (["add", "x1", "--role", "centre", "--scope", "street:外滩街", "--password-stdin"], PASSWORD,
     "--scope street:外滩街: no such street in grids.geojson (streets: 外滩街道)"),
    (["add", "x1", "--role", "leader", "--scope", "community:外滩街道/金陵社区", "--password-stdin"], PASSWORD,
     "--scope community:外滩街道/金陵社区: no such community in grids.geojson (communities: 外滩街道/汇丰社区)"),
    (["add", "x1", "--role", "leader", "--scope", "grid:G-09", "--password-stdin"], PASSWORD,
     "--scope grid:G-09: no such grid in grids.geojson (grids: G-01, G-02)"),
    (["add", "x1", "--role", "centre", "--scope", "grid:G-01", "--password-stdin"], PASSWORD,
     "--scope grid:G-01: a centre user is scoped to a street or district, not a grid"),
    (["add", "x1", "--role", "admin", "--scope", "street", "--password-stdin"], PASSWORD,
     '--scope street: not a scope; give "district", "street:<street>", "community:<street>/<community>" '
     'or "grid:<grid id>"'),
    (["add", "x1", "--role", "worker", "--scope", "grid:G-01", "--password-stdin"], PASSWORD,
     "--worker: a worker user needs the worker id they act as"),
    (["add", "x1", "--role", "worker", "--scope", "grid:G-01", "--worker", "w-999", "--password-stdin"], PASSWORD,
     "--worker w-999: no such worker in site.yaml (workers: w-001)"),
    (["add", "x1", "--role", "centre", "--scope", "district", "--worker", "w-001", "--password-stdin"], PASSWORD,
     "--worker w-001: only worker users act as a worker, not a centre"),
    (["add", "bad name", "--role", "admin", "--scope", "district", "--password-stdin"], PASSWORD,
     "username 'bad name': use 1 to 64 letters, digits and _ . @ -, starting with a letter or digit"),
    (["add", "x1", "--role", "admin", "--scope", "district", "--name", "名" * 256, "--password-stdin"], PASSWORD,
     "--name: longer than 255 characters"),
    (["add", "x1", "--role", "admin", "--scope", "district", "--password-stdin"], "short", TOO_SHORT),
    (["add", "x1", "--role", "admin", "--scope", "district", "--password-stdin"], "", TOO_SHORT),
    (["add", "administrator", "--role", "admin", "--scope", "district", "--password-stdin"], "Administrator",
     "password: must not be the username"),
    (["passwd", "nobody", "--password-stdin"], PASSWORD, "username nobody: no such user"),
    (["disable", "nobody"], "", "username nobody: no such user"),
])
def test_refused_input_is_one_line_naming_the_field(site: Path, argv: list[str], stdin: str, error: str,
                                                    sessions: sessionmaker[Session],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert users(site, *argv, stdin=stdin + "\n") == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"error: {error}\n")
    with sessions() as session:
        assert session.scalars(select(AuditEntry)).all() == []


def test_a_taken_username_is_refused_before_the_password_is_read(site: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert users(site, "add", "zhang.wei", "--role", "admin", "--scope", "district", "--generate-password") == 0
    capsys.readouterr()
    assert users(site, "add", "zhang.wei", "--role", "admin", "--scope", "district", "--generate-password") == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: username zhang.wei: already taken\n")


@pytest.mark.parametrize(("argv", "error"), [
    (["add", "x1", "--role", "boss", "--scope", "district"], "argument --role: invalid choice: 'boss'"),
    (["add", "x1", "--role", "admin"], "the following arguments are required: --scope"),
    (["passwd", "x1", "--password-stdin", "--generate-password"], "not allowed with argument --password-stdin"),
])
def test_argument_mistakes_are_named_by_argparse(argv: list[str], error: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="aibrain users")
    add_arguments(parser)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args([*argv, "--config", "site.yaml"])
    assert exited.value.code == 2 and error in capsys.readouterr().err
