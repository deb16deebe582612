"""The redactor: no run of 8 characters of a secret survives, and nothing else is touched."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.redact import RUN, Redactor

keys = st.text("abcdefghijklmnopqrstuvwxyzABCDEF0123456789_-", min_size=8, max_size=48)
noise = st.text(st.characters(codec="utf-8"), max_size=12)


def leaks(secret: str, text: str) -> bool:
    return any(secret[i : i + RUN] in text for i in range(len(secret) - RUN + 1))


@st.composite
def texts_with_pieces(draw: st.DrawFn, secret: str) -> str:
    """Noise interleaved with pieces of the secret, whole or in part, repeated."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            start = draw(st.integers(0, len(secret) - 1))
            parts.append(secret[start : draw(st.integers(start, len(secret)))])
        else:
            parts.append(draw(noise))
    return "".join(parts)


RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(st.data(), keys)
def test_no_run_of_the_secret_survives_in_text_or_bytes(data: st.DataObject, secret: str) -> None:
    text = data.draw(texts_with_pieces(secret))
    redactor = Redactor([secret])
    assert not leaks(secret, redactor.text(text))
    assert not leaks(secret, redactor.bytes(text.encode()).decode("utf-8", "replace"))


@RELAXED
@given(keys, noise)
def test_text_without_a_run_of_the_secret_is_left_alone(secret: str, text: str) -> None:
    if not leaks(secret, text):
        assert Redactor([secret]).text(text) == text


def test_every_secret_is_masked_and_short_test_values_are_not():
    redactor = Redactor(["apk_user_abcdefgh1234", "aws-secret-XYZ987654321", "abc", None])
    line = "Bearer apk_user_abcdefgh1234 and AWS aws-secret-XYZ987654321, abc stays"
    assert redactor.text(line) == "Bearer *** and AWS ***, abc stays"
