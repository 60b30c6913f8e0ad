"""The rejection rules: which texts cannot be scored, and how reasons are counted."""

from curriscale.builders.score_rules import reason_key, text_problem


def test_text_problem_and_reason_keys():
    assert text_problem("", 100) == "empty text"
    assert text_problem(" \t\n", 100) == "empty text"
    assert text_problem("\ufffd\ufffd broken", 100) == "binary or invalid UTF-8"
    assert text_problem("lone \ud800 surrogate", 100) == "binary or invalid UTF-8"
    assert text_problem("Ünïcödé text, 日本語, tabs\tand\nnewlines", 100) is None
    assert reason_key("malformed JSON: unexpected character: line 1") == "malformed JSON"
    assert reason_key("toy: ValueError: no") == "toy: ValueError"
    assert reason_key("toy: non-finite score") == "toy: non-finite score"
