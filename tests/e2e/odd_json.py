"""Hostile JSON for the fuzz tests of the v2 surface: odd values (numbers too large, too
small or signed zero, as text and as bare JSON numbers; 40-digit amounts; lone surrogates;
objects and lists where a string belongs), a way to write them as a careless client would,
and a way to put one anywhere in a well-formed body."""

from __future__ import annotations

import copy
import json

RAW = "\x00raw:"  # a string starting so is sent as the bare JSON number that follows

ODD = [
    "1e309", f"{RAW}1e309", f"{RAW}-1e309", "0.000000001", f"{RAW}0.000000001", "-0",
    f"{RAW}-0", "-0.00", 1e-7, f"{RAW}1e-7", "9" * 40, 10**40, "99999999999999999999.99",
    f"{RAW}1{'0' * 40}", -1, "-12.00", "S" * 10_000, "\ud800", "a\udfffb", "１２.００",
    " 12.00 ", "NaN", "Infinity", "", None, True, {"value": "12.00"}, ["12.00"],
    {"a": {"b": {"c": []}}},
]


def encoded(envelope: dict) -> bytes:
    """JSON as a careless client writes it: lone surrogates kept, bare numbers of any size."""
    text = json.dumps(envelope, ensure_ascii=False)
    for marker in {m for m in ODD if isinstance(m, str) and m.startswith(RAW)}:
        text = text.replace(json.dumps(marker, ensure_ascii=False), marker[len(RAW):])
    return text.encode("utf-8", "surrogatepass")


def places(node: object, path: tuple = ()) -> list[tuple]:
    """Every place in an input a value could be put: each key of each object, each item."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += places(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += places(value, (*path, i))
    return found


MISSING = object()  # put() drops a key given this (an item of a list becomes null)


def put(node: object, path: tuple, value: object) -> None:
    """Put `value` (a copy: ODD's objects must not be changed by a later put) at `path`."""
    value = value if value is MISSING else copy.deepcopy(value)
    for step in path[:-1]:
        node = node[step]
    if value is MISSING and isinstance(node, dict):
        node.pop(path[-1])
    else:
        node[path[-1]] = None if value is MISSING else value
