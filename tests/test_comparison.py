"""Comparing a claim with the truth entry by entry (symgrad.verification.comparison)."""

import mpmath
import sympy

import symgrad as sg
from symgrad.verification.comparison import Counterexample, Instance, agreement, counterexample, entries
from symgrad.verification.reader.matrices import Matrix, ShapeMismatch
from symgrad.verification.sampling import DPS, Sample

NET = sg.mlp([2, 2])


def _sample():
    with mpmath.workdps(DPS):
        return Sample.random(NET, [NET.grad("W1_1_1").factored], n=3, seed=0)


def test_equal_values_agree_and_the_first_differing_entry_is_found():
    sample = _sample()
    truth = Matrix(sympy.Matrix([NET.grad(p).factored for p in NET.params[:2]]))
    with mpmath.workdps(DPS):
        assert agreement(sample, truth, truth).ok
        wrong = Matrix(sympy.Matrix([truth.entries[0], 2 * truth.entries[1]]))
        found = agreement(sample, truth, wrong)
        assert not found.ok and found.entry == 1 and found.point == 0
        inst = Instance({"i": 2}, "column", truth, [wrong])
        ce = counterexample(sample, inst, found)
    assert isinstance(ce, Counterexample) and ce.where == "i = 2, in the column convention, entry 2"
    assert ce.claimed == 2 * ce.true and ce.to_dict()["where"] == ce.where
    assert str(ce).startswith("i = 2, in the column convention, entry 2, at W1_1_1 = ")


def test_shapes_and_errors_are_problems_not_values():
    sample = _sample()
    x = NET.symbol("x1")
    found = agreement(sample, Matrix(sympy.Matrix([x, x])), Matrix(sympy.Matrix([[x, x]])))
    assert not found.ok and found.problem == "the claim is a row of 2 where the true value is a column of 2"
    found = agreement(sample, x, ShapeMismatch("a product of a 2×1 and a 2×1 matrix"))
    assert not found.ok and "2×1" in found.problem
    assert entries(x) == [x] and len(entries(Matrix(sympy.eye(2)))) == 4
