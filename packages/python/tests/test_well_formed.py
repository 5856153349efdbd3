"""well_formed: lone surrogates become U+FFFD, as JavaScript's toWellFormed (no stack needed)."""

from __future__ import annotations

from threadline.events import well_formed


def test_lone_surrogates_become_u_fffd_and_pairs_join():
    assert well_formed("a\ud800b") == "a\ufffdb"
    assert well_formed("x\ud83d") == "x\ufffd"
    assert well_formed(b"caf\xe9".decode("utf-8", "surrogateescape")) == "caf\ufffd"
    # Two surrogate code points in a row are the character they encode (as in a JavaScript string).
    assert well_formed("\ud83d\ude00 ok") == "😀 ok"
    assert well_formed("\ude00\ud83d") == "\ufffd\ufffd"


def test_nested_values_and_keys_are_fixed_and_clean_values_are_returned_as_they_are():
    assert well_formed({"k\udc80": ["ok", {"t": "\udfff"}], "n": 1, "b": True, "none": None}) == {
        "k\ufffd": ["ok", {"t": "\ufffd"}],
        "n": 1,
        "b": True,
        "none": None,
    }
    clean = "é中😀 \\ud800"
    assert well_formed(clean) is clean
