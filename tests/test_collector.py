"""som_flow.tune_collector(app), as `som-flow serve` and the README's gunicorn config call it: the young objects are
collected once a response has been sent (the server closes it), not in the middle of a request; the collector's own
trigger stays, further out, as a backstop."""

from __future__ import annotations

import gc

import pytest

import som_flow
from som_flow import tune_collector


@pytest.fixture
def collections():
    """The collections that start while the test runs; the collector's settings put back after it."""
    started = []

    def record(phase, info):
        if phase == "start":
            started.append(info["generation"])

    threshold = gc.get_threshold()
    gc.callbacks.append(record)
    yield started
    gc.callbacks.remove(record)
    gc.unfreeze()  # a test process must go on collecting what tune_collector froze
    gc.set_threshold(*threshold)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_young_objects_are_collected_after_the_response_is_sent(app, collections, monkeypatch):
    tune_collector(app)
    assert gc.get_threshold()[0] == 10 * som_flow.COLLECT_AFTER  # the backstop
    monkeypatch.setattr(som_flow, "COLLECT_AFTER", 0)  # any response is worth a collection here
    client = app.test_client()
    response = client.get("/healthz", buffered=False)
    assert response.status_code == 200
    collections.clear()
    assert response.get_data() and collections == []  # sent, not yet closed: nothing collected yet
    response.close()  # what the server does once it has sent it
    assert collections and collections[0] in (0, 1, 2), collections


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_collection_after_a_response_while_few_objects_are_new(app, collections):
    tune_collector(app)
    gc.collect()
    client = app.test_client()
    collections.clear()
    response = client.get("/healthz", buffered=False)
    response.get_data()
    response.close()
    assert gc.get_count()[0] < som_flow.COLLECT_AFTER and collections == []
