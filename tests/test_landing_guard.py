"""The landing form's guards on their own, on a clock the test moves: form tokens that expire and bind to one
browser, and rate limits that refill."""

from __future__ import annotations

from handlers.http.landing_guard import Csrf, RateLimit

KEY = b"a deployment's key, 32 bytes ok!"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_works_in_its_browser_for_twelve_hours_and_names_its_form() -> None:
    clock = Clock()
    csrf = Csrf(KEY, now=clock)
    browser = Csrf.new_browser_id()
    token = csrf.token(browser)
    nonce = csrf.verify(browser, token)
    assert nonce is not None and len(nonce) == 32
    assert csrf.verify(browser, token) == nonce  # the same form sent again is the same submission
    assert csrf.verify(browser, csrf.token(browser)) != nonce  # a new page is a new form
    clock.now += 12 * 3600
    assert csrf.verify(browser, token) == nonce
    clock.now += 1
    assert csrf.verify(browser, token) is None


def test_a_token_is_refused_in_another_browser_from_another_key_or_from_the_future() -> None:
    clock = Clock()
    csrf = Csrf(KEY, now=clock)
    browser, other = Csrf.new_browser_id(), Csrf.new_browser_id()
    token = csrf.token(browser)
    assert csrf.verify(other, token) is None
    assert csrf.verify(None, token) is None
    assert csrf.verify("not a browser id", token) is None
    assert Csrf(b"another deployment's key, 32 byt", now=clock).verify(browser, token) is None
    assert csrf.verify(browser, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert csrf.verify(browser, "") is None and csrf.verify(browser, "%%%") is None
    clock.now -= 61  # issued more than a minute ahead of this instance's clock
    assert csrf.verify(browser, token) is None


def test_a_rate_limit_allows_a_burst_then_refills_evenly() -> None:
    clock = Clock()
    limit = RateLimit(3, window=3600, now=clock)
    assert [limit.hit("203.0.113.7") for _ in range(3)] == [None, None, None]
    assert limit.hit("203.0.113.7") == 1200  # the next of three per hour is due in 20 minutes
    assert limit.hit("203.0.113.8") is None  # others are counted apart
    clock.now += 1200
    assert limit.hit("203.0.113.7") is None
    assert limit.hit("203.0.113.7") == 1200


def test_a_rate_limit_forgets_the_least_recent_keys_past_its_cap() -> None:
    limit = RateLimit(1, now=Clock(), max_keys=2)
    for key in ("a", "b", "c"):
        assert limit.hit(key) is None
    assert limit.hit("c") is not None and limit.hit("b") is not None
    assert limit.hit("a") is None  # forgotten, so counted afresh
