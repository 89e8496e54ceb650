"""servicekit.testing: the helpers the suites share."""

from __future__ import annotations


def test_csrf_token_in_reads_the_hidden_input_whatever_the_attribute_order() -> None:
    from servicekit.testing import csrf_token_in

    flask_wtf = '<input id="csrf_token" name="csrf_token" type="hidden" value="abc">'
    assert csrf_token_in(flask_wtf) == "abc"
    assert csrf_token_in('<input value="xyz" type="hidden" name="csrf_token">') == "xyz"
    assert csrf_token_in('<input name="csrf_token" type="hidden">') is None
    assert csrf_token_in("<p>no form</p>") is None
