"""The session signing key is made once, even when several app processes start together."""

import threading

from cangliu.services import auth


def test_processes_starting_together_agree_on_one_secret_key(db):
    start = threading.Barrier(6)
    keys: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        start.wait()
        try:
            keys.append(auth.secret_key(db.uow()))
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(keys) == 6 and len(set(keys)) == 1
    assert auth.secret_key(db.uow()) == keys[0]
