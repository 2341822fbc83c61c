"""One slow call must not block everyone (issue 13, item 4), through gradio_client against a real
server queued as `warmchat serve` queues it. The LLM is a fake that hangs on "hang" messages;
the tests wait on its observable state, never on sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.settings import Settings
from tests.e2e.app_server import start_app
from tests.fakes import HangingLLM

SAFETY_S = 120  # only so that a regression fails instead of hanging the suite; never a timing check
STATUS = 4  # API outputs of a turn: history, video, badge, reply, status, text box


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def serve(tmp_path_factory, **settings) -> Iterator[tuple[str, HangingLLM]]:
    llm = HangingLLM()
    demo, url = start_app(tmp_path_factory.mktemp("independent"), llm, settings=Settings(**settings))
    try:
        yield url, llm
    finally:
        llm.release.set()
        demo.close()


@pytest.fixture
def patient_server(tmp_path_factory):
    """The LLM never times out during the test; one LLM slot, a short wait for it."""
    yield from serve(tmp_path_factory, llm={"timeout_s": 600}, server={"llm_slots": 1, "busy_wait_s": 0.5})


@pytest.fixture
def impatient_server(tmp_path_factory):
    """The turn gives up on the LLM after 1 s (the message must say so)."""
    yield from serve(tmp_path_factory, llm={"timeout_s": 1, "max_retries": 1})


def test_other_sessions_run_while_one_reply_hangs(patient_server):
    url, llm = patient_server
    alice, bob = client(url), client(url)
    stuck = alice.submit("please hang on", api_name="/send")
    assert llm.entered.wait(SAFETY_S)
    # Bob's UI requests run now, not after Alice's reply
    opened = bob.submit("no-such-id", api_name="/open_conversation").result(timeout=SAFETY_S)
    assert "no such conversation" in str(opened[STATUS])
    # ... and his own message gets its turn; the LLM's one slot is Alice's: he is told it is busy
    busy = bob.submit("hello", api_name="/send").result(timeout=SAFETY_S)
    assert "The language model is busy with other conversations (waited 0.5 s)" in str(busy[STATUS])
    assert "your message is kept" in str(busy[STATUS])
    assert not stuck.done() and llm.hanging == 1
    llm.release.set()
    done = stuck.result(timeout=SAFETY_S)
    assert "please hang on" in str(done[0]) and "Nice to meet you" in str(done[0])


def test_a_hung_llm_fails_only_its_own_turn_at_the_time_the_message_states(impatient_server):
    url, llm = impatient_server
    alice, bob = client(url), client(url)
    failed = alice.submit("please hang forever", api_name="/send").result(timeout=SAFETY_S)
    status = str(failed[STATUS])
    assert "The language model did not answer within 1 s" in status and "your message is kept" in status
    assert "please hang forever" in str(failed[0])
    assert llm.hanging == 1 and llm.finished == 0  # the backend still hangs: the turn did not wait for it
    answered = bob.submit("hello", api_name="/send").result(timeout=SAFETY_S)
    assert "Nice to meet you" in str(answered[0])  # another session's turn is answered meanwhile
