"""Values in verdict texts, on the page and in Allure read as text, never as Python reprs."""

from pytest_lbconform.verdicts.text import readable


def test_containers_read_as_text():
    assert readable({"worker2": 146, "worker3": 154}) == "worker2: 146, worker3: 154"
    assert readable(["webpod1", "webpod2"]) == "webpod1, webpod2"
    assert readable({"mypc": {"webpod1": 1, "webpod2": 1}}) == "mypc: (webpod1: 1, webpod2: 1)"
    assert readable({"b", "a"}) == "a, b"
    assert readable({}) == readable([]) == readable(None) == "none"
    assert readable({None: 2}) == "none: 2"
    assert readable(True) == "yes" and readable(0.25) == "0.25" and readable("x") == "x"


def test_no_repr_survives_in_any_shape():
    for value in ({"a": [1, {"b": "c"}]}, [("x", "y")], {"k": set()}):
        text = readable(value)
        assert not any(mark in text for mark in ("{'", "'}", "['", "']", "('")), text
