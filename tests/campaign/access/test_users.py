"""Users, argon2 hashes and the login throttle, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from campaign import audit
from campaign.access import throttle, users
from campaign.access.users import LoginRefused
from campaign.errors import BadRequest, NotFound
from campaign.runtime import Runtime
from campaign.storage.models import User, utcnow

PASSWORD = "correct horse battery"


def test_add_and_log_in_with_an_argon2_hash(runtime: Runtime) -> None:
    users.add(runtime.engine, "Amina", "staff", PASSWORD, actor="cli:ops")
    with runtime.engine.connect() as connection:
        stored = connection.scalar(select(User.password_hash).where(User.name == "amina"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    user = users.authenticate(runtime.engine, "amina", PASSWORD, "10.0.0.1")
    assert (user.name, user.role, user.last_login_at is not None) == ("amina", "staff", True)
    entries = audit.search(runtime.engine)
    assert [(e.action, e.actor) for e in entries] == [("login", "amina"), ("user.add", "cli:ops")]
    assert PASSWORD not in str([e.detail for e in entries])


def test_a_hash_with_old_parameters_is_replaced_at_login(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with runtime.engine.begin() as connection:
        connection.execute(update(User).where(User.name == "amina").values(password_hash=weak))
    users.authenticate(runtime.engine, "amina", PASSWORD, "10.0.0.1")
    with runtime.engine.connect() as connection:
        stored = connection.scalar(select(User.password_hash).where(User.name == "amina"))
    assert stored != weak and not users.HASHER.check_needs_rehash(stored or "")
    assert users.authenticate(runtime.engine, "amina", PASSWORD, "10.0.0.1").name == "amina"


def test_wrong_password_and_unknown_name_read_the_same(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    for name in ("amina", "nobody"):
        with pytest.raises(LoginRefused, match="wrong user name or password") as refused:
            users.authenticate(runtime.engine, name, "guess guess guess", "10.0.0.1")
        assert refused.value.status == 401 and refused.value.retry_at is None
    reasons = [e.detail["reason"] for e in audit.search(runtime.engine, actions=["login.failed"])]
    assert reasons == ["unknown user", "wrong password"]


@pytest.fixture
def few_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer free failures: the same rule, with fewer (deliberately slow) argon2 checks to wait for."""
    monkeypatch.setitem(throttle.FREE, "pair", 2)
    monkeypatch.setitem(throttle.FREE, "client", 4)
    monkeypatch.setitem(throttle.FREE, "user", 3)


@pytest.mark.usefixtures("few_free")
def test_guesses_from_elsewhere_never_lock_the_right_password_out(runtime: Runtime) -> None:
    """The attack that found it: a few wrong guesses at the admin's name locked the admin out."""
    users.add(runtime.engine, "root", "admin", PASSWORD, actor="test")
    now = utcnow()
    waits: list[float] = []
    for i in range(12):  # from many addresses, none of them locked
        with pytest.raises(LoginRefused, match="wrong user name or password"):
            users.authenticate(
                runtime.engine, "root", "guess guess guess", f"203.0.113.{i}", now, wait=waits.append
            )
    # Each check past the free failures was delayed, doubling, never longer than the ceiling.
    assert waits[:3] == [0.25, 0.5, 1.0] and max(waits) == throttle.LONGEST_DELAY
    assert len(waits) == 12 - throttle.FREE["user"] - 1
    # The admin, from their own address, gets in at once after the (capped) delay.
    signed_in = users.authenticate(runtime.engine, "root", PASSWORD, "198.51.100.1", now, wait=waits.append)
    assert signed_in.name == "root" and waits[-1] == throttle.LONGEST_DELAY
    assert throttle.failures(runtime.engine, throttle.user_key("root")) == 0
    alerts = audit.search(runtime.engine, actions=["login.alert"])
    assert len(alerts) == 1 and alerts[0].subject == "root"  # told once, not at every guess


@pytest.mark.usefixtures("few_free")
def test_one_address_guessing_one_name_locks_only_itself(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    now = utcnow()
    for _ in range(throttle.FREE["pair"]):
        with pytest.raises(LoginRefused) as refused:
            users.authenticate(runtime.engine, "amina", "nope nope nope", "203.0.113.7", now=now)
        assert refused.value.retry_at is None, "a few mistakes are free"
    with pytest.raises(LoginRefused, match=r"too many failed attempts: try again after") as refused:
        users.authenticate(runtime.engine, "amina", "nope nope nope", "203.0.113.7", now=now)
    assert refused.value.retry_at == now + throttle.FIRST_LOCK
    # That address is refused without a new check; amina from her own address is not.
    with pytest.raises(LoginRefused) as refused:
        users.authenticate(runtime.engine, "amina", PASSWORD, "203.0.113.7", now=now + timedelta(seconds=10))
    assert refused.value.retry_at == now + throttle.FIRST_LOCK
    assert users.authenticate(runtime.engine, "amina", PASSWORD, "198.51.100.1", now=now).name == "amina"
    # After the lock, one more failure from that address locks it twice as long.
    later = now + timedelta(seconds=31)
    with pytest.raises(LoginRefused) as refused:
        users.authenticate(runtime.engine, "amina", "nope nope nope", "203.0.113.7", now=later)
    assert refused.value.retry_at == later + 2 * throttle.FIRST_LOCK


@pytest.mark.usefixtures("few_free")
def test_one_client_guessing_many_names_is_locked(runtime: Runtime) -> None:
    now = utcnow()
    for i in range(throttle.FREE["client"]):
        with pytest.raises(LoginRefused) as refused:
            users.authenticate(runtime.engine, f"name{i}", "guess guess guess", "203.0.113.7", now=now)
        assert refused.value.retry_at is None
    with pytest.raises(LoginRefused) as refused:
        users.authenticate(runtime.engine, "another", "guess guess guess", "203.0.113.7", now=now)
    assert refused.value.retry_at == now + throttle.FIRST_LOCK
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    assert users.authenticate(runtime.engine, "amina", PASSWORD, "198.51.100.1", now=now).name == "amina"


def test_a_login_without_an_address_is_refused_not_pooled(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    with pytest.raises(LoginRefused, match="address is unknown"):
        users.authenticate(runtime.engine, "amina", PASSWORD, "")


def test_locks_grow_to_a_ceiling_and_names_are_never_locked() -> None:
    free = throttle.FREE["pair"]
    assert [throttle.lock_for("pair", n) for n in range(1, free + 1)] == [None] * free
    assert throttle.lock_for("pair", free + 1) == timedelta(seconds=30)
    assert throttle.lock_for("pair", free + 3) == timedelta(seconds=120)
    assert throttle.lock_for("client", throttle.FREE["client"] + 100) == throttle.LONGEST_LOCK
    assert throttle.lock_for("user", 10_000) is None
    assert throttle.delay_for(throttle.FREE["user"]) == 0
    assert throttle.delay_for(10_000) == throttle.LONGEST_DELAY


def test_failures_older_than_an_hour_are_forgiven(runtime: Runtime) -> None:
    long_ago = utcnow() - timedelta(hours=2)
    keys = [throttle.pair_key("amina", "203.0.113.7")]
    for _ in range(throttle.FREE["pair"]):
        throttle.failed(runtime.engine, keys, long_ago)
    assert throttle.failed(runtime.engine, keys, long_ago) is not None  # locked, back then
    assert throttle.failed(runtime.engine, keys, utcnow()) is None
    assert throttle.failures(runtime.engine, keys[0]) == 1


def test_roles_names_and_the_last_admin(runtime: Runtime) -> None:
    users.add(runtime.engine, "root", "admin", PASSWORD, actor="test")
    with pytest.raises(BadRequest, match="role 'boss' is not one of viewer, staff, lead, admin"):
        users.add(runtime.engine, "bram", "boss", PASSWORD, actor="test")
    with pytest.raises(BadRequest, match="at least 10 characters"):
        users.add(runtime.engine, "bram", "staff", "short", actor="test")
    with pytest.raises(BadRequest, match="user name"):
        users.add(runtime.engine, "no spaces", "staff", PASSWORD, actor="test")
    with pytest.raises(BadRequest, match="exists already"):
        users.add(runtime.engine, "ROOT", "staff", PASSWORD, actor="test")
    with pytest.raises(BadRequest, match="last admin"):
        users.set_role(runtime.engine, "root", "lead", actor="test")
    with pytest.raises(BadRequest, match="last admin"):
        users.remove(runtime.engine, "root", actor="test")
    users.add(runtime.engine, "bram", "lead", PASSWORD, actor="test")
    users.set_role(runtime.engine, "bram", "admin", actor="test")
    users.remove(runtime.engine, "root", actor="test")
    with pytest.raises(NotFound):
        users.remove(runtime.engine, "root", actor="test")
    assert [(u.name, u.role) for u in users.listing(runtime.engine)] == [("bram", "admin")]
    changes = [(e.action, e.subject) for e in audit.search(runtime.engine)]
    assert changes[:3] == [("user.remove", "root"), ("user.role", "bram"), ("user.add", "bram")]


def test_the_session_stamp_changes_with_the_password_and_the_role_only(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    users.add(runtime.engine, "bram", "admin", PASSWORD, actor="test")
    stamp = users.get(runtime.engine, "amina").session_stamp
    users.authenticate(runtime.engine, "amina", PASSWORD, "10.0.0.1")
    users.set_role(runtime.engine, "amina", "staff", actor="test")  # no change
    users.set_password(runtime.engine, "bram", "another long one", actor="test")  # someone else
    assert users.get(runtime.engine, "amina").session_stamp == stamp
    users.set_password(runtime.engine, "amina", "another long one", actor="test")
    after_reset = users.get(runtime.engine, "amina").session_stamp
    users.set_role(runtime.engine, "amina", "lead", actor="test")
    after_role = users.get(runtime.engine, "amina").session_stamp
    users.remove(runtime.engine, "amina", actor="test")
    users.add(runtime.engine, "amina", "lead", "another long one", actor="test")
    again = users.get(runtime.engine, "amina").session_stamp
    assert len({stamp, after_reset, after_role, again}) == 4
    role = audit.search(runtime.engine, actions=["user.role"])
    assert [e.detail["sessions_ended"] for e in role] == [True, False]


# Issue 14, finding 6: single sign-on matched users on the e-mail claim alone, so any account
# at the provider that could claim (or later be given) a user's address got in as that user.
ISSUER = "https://login.example.org"


def claims(sub: str = "1001", email: str | None = "amina@example.org", **more: object) -> dict[str, object]:
    """An ID token's claims as Streamlit's st.user holds them."""
    found: dict[str, object] = {"is_logged_in": True, "iss": ISSUER, "sub": sub, "email_verified": True}
    if email is not None:
        found["email"] = email
    return found | more


def refusal(runtime: Runtime, given: dict[str, object], **options: object) -> tuple[str, str]:
    with pytest.raises(LoginRefused) as refused:
        users.single_sign_on(runtime.engine, given, "10.0.0.1", **options)  # type: ignore[arg-type]
    entry = audit.search(runtime.engine, actions=["login.failed"])[0]
    return str(entry.detail["reason"]), refused.value.message


def test_the_first_single_sign_on_binds_the_user_to_issuer_and_subject(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="Amina@Example.org", actor="test")
    user = users.single_sign_on(runtime.engine, claims(email="AMINA@example.org"), "10.0.0.1")
    assert (user.name, user.role, user.has_password, user.sso_bound) == ("amina", "lead", False, True)
    bound = audit.search(runtime.engine, actions=["user.sso_bind"])
    assert [e.detail for e in bound] == [{"issuer": ISSUER, "subject": "1001"}]
    # Later logins match on issuer + subject, whatever the e-mail claim says now.
    assert users.single_sign_on(runtime.engine, claims(email="amina.new@example.org"), "x").name == "amina"
    assert users.single_sign_on(runtime.engine, claims(email=None), "x").name == "amina"
    logins = audit.search(runtime.engine, actions=["login"])
    assert [e.detail["method"] for e in logins] == ["sso"] * 3
    with pytest.raises(LoginRefused):  # no password: single sign-on only
        users.authenticate(runtime.engine, "amina", "", "10.0.0.1")


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (claims(sub="2002"), "another identity"),  # the same address from another account
        (claims(iss="https://other.example.net"), "another identity"),  # ... or another provider
        (
            {"is_logged_in": True, "email": "amina@example.org", "email_verified": True},
            "no issuer or subject",
        ),
        (claims(sub=""), "no issuer or subject"),
    ],
)
def test_after_binding_the_e_mail_alone_or_another_subject_is_refused_and_audited(
    runtime: Runtime, given: dict[str, object], reason: str
) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="amina@example.org", actor="test")
    users.single_sign_on(runtime.engine, claims(), "10.0.0.1")
    assert refusal(runtime, given)[0] == reason
    assert users.get(runtime.engine, "amina").sso_bound  # the binding stays as it was
    assert users.single_sign_on(runtime.engine, claims(), "10.0.0.1").name == "amina"


@pytest.mark.parametrize(
    ("given", "reason", "says"),
    [
        (claims(email_verified=False), "e-mail not verified", "not verified"),
        (claims(email_verified="false"), "e-mail not verified", "not verified"),
        ({k: v for k, v in claims().items() if k != "email_verified"}, "e-mail not verified", "not verified"),
        (claims(email=None), "no e-mail claim", "no e-mail"),
        (claims(email="stranger@example.org"), "no such sso user", "no access here"),
    ],
)
def test_the_first_login_needs_a_verified_address_of_a_user(
    runtime: Runtime, given: dict[str, object], reason: str, says: str
) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="amina@example.org", actor="test")
    refused, message = refusal(runtime, given)
    assert refused == reason and says in message
    assert not users.get(runtime.engine, "amina").sso_bound


def test_a_verified_true_string_counts_as_verified(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="amina@example.org", actor="test")
    assert users.single_sign_on(runtime.engine, claims(email_verified="true"), "x").sso_bound


def test_configured_domains_restrict_the_first_login(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="amina@example.org", actor="test")
    users.add(runtime.engine, "bram", "staff", None, email="bram@amnesty.org", actor="test")
    domains = ("amnesty.org",)
    assert refusal(runtime, claims(), domains=domains)[0] == "e-mail domain not allowed"
    bram = claims(sub="3003", email="bram@amnesty.org")
    assert users.single_sign_on(runtime.engine, bram, "x", domains=domains).name == "bram"


def test_an_identity_bound_to_one_user_never_logs_in_as_another(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="amina@example.org", actor="test")
    users.add(runtime.engine, "bram", "admin", None, email="bram@example.org", actor="test")
    users.single_sign_on(runtime.engine, claims(), "x")
    # Amina's account now claims Bram's address: it is still Amina, and Bram stays unbound.
    assert users.single_sign_on(runtime.engine, claims(email="bram@example.org"), "x").name == "amina"
    assert not users.get(runtime.engine, "bram").sso_bound


def test_an_admin_can_unbind_an_identity_for_a_replaced_account(runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "lead", None, email="amina@example.org", actor="test")
    stamp = users.single_sign_on(runtime.engine, claims(), "x").session_stamp
    users.forget_sso_identity(runtime.engine, "amina", actor="cli:ops")
    after = users.single_sign_on(runtime.engine, claims(sub="4004"), "x")
    assert after.sso_bound and after.session_stamp != stamp
    assert refusal(runtime, claims())[0] == "another identity"  # the old account is out
    assert audit.search(runtime.engine, actions=["user.sso_reset"])[0].actor == "cli:ops"
    with pytest.raises(NotFound):
        users.forget_sso_identity(runtime.engine, "nobody", actor="test")


def test_first_run_makes_one_admin_with_a_password_file(runtime: Runtime, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "data" / "admin-password.txt"
    password = users.first_admin(runtime.engine, path)
    assert password is not None and path.read_text() == f"admin\n{password}\n"
    assert path.stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert users.authenticate(runtime.engine, "admin", password, "127.0.0.1").role == "admin"
    assert users.first_admin(runtime.engine, path) is None, "only when there is nobody"
