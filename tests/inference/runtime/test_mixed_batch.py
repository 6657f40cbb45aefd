"""Requests with different stacks in one batch: each row gets exactly the tokens of its one-at-a-time run, and
concurrent callers are batched together, a bad request failing alone."""

from __future__ import annotations

import threading

import pytest

from inference.runtime import AdapterNotFound, PromptTooLong, Request, RequestBatcher
from inference.runtime.composition import BATCHER_CLOSED

REQUESTS = [
    Request(prompt="Name a fruit.", max_new_tokens=6, stack=["task"]),
    Request(prompt="Describe the sea in a few words, please.", max_new_tokens=4, stack=["brand", "retailer"]),
    Request(prompt="Say hello.", max_new_tokens=6),
    Request(prompt="Name a colour.", max_new_tokens=5, stack=[("task", 0.5), ("extra", -1.0)], system="Be brief."),
]


def _alone(manager, request: Request) -> dict:
    return manager.generate(
        prompt=request.prompt, max_new_tokens=request.max_new_tokens, stack=request.stack, system=request.system
    )


def test_a_mixed_stack_batch_equals_one_request_at_a_time(manager):
    # given rows with different stacks, prompt lengths (left padding) and token limits
    # when
    batched = manager.generate_batch(REQUESTS)

    # then every row has the tokens its request gets alone
    for request, row in zip(REQUESTS, batched, strict=True):
        alone = _alone(manager, request)
        assert (row["text"], row["completion_tokens"]) == (alone["text"], alone["completion_tokens"])
        assert row["stack"] == alone["stack"]
        assert row["batch_size"] == len(REQUESTS)
    # and the stacks really differ from one another
    assert len({row["text"] for row in batched}) == len(REQUESTS)


def test_concurrent_requests_are_batched_and_a_bad_one_fails_alone(manager):
    # given a batcher and four callers at once, one naming an adapter that does not exist
    batcher = RequestBatcher(manager, max_batch=8, window_s=0.5)
    requests = [*REQUESTS[:3], Request(prompt="Hi", max_new_tokens=2, stack=["no-such-adapter"])]
    outcomes: dict[int, object] = {}

    def call(index: int) -> None:
        try:
            outcomes[index] = batcher.submit(requests[index])
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc

    # when
    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    with pytest.raises(RuntimeError, match=BATCHER_CLOSED):
        batcher.submit(requests[0])

    # then the good three ran as one batch with their one-at-a-time tokens, and the bad one got its own error
    assert isinstance(outcomes[3], AdapterNotFound)
    for index in range(3):
        assert outcomes[index]["batch_size"] == 3
        assert outcomes[index]["text"] == _alone(manager, requests[index])["text"]


def test_a_batch_checks_every_prompt_before_running(manager, base_model):
    too_long = Request(prompt="word " * base_model.context_window, max_new_tokens=2)
    with pytest.raises(PromptTooLong):
        manager.generate_batch([REQUESTS[0], too_long])
