"""The exercise contract's messages (``diffcourse.exercises``), for every registered exercise:
each named mistake and extra wrong answer fails with its own message; no message holds an expected
value (to 3 significant digits; the grep is shown to catch a check that prints one); typed numbers
fail (the values printed above the exercise, the numbers a failing check prints, the expected
values themselves). Split from ``test_exercises.py`` so the two run on both test workers."""

import json
import re

import pytest
from test_exercises import _NUMBER, ENTRIES, IDS, NOTEBOOKS, _recorded_outputs, _run, _wrong_answers


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_each_mistake_fails_with_its_own_message(entry):
    messages = {}
    for name, (fn, hint) in _wrong_answers(entry).items():
        message = _run(entry, fn)
        assert message is not None, f"{name} passed"
        if hint is not None:
            assert hint in message, (name, message)
        messages[name] = message
    named = [m for m in messages.values() if "Likely mistake" in m]
    assert len(set(named)) == len(named)  # each named mistake its own message


def _printed_numbers(message):
    """Numbers a message states, leaving out the case's own inputs (in parentheses) and counts."""
    message = re.sub(r"\([^()]*\)", "", message)
    message = re.sub(r"case \d+ of \d+|case \d+", "", message)
    return [float(x) for x in _NUMBER.findall(message)]


def _significant_digits(token):
    mantissa = re.split(r"[eE]", token)[0].lstrip("+-").replace(".", "").lstrip("0")
    return len(mantissa)


def holds_a_value(message, values, digits=3):
    """True when ``message`` states one of ``values`` to ``digits`` significant digits or more
    (the case's inputs, in parentheses, and its number left out)."""
    message = re.sub(r"\([^()]*\)", "", message)
    message = re.sub(r"case \d+ of \d+|case \d+", "", message)
    for token in _NUMBER.findall(message):
        if _significant_digits(token) < digits:
            continue
        x = float(token)
        if any(f"{x:.{digits - 1}e}" == f"{v:.{digits - 1}e}" for v in values):
            return True
    return False


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_no_message_holds_an_expected_value(entry):
    expected = _recorded_outputs(entry)
    assert expected
    for name, (fn, _) in _wrong_answers(entry).items():
        message = _run(entry, fn)
        assert not holds_a_value(message, expected), (name, message)


def test_the_grep_catches_a_check_that_prints_its_expected_value():
    leaky = "the FTCS limit: expected 0.000133 within rtol=1e-09; got 0.000267"
    assert holds_a_value(leaky, [0.02**2 / (2 * 1.5)])
    assert holds_a_value("the put: expected 1.33e-04", [0.02**2 / (2 * 1.5)])
    assert not holds_a_value("off by a relative error of about 1e+00", [1.0])


def _printed_above(entry, limit=6):
    """Numbers in the stored outputs of the notebook above the exercise's answer cell."""
    path = next(NOTEBOOKS.glob(f"{entry.notebook}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    tagged = [i for i, c in enumerate(cells) if "solution" in c.get("metadata", {}).get("tags", [])]
    stop = tagged[entry.number - 1]
    values = []
    for cell in cells[:stop]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                values += [float(x) for x in _NUMBER.findall("".join(out.get("text", "")))]
    distinct = list(dict.fromkeys(v for v in values if v not in (0.0, 1.0)))
    return distinct[-limit:]


def _constant(value):
    return lambda *args, **kwargs: value


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_typed_numbers_fail(entry):
    typed = set(_printed_above(entry))
    for fn, _ in _wrong_answers(entry).values():
        typed |= set(_printed_numbers(_run(entry, fn))[:3])
    typed |= set(_recorded_outputs(entry)[:2])
    for value in sorted(typed):
        assert _run(entry, _constant(value)) is not None, value
        assert _run(entry, value) is not None, value  # the number itself, not a function
