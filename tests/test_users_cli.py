"""`python -m lib.users`: the first admin and scripted account changes, through the real store."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib import auth
from lib.store import Store
from lib.users import run

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"


def cli(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    try:
        code = run(list(argv), stdin=io.StringIO(stdin), out=out)
    except SystemExit as exc:  # argparse: wrong usage
        code = int(exc.code)
    return code, out.getvalue()


def stored(tmp_path) -> Store:
    return Store(tmp_path / "data")


def test_the_first_admin_is_added_with_a_hashed_password_and_audited(tmp_path):
    code, out = cli("add", "Noa", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert (code, out) == (0, "Added Noa (admin).\n")
    store = stored(tmp_path)
    user = store.user("noa")
    assert user["role"] == "admin" and not user["disabled"]
    assert PASSWORD not in user["password_hash"] and auth.verify(user["password_hash"], PASSWORD)
    row = store.audit_frame().iloc[0]
    assert (row["who"], row["action"]) == ("cli", "user added")
    assert row["detail"] == '{"user": "Noa", "role": "admin"}'


def test_set_role_reset_password_disable_enable_and_list(tmp_path):
    cli("add", "noa", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert cli("add", "dana", "--role", "front desk", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert cli("set-role", "dana", "--role", "marketing") == (0, "dana is now marketing.\n")
    new = "another long passphrase"
    assert cli("reset-password", "dana", "--password-stdin", stdin=new + "\n")[0] == 0
    assert cli("disable", "dana") == (0, "dana can no longer sign in.\n")
    assert cli("list") == (0, "dana\tmarketing (disabled)\nnoa\tadmin\n")
    assert cli("enable", "dana")[0] == 0
    store = stored(tmp_path)
    assert auth.verify(store.user("dana")["password_hash"], new)
    assert not auth.verify(store.user("dana")["password_hash"], PASSWORD)
    actions = store.audit_frame()["action"].tolist()[::-1]
    assert actions == [
        "user added",
        "user added",
        "user role changed",
        "user password reset",
        "user disabled",
        "user enabled",
    ]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (("add", "dana", "--role", "owner", "--password-stdin"), PASSWORD, "role must be one of"),
        (("add", "dana", "--role", "manager", "--password-stdin"), "short pass", "at least 12 characters"),
        (("add", "dana", "--role", "manager", "--password-stdin"), "password123456", "too common"),
        (("set-role", "nobody", "--role", "manager"), "", "There is no user named 'nobody'"),
    ],
)
def test_refusals_exit_1_with_a_message_and_change_nothing(tmp_path, capsys, argv, stdin, message):
    assert cli(*argv, stdin=stdin)[0] == 1
    assert message in capsys.readouterr().err
    assert stored(tmp_path).users().empty


def test_a_second_user_of_the_same_name_and_the_last_admin_are_refused(tmp_path, capsys):
    cli("add", "noa", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert cli("add", "NOA", "--role", "manager", "--password-stdin", stdin=PASSWORD)[0] == 1
    assert "already exists" in capsys.readouterr().err
    assert cli("disable", "noa")[0] == 1
    assert cli("set-role", "noa", "--role", "manager")[0] == 1
    assert "only active admin" in capsys.readouterr().err
    assert stored(tmp_path).user("noa")["role"] == "admin"


def test_wrong_usage_exits_2(tmp_path):
    assert cli("add", "noa")[0] == 2  # --role missing
    assert cli("promote", "noa")[0] == 2


def test_python_dash_m_lib_users_works_from_a_shell(tmp_path):
    env = {**os.environ, "LEADS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "lib.users", "add", "noa", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "Added noa (admin).\n")
    assert stored(tmp_path).user("noa")["role"] == "admin"
