"""Two writers that lock the same rows in opposite orders: PostgreSQL kills one, which is a 409, not a 500."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from som_flow.errors import Conflict
from som_flow.extensions import db
from som_flow.models import User
from som_flow.services.unit_of_work import transaction
from tests.helpers import make_user


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_deadlock_is_a_conflict_for_the_loser_and_the_winner_commits(app):
    first, second = make_user("a@x.test", "rep").id, make_user("b@x.test", "rep").id
    db.session.remove()
    both_hold_one = threading.Barrier(2, timeout=30)
    outcomes: dict[str, object] = {}

    def writer(name: str, order: tuple[int, int]) -> None:
        with app.app_context():
            try:
                with transaction() as session:
                    session.get(User, order[0], with_for_update=True).name = name
                    session.flush()
                    both_hold_one.wait()
                    session.get(User, order[1], with_for_update=True).name = name
                    session.flush()
                outcomes[name] = "committed"
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
                outcomes[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=("one", (first, second))),
               threading.Thread(target=writer, args=("two", (second, first)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    results = sorted(outcomes.values(), key=str)
    assert results[-1] == "committed", outcomes
    assert isinstance(results[0], Conflict) and results[0].status == 409, outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "committed")
    assert set(db.session.scalars(select(User.name).where(User.id.in_([first, second])))) == {winner}
