"""Budget strings: the accepted forms parse to milliseconds; everything else names the forms."""

import pytest

from exporter.devices.budget import Budget, parse_budget
from exporter.errors import UserError


@pytest.mark.parametrize("text, ms", [
    ("5ms", 5.0), ("5 ms", 5.0), ("5 ms ", 5.0), (" 5ms", 5.0), ("0.005s", 5.0), ("5000us", 5.0),
    ("5000µs", 5.0), ("2.5ms", 2.5), (".5ms", 0.5), ("1s", 1000.0), ("12.75 ms", 12.75),
])
def test_accepted_forms(text, ms):
    assert parse_budget(text) == Budget(ms)


@pytest.mark.parametrize("text", ["5", "ms", "5 m s", "5sec", "five ms", "-5ms", "0ms", "0.0s", "5ms5",
                                  "", "5 MS", "1e3us", None, 5])
def test_rejected_forms_name_the_value_and_the_accepted_forms(text):
    with pytest.raises(UserError) as err:
        parse_budget(text)
    message = str(err.value)
    assert repr(text) in message
    assert '"5ms", "5 ms", "0.005s", "5000us"' in message


def test_budget_is_frozen_and_positive():
    b = Budget(5.0)
    with pytest.raises(AttributeError):
        b.ms = 6.0
    with pytest.raises(UserError):
        Budget(0.0)
    assert str(b) == "5 ms"


def test_a_budget_may_state_the_sentence_length_it_applies_at():
    assert parse_budget("5ms", 42) == Budget(5.0, 42) and str(Budget(5.0, 42)) == "5 ms at 42 tokens"
    assert parse_budget(Budget(5.0), 30) == Budget(5.0, 30) and parse_budget(Budget(5.0, 30)) == Budget(5.0, 30)
    with pytest.raises(UserError, match="budget length 0 must be at least 1 token"):
        Budget(5.0, 0)
