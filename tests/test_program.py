"""The straight-line programs code generation prints (symgrad.compile.program)."""

from __future__ import annotations

import random

import mpmath
import numpy as np
import pytest
import sympy

import symgrad as sg
from conftest import SEED_002_EQUATIONS as DATAWHALE_EQUATIONS
from conftest import evaluate, random_point, seed_network
from symgrad.compile.program import (
    MAX_ARGS,
    MAX_HEIGHT,
    Assign,
    GradientEntry,
    _fits,
    compile_cost,
    gradient_program,
    split,
    value_program,
)


def datawhale_network() -> sg.Network:
    return sg.Network.from_equations(
        DATAWHALE_EQUATIONS, params="w1:11 b1 b2", inputs="i1 i2 i3", targets="f1 f2", functions={"g": "sigmoid"}
    )


NETWORKS = {
    "datawhale": datawhale_network,
    "quadratic": lambda: sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"),
    "mlp_mse": lambda: sg.mlp([3, 4, 2]),
    "mlp_mae_relu": lambda: sg.mlp([2, 3, 2], activation="relu", loss="mae"),
    "mlp_bce": lambda: sg.mlp([2, 3, 2], loss="cross_entropy"),
    "mlp_softmax_ce": lambda: sg.mlp([2, 3, 3], activation=["tanh", "softmax"], loss="cross_entropy"),
    "mlp_fused_softmax_ce": lambda: sg.mlp([3, 4, 3], loss="softmax_cross_entropy"),
    "mlp_4_layers": lambda: sg.mlp([2, 3, 3, 2, 2], activation=["tanh", "softplus", "sigmoid", "identity"]),
}


def run(program, values: dict):
    """Execute a program in mpmath (40 digits): (loss, {index: gradient entry})."""
    inlined: dict = {}
    grad = {}
    for st in program.statements:
        expr = st.expr.xreplace(inlined)  # a DAG: earlier values are shared, not copied
        if isinstance(st, Assign):
            inlined[st.target] = expr
        else:
            grad[st.index] = evaluate(expr, values)
    return evaluate(inlined[program.loss], values), grad


def assert_defined_before_use(program) -> None:
    defined = set(program.params + program.inputs + program.targets)
    for st in program.statements:
        missing = st.expr.free_symbols - defined
        assert not missing, f"{st} uses {missing} before they are assigned"
        if isinstance(st, Assign):
            assert st.target not in defined, f"{st.target} assigned twice"
            defined.add(st.target)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_program_is_in_order_and_complete(name):
    net = NETWORKS[name]()
    for program in (value_program(net), gradient_program(net)):
        assert_defined_before_use(program)
    indices = [st.index for st in gradient_program(net).statements if isinstance(st, GradientEntry)]
    assert indices == list(range(len(net.params)))  # one entry per parameter, in order


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_program_computes_the_derived_gradient(name):
    # Run in mpmath, the program (stable rewrites, reused forward values, cse) gives
    # the derived gradient: the sweep's expanded forms, which test_derive checks
    # against sympy.diff. (test_straight_line compares the compiled code with sympy.diff.)
    net = NETWORKS[name]()
    values = random_point(net, random.Random(3))
    loss, grad = run(gradient_program(net), values)
    tolerance = mpmath.mpf(10) ** -30
    assert abs(loss - evaluate(net.loss_expr, values)) <= tolerance * max(1, abs(loss))
    for k, d in enumerate(net.gradients()):
        exact = evaluate(d.expanded, values)
        assert abs(grad[k] - exact) <= tolerance * max(1, abs(exact)), d.param
    value_loss, _ = run(value_program(net), values)
    assert abs(value_loss - loss) <= tolerance * max(1, abs(loss))


def test_adjoints_reuse_forward_values():
    # The sweep writes g'(u1) as g(u1)(1 − g(u1)); the program must read fhat1 instead
    # of computing the sigmoid again: three sigmoids for three sigmoid steps.
    program = gradient_program(datawhale_network())
    calls = sum(len(st.expr.atoms(sympy.Function)) for st in program.statements)
    assert calls == 3
    text = "\n".join(map(str, program.statements))
    assert "bar_u1 = bar_fhat1*fhat1*(1 - fhat1)" in text


def test_common_subexpressions_are_shared_and_placed_before_first_use():
    program = gradient_program(datawhale_network())
    temporaries = [st for st in program.statements if isinstance(st, Assign) and st.temporary]
    assert temporaries, "fhat1 - f1 is used by the loss and by an adjoint: cse must share it"
    for t in temporaries:
        at = program.statements.index(t)
        first_use = min(i for i, st in enumerate(program.statements) if t.target in st.expr.free_symbols)
        between = program.statements[at + 1 : first_use]
        assert at < first_use and all(isinstance(st, Assign) and st.temporary for st in between)


@pytest.mark.parametrize("name", ["datawhale", "mlp_mse", "mlp_4_layers"])
def test_gradient_costs_at_most_twice_the_forward_pass(name):
    # The cheap-gradient principle: the reverse sweep adds at most about twice the
    # forward pass's work (sympy.count_ops of the printed programs).
    net = NETWORKS[name]()
    forward = value_program(net).op_count()
    reverse = gradient_program(net).op_count(["adjoint", "gradient"])
    assert reverse <= 2 * forward, (reverse, forward)


def test_op_count_by_section():
    program = gradient_program(datawhale_network())
    assert program.op_count() == sum(program.op_count([s]) for s in ("forward", "adjoint", "gradient"))


@pytest.mark.parametrize("max_ops", [1, 15, 60])
def test_split_parts_pass_values_through_the_work_vector(max_ops):
    program = gradient_program(sg.mlp([3, 4, 2]))
    layout = split(program, max_ops)
    assert len(layout.parts) > 1
    assert tuple(st for part in layout.parts for st in part.statements) == program.statements
    stored = set()
    for part in layout.parts:
        assigned = {st.target for st in part.statements if isinstance(st, Assign)}
        assert set(part.loads) <= stored, "a part loads a value no earlier part stored"
        used = set().union(*(st.expr.free_symbols for st in part.statements))
        leaves = set(program.params + program.inputs + program.targets)
        assert used <= assigned | set(part.loads) | set(part.leaves)
        assert set(part.leaves) == used & leaves
        assert set(part.stores) <= assigned
        stored |= set(part.stores)
    assert program.loss in stored and layout.slots[program.loss] < layout.work_size
    assert sorted(layout.slots.values()) == list(range(layout.work_size))


def test_split_respects_the_budget_except_for_single_statements():
    program = gradient_program(sg.mlp([3, 4, 2]))
    budget = 40
    for part in split(program, budget).parts:
        known, cost = set(), 0
        for st in part.statements:
            cost += compile_cost(st, known)
            known |= st.expr.free_symbols
        assert cost <= budget or len(part.statements) == 1


def test_compile_cost_counts_operations_stores_and_reads():
    program = gradient_program(datawhale_network())
    entry = next(st for st in program.statements if isinstance(st, GradientEntry))  # g[0] = bar_u2*i1
    assert compile_cost(entry, set()) == 1 + 1 + 1 + 2
    assert compile_cost(entry, set(entry.expr.free_symbols)) == 3


def test_no_split_is_one_part_without_work_vector():
    program = gradient_program(datawhale_network())
    layout = split(program, None)
    assert len(layout.parts) == 1 and layout.work_size == 0
    assert layout.parts[0].loads == () and layout.parts[0].stores == ()


def test_programs_are_deterministic():
    a = [str(st) for st in gradient_program(datawhale_network()).statements]
    b = [str(st) for st in gradient_program(datawhale_network()).statements]
    assert a == b


def test_seed_examples_build():
    # Every shipped seed example gives a complete program (the xor network has its own names).
    for name in ("xor", "blog_2_3_2_l1", "deep_4_layer"):
        net = seed_network(name)
        assert_defined_before_use(gradient_program(net))


# --------------------------------------------------------------------------- bounded expressions


def test_no_printed_expression_is_wider_or_taller_than_the_bounds():
    w = sympy.symbols("w0:300", real=True)
    deep = w[0]
    for k in range(1, 60):  # 60 nested tanh: taller than MAX_HEIGHT
        deep = sympy.tanh(deep + w[k])
    net = sg.Network.from_expr(sympy.Add(*[w[i] * w[i + 1] for i in range(299)]) + deep, params=" ".join(map(str, w)))
    program = gradient_program(net)
    for st in program.statements:
        assert _fits(st.expr, MAX_ARGS, MAX_HEIGHT), str(st)[:80]
    values = {s: 0.01 * (k % 7) for k, s in enumerate(w)}
    known, grad = dict(values), {}
    for st in program.statements:  # statement by statement: inlining would rebuild the tall expression
        if isinstance(st, Assign):
            known[st.target] = float(evaluate(st.expr, known))
        else:
            grad[st.index] = evaluate(st.expr, known)
    loss = known[program.loss]
    assert float(loss) == pytest.approx(float(evaluate(net.loss_expr, values)), rel=1e-12)
    _, backprop = sg.numeric_backprop(net, [values[s] for s in w])
    assert [float(grad[k]) for k in range(len(w))] == pytest.approx(backprop, rel=1e-10, abs=1e-12)


@pytest.mark.slow  # sympy's cse of 5,000 products: half a minute
def test_a_5000_term_expression_compiles_and_imports(tmp_path):
    # Printed flat, its one line nests 5,000 binary operations: Python's compiler fails
    # with RecursionError on importing such a module.
    w = sympy.symbols("w0:100", real=True)
    expr = sympy.Add(*[w[i] * w[j] for i in range(100) for j in range(i, 100)][:5000])
    net = sg.Network.from_expr(expr, params=" ".join(map(str, w)))
    f = net.compile(jit=False, cache_dir=tmp_path)
    p = np.linspace(-1, 1, 100)
    loss, grad = f(p)
    # xreplace, not subs: the same numbers, without subs' matching (most of this test's time)
    at_p = {wi: sympy.Float(pi) for wi, pi in zip(w, p)}
    assert loss == pytest.approx(float(expr.xreplace(at_p)), rel=1e-12)
    assert grad[0] == pytest.approx(float(expr.diff(w[0]).xreplace(at_p)), rel=1e-12)
