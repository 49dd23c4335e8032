"""Textbook names on a layered network (symgrad.verification.reader.layered)."""

import pytest

import symgrad as sg
from symgrad.verification.reader.layered import Layers


@pytest.fixture(scope="module")
def layers():
    return Layers(sg.mlp([3, 4, 2], activation=["tanh", "identity"]))


def test_textbook_letters_name_the_networks_symbols(layers):
    assert layers.symbol("a", 1, (2,)) == layers.symbol("x", 1, (2,))
    assert layers.symbol("z", 1, (3,)).name == "u1_3" and layers.symbol("u", 1, (3,)).name == "u1_3"
    assert layers.symbol("a", 0, (3,)).name == "x3"  # layer 0: the inputs
    assert layers.symbol("w", 2, (1, 4)).name == "W2_1_4" and layers.symbol("theta", 2, (1, 4)).name == "W2_1_4"
    assert layers.symbol("t", None, (2,)).name == "y2"  # t for the targets
    # an identity output layer has no x: its activation is its u, and so is ŷ
    assert layers.symbol("a", 2, (1,)).name == "u2_1" and layers.symbol("y", None, (1,), accent="hat").name == "u2_1"
    assert layers.symbol("w", 3, (1, 1)) is None and layers.symbol("b", 1, (5,)) is None


def test_widths_shapes_and_activations(layers):
    assert layers.width("delta", 1) == 4 and layers.width("b", 2) == 2 and layers.width("y", None) == 2
    assert layers.shape("W", 1, "column") == (4, 3) and layers.shape("W", 1, "row") == (3, 4)
    assert layers.has_layer("a", 0) and not layers.has_layer("b", 0) and not layers.has_layer("w", 3)
    assert layers.activation(1).__name__ == "tanh" and layers.activation(2) is None
    assert layers.layer_of(sg.mlp([1, 1]).symbol("u1_1")) == 1
