"""The one-sample call in C (csrc/_symgrad_fastcall.c, GradFn's base class when built).

``f(params, x, y)`` on a compiled network must give exactly what GradFn's Python
method ``_call`` gives — the same numbers, the same returned array, the same error
for every bad argument — and keep no reference it should not. Without the extension
``f(...)`` *is* ``_call`` and the comparisons hold trivially; the tests that look at
the C object itself skip.
"""

from __future__ import annotations

import copy
import gc
import inspect
import sys
import threading
import weakref

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import seed_network
from symgrad.compile.gradfn import GradFn
from symgrad.errors import SymgradError

pytestmark = pytest.mark.slow  # numba compiles the networks once per module

P = np.array([0.15, -0.20, 0.25, 0.30, -0.35, 0.40, 0.45, -0.50, 0.55, 0.60, 0.10, -0.10])
X = np.array([1.0, 0.5, -0.3])
Y = np.array([0.2, 0.9])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def compiled(cache):
    """Seed 002's network compiled by numba, and the same module run as plain Python."""
    net = seed_network("datawhale")
    f = net.compile(cache_dir=cache)
    f(P, X, Y)  # compiled (or loaded) here, not in the first test that calls it
    return f, net.compile(jit=False, cache_dir=cache)


def python_method(f):
    """``f``'s call as the Python method alone (the path the C code hands over to)."""
    return lambda *args, **kwargs: GradFn._call(f, *args, **kwargs)


def outcome(call):
    """What a call returns, or the type and message of what it raises."""
    try:
        loss, grad = call()
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
        return type(exc), str(exc)
    return loss, grad


def strided(a):
    return np.repeat(a, 2)[::2]


FORMS = {
    "a new array": lambda f, p, x, y, out: f(p, x, y),
    "out by position": lambda f, p, x, y, out: f(p, x, y, out),
    "out by keyword": lambda f, p, x, y, out: f(p, x, y, out=out),
    "out=None": lambda f, p, x, y, out: f(p, x, y, out=None),
    "None by position": lambda f, p, x, y, out: f(p, x, y, None),
    "all by keyword": lambda f, p, x, y, out: f(params=p, x=x, y=y, out=out),
    "x and y by keyword": lambda f, p, x, y, out: f(p, y=y, x=x),
    "lists": lambda f, p, x, y, out: f(p.tolist(), x.tolist(), y.tolist()),
    "integers": lambda f, p, x, y, out: f(p, np.array([1, 0, -1]), np.array([0, 1])),
    "float32 arrays": lambda f, p, x, y, out: f(p.astype(np.float32), x.astype(np.float32), y),
    "strided arrays": lambda f, p, x, y, out: f(strided(p), strided(x), strided(y), out),
}


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_call_gives_what_the_python_method_gives(compiled, form):
    f, plain = compiled
    call = FORMS[form]
    out, reference_out = np.empty(12), np.empty(12)
    loss, grad = call(f, P, X, Y, out)
    expected_loss, expected_grad = call(python_method(f), P, X, Y, reference_out)
    assert type(loss) is float and loss == expected_loss
    assert grad.dtype == np.float64 and grad.shape == (12,) and np.array_equal(grad, expected_grad)
    assert (grad is out) == (expected_grad is reference_out)
    # ... and what the module gives run as plain Python, to rounding
    plain_loss, plain_grad = call(plain, P, X, Y, np.empty(12))
    assert loss == pytest.approx(plain_loss, rel=1e-14)
    np.testing.assert_allclose(grad, plain_grad, rtol=1e-13)


def test_every_call_returns_its_own_array_across_slabs(compiled):
    # The gradients are rows of slabs; more calls than a slab has rows make new slabs.
    f, plain = compiled
    rng = np.random.default_rng(3)
    n = 2 * f._slab_rows + 5
    xs, ys = rng.normal(size=(n, 3)), rng.uniform(size=(n, 2))
    results = [f(P, x, y) for x, y in zip(xs, ys)]
    assert len({id(grad) for _, grad in results}) == n
    for (loss, grad), x, y in zip(results, xs, ys):  # no later call wrote into an earlier result
        plain_loss, plain_grad = plain(P, x, y)
        assert loss == pytest.approx(plain_loss, rel=1e-14)
        np.testing.assert_allclose(grad, plain_grad, rtol=1e-13)


def _nan_params():
    p = P.copy()
    p[3] = np.nan
    return p


def _read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


BAD_CALLS = {
    "params too short": lambda f: f(P[:5], X, Y),
    "x too long": lambda f: f(P, np.ones(4), Y),
    "y missing": lambda f: f(P, X),
    "params missing": lambda f: f(),
    "NaN parameter": lambda f: f(_nan_params(), X, Y),
    "infinite input": lambda f: f(P, np.array([1.0, np.inf, 0.0]), Y),
    "NaN target": lambda f: f(P, X, np.array([np.nan, 0.0])),
    "text params": lambda f: f(["a"] * 12, X, Y),
    "out too short": lambda f: f(P, X, Y, np.empty(3)),
    "out of float32": lambda f: f(P, X, Y, out=np.empty(12, np.float32)),
    "out read-only": lambda f: f(P, X, Y, _read_only(np.empty(12))),
    "out strided": lambda f: f(P, X, Y, np.empty(24)[::2]),
    "out a list": lambda f: f(P, X, Y, [0.0] * 12),
    "an unknown keyword": lambda f: f(P, X, Y, z=1),
    "five arguments": lambda f: f(P, X, Y, np.empty(12), 1),
    "out twice": lambda f: f(P, X, Y, np.empty(12), out=np.empty(12)),
}


@pytest.mark.parametrize("bad", BAD_CALLS)
def test_every_bad_call_raises_what_the_python_method_raises(compiled, bad):
    f, _ = compiled
    raised = outcome(lambda: BAD_CALLS[bad](f))
    assert isinstance(raised[0], type) and issubclass(raised[0], Exception), f"{bad} was accepted: {raised}"
    assert raised == outcome(lambda: BAD_CALLS[bad](python_method(f)))
    if bad not in ("params missing", "an unknown keyword", "five arguments", "out twice"):
        assert issubclass(raised[0], SymgradError)  # the argument is named, not numba's TypeError


# Arguments of every kind the C code could be handed: right and wrong lengths, dtypes,
# layouts, NaN and infinity, lists, scalars, None, strings.
_LENGTHS = st.sampled_from([0, 1, 2, 3, 11, 12, 13])
_DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.complex128, object])
_ENTRIES = st.sampled_from([0.0, 0.5, -2.0, np.nan, np.inf, 1e300])


@st.composite
def _arrays(draw):
    values = draw(st.lists(_ENTRIES, min_size=0, max_size=13))
    if len(values) not in (0, 1, 2, 3, 11, 12, 13):
        values = values[: draw(_LENGTHS)]
    dtype = draw(_DTYPES)
    with np.errstate(all="ignore"):
        array = np.array(values, dtype=np.float64).astype(dtype) if dtype is not object else np.array(values, dtype=object)
    layout = draw(st.sampled_from(["C", "strided", "read-only", "2-D"]))
    if layout == "strided":
        array = strided(array)
    elif layout == "read-only":
        array.setflags(write=False)
    elif layout == "2-D":
        array = array.reshape(1, -1)
    return array


_ARGUMENTS = st.one_of(
    _arrays(), _arrays(), _arrays(),
    st.sampled_from([None, 1.5, "w1", [0.1] * 12, [[0.1] * 12], (), P.copy(), X.copy(), Y.copy()]),
)


@st.composite
def _good_vector(draw, n):
    """n finite numbers in any form the call accepts: an array (strided or read-only too),
    float32 or integers, or a list."""
    values = np.array(draw(st.lists(st.floats(-4, 4, allow_subnormal=False), min_size=n, max_size=n)))
    form = draw(st.sampled_from(["array", "array", "strided", "read-only", "float32", "integers", "list"]))
    if form == "strided":
        return strided(values)
    if form == "read-only":
        values.setflags(write=False)
        return values
    if form in ("float32", "integers"):
        return values.astype(np.float32 if form == "float32" else np.int64)
    return values.tolist() if form == "list" else values


@st.composite
def _calls(draw):
    """Arguments and keywords for f: a good call (out left out, by position or by
    keyword), the same with some of it replaced, cut short or lengthened, or any
    arguments at all."""
    kind = draw(st.sampled_from(["good", "changed", "any"]))
    if kind == "any":
        return draw(st.lists(_ARGUMENTS, max_size=5)), draw(st.sampled_from([{}, {"out": np.empty(12)}, {"out": None}]))
    args, keywords = [draw(_good_vector(12)), draw(_good_vector(3)), draw(_good_vector(2))], {}
    out = draw(st.sampled_from(["absent", "position", "keyword", "None"]))
    if out == "position":
        args.append(np.empty(12))
    elif out != "absent":
        keywords["out"] = np.empty(12) if out == "keyword" else None
    if kind == "changed":
        for _ in range(draw(st.integers(1, 2))):
            where = draw(st.integers(0, len(args) - (0 if keywords else 1)))
            if where == len(args):
                keywords["out"] = draw(_ARGUMENTS)
            else:
                args[where] = draw(_ARGUMENTS)
        args += draw(st.lists(_ARGUMENTS, max_size=1))
    return args, keywords


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(call=_calls())
def test_any_arguments_give_what_the_python_method_gives(compiled, call):
    f, _ = compiled
    args, keywords = call
    given_arrays = [id(a) for a in [*args, *keywords.values()]]

    def snapshot(function):  # what came back, copied before the other call writes into out
        with np.errstate(all="ignore"):
            result = outcome(lambda: function(*args, **keywords))
        if isinstance(result[0], type):
            return result
        loss, grad = result
        return loss, grad.copy(), given_arrays.index(id(grad)) if id(grad) in given_arrays else None

    fast, slow = snapshot(f), snapshot(python_method(f))
    if isinstance(fast[0], type):
        event("raised")
        assert fast == slow
    else:
        event("returned")
        assert not isinstance(slow[0], type), slow
        assert fast[0] == slow[0] or (fast[0] != fast[0] and slow[0] != slow[0])
        assert np.array_equal(fast[1], slow[1], equal_nan=True) and fast[2] == slow[2]


def test_a_network_without_inputs_is_called_with_params_alone(cache):
    f = seed_network("quadratic").compile(cache_dir=cache)
    p = np.array([1.0, 1.0])
    for call in (lambda g: g(p), lambda g: g(p, None, None), lambda g: g(p, None, None, np.empty(2))):
        loss, grad = call(f)
        assert loss == 5.0 and grad.tolist() == [-4.0, -4.0]  # (x1*x2 - 3)**2 + 1 at (1, 1)
        assert (loss, grad.tolist()) == (lambda r: (r[0], r[1].tolist()))(call(python_method(f)))
    assert outcome(lambda: f(p, np.ones(1))) == outcome(lambda: python_method(f)(p, np.ones(1)))


def test_float32_module_returns_float32_gradients(cache):
    f = seed_network("datawhale").compile(cache_dir=cache, dtype="float32")
    loss, grad = f(P.astype(np.float32), X.astype(np.float32), Y.astype(np.float32))
    assert type(loss) is float and grad.dtype == np.float32
    converted_loss, converted_grad = f(P, X, Y)  # float64 arguments: converted, same numbers
    assert converted_loss == loss and np.array_equal(converted_grad, grad)


def test_threads_each_get_their_own_gradients(compiled):
    f, plain = compiled
    rng = np.random.default_rng(8)
    xs = rng.normal(size=(4, 300, 3))
    failures = []

    def work(rows):
        for x in rows:
            loss, grad = f(P, x, Y)
            plain_loss, plain_grad = plain(P, x, Y)
            if abs(loss - plain_loss) > 1e-13 * abs(plain_loss) or not np.allclose(grad, plain_grad, rtol=1e-12, atol=0):
                failures.append(x)

    threads = [threading.Thread(target=work, args=(rows,)) for rows in xs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_ctrl_c_in_the_kernel_stops_the_call(compiled):
    # An ordinary error sends the call to the Python method, which calls the kernel again;
    # KeyboardInterrupt (Ctrl-C during a long first compile) must not.
    f, _ = compiled
    calls = []

    def interrupted(*args):
        calls.append(args)
        raise KeyboardInterrupt

    kernel = f._call_grad
    f._call_grad = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            f(P, X, Y)
    finally:
        f._call_grad = kernel
    assert len(calls) == 1


def test_a_dropped_gradient_array_is_handed_out_again(cache):
    # One that nothing references any more is reused; one still referenced, directly or
    # through a view, never is.
    _extension()
    f = seed_network("datawhale").compile(cache_dir=cache)
    reference = GradFn._call(f, P, X, Y)[1]
    dropped = f(P, X, Y)[1]
    dropped_id = id(dropped)
    del dropped  # (kept alive by the call's spare slot, so no other array can take its id)
    assert id(f(P, X, Y)[1]) == dropped_id
    kept = [f(P, X, Y)[1] for _ in range(5)]
    assert len({id(g) for g in kept}) == 5
    view = f(P, X, Y)[1][2:]  # the view's base is the array: it stays in use
    rng = np.random.default_rng(4)
    others = [(x, f(P, x, Y)) for x in rng.normal(size=(6, 3))]
    for g in kept:
        np.testing.assert_array_equal(g, reference)
    np.testing.assert_array_equal(view, reference[2:])
    for x, (loss, g) in others:
        np.testing.assert_array_equal(g, GradFn._call(f, P, x, Y)[1])


def test_a_loop_that_rebinds_its_gradient_reuses_two_arrays(cache):
    _extension()
    f = seed_network("datawhale").compile(cache_dir=cache)
    rng = np.random.default_rng(5)
    seen, p = set(), P.copy()
    for x in rng.normal(size=(50, 3)):
        loss, g = f(p, x, Y)  # the previous g is still bound while this call runs
        seen.add(id(g))
        np.testing.assert_array_equal(g, GradFn._call(f, p, x, Y)[1])
        p -= 0.1 * g
    assert len(seen) == 2


def test_a_dropped_array_that_was_changed_is_not_handed_out_again(cache):
    _extension()
    f = seed_network("datawhale").compile(cache_dir=cache)
    expected = GradFn._call(f, P, X, Y)[1]
    for change in ("read-only", "reshaped"):
        g = f(P, X, Y)[1]
        if change == "read-only":
            g.setflags(write=False)
        else:
            g.shape = (3, 4)
        del g
        for _ in range(3):  # the changed array is dropped from the kept ones, then calls are fast again
            loss, g = f(P, X, Y)
            assert g.flags.writeable and g.shape == (12,)
            np.testing.assert_array_equal(g, expected)
            del g


def test_a_copy_calls_like_the_original(compiled):
    f, _ = compiled
    twin = copy.copy(f)
    assert type(twin) is GradFn and twin is not f and twin.module is f.module
    loss, grad = twin(P, X, Y)
    assert loss == f(P, X, Y)[0] and np.array_equal(grad, f(P, X, Y)[1])


def test_the_signature_is_the_call_s(compiled):
    f, _ = compiled
    assert list(inspect.signature(f).parameters) == ["params", "x", "y", "out"]
    assert "module" in inspect.signature(GradFn).parameters  # the class still shows its constructor


# --------------------------------------------------------------------------- the C object itself

def _extension():
    return pytest.importorskip("_symgrad_fastcall", reason="the C extension is not built in this install")


def test_gradfn_runs_on_the_c_base_class(compiled):
    extension = _extension()
    f, _ = compiled
    assert isinstance(f, extension.FastCall) and "__call__" not in GradFn.__dict__
    assert GradFn.__flags__ & (1 << 11)  # Py_TPFLAGS_HAVE_VECTORCALL: called without an argument tuple

    class Subclass(GradFn):  # one that defines __call__ is called through it, not the C code
        def __call__(self, *args, **kwargs):
            return "own"

    assert not Subclass.__flags__ & (1 << 11)
    assert Subclass(f.module, path=f.path, backend=f.backend)(P, X, Y) == "own"
    assert extension.inherit_vectorcall(Subclass) is False
    with pytest.raises(TypeError):
        extension.inherit_vectorcall(int)


def test_no_reference_is_kept_or_lost(compiled):
    _extension()
    f, _ = compiled
    p, x, y, out, bad_x = P.copy(), X.copy(), Y.copy(), np.empty(12), np.ones(4)
    watched = (p, x, y, out, bad_x)
    for _ in range(2):  # the first round settles the slab and any cache
        gc.collect()
        before = [sys.getrefcount(a) for a in watched]
        for _ in range(500):
            f(p, x, y)
            f(p, x, y, out)
            f(p, x, y, out=out)
            f(p.tolist(), x, y)
            try:
                f(p, bad_x, y)
            except SymgradError:
                pass
        gc.collect()
        assert [sys.getrefcount(a) for a in watched] == before
    loss, grad = f(p, x, y)
    # the name, the argument here, and the slot that keeps it for reuse once it is dropped
    assert sys.getrefcount(grad) == 3 and sys.getrefcount(loss) == 2


def test_a_gradfn_is_freed_with_its_reference_cycle(cache):
    _extension()
    # Before its first call, a GradFn's call kernel is a closure over the GradFn itself:
    # a cycle through the C object's fields, which the garbage collector must see.
    f = seed_network("datawhale").compile(cache_dir=cache)
    assert "first" in f._call_grad.__qualname__
    gone = weakref.ref(f)
    del f
    gc.collect()
    assert gone() is None


def test_the_fields_are_the_python_attributes(cache):
    _extension()
    f = seed_network("datawhale").compile(cache_dir=cache)  # new: no gradient array kept yet
    made = []

    def new_gradient():
        made.append(1)
        return np.full(12, 7.0)

    f._new_gradient = new_gradient
    spares = f(P, X, Y)[1], f(P, X, Y)[1]  # the two kept arrays, made by _new_gradient
    assert len(made) == 2 and all(g.base is None for g in spares)
    slab = np.zeros((2, 12))
    f._rows = iter(slab)  # both spares in use: rows of this slab, then the Python method makes a new one
    rows = [f(P, X, Y)[1] for _ in range(3)]
    assert [g.base is slab for g in rows] == [True, True, False] and len(made) == 2
    for g in spares + tuple(rows):
        np.testing.assert_array_equal(g, GradFn._call(f, P, X, Y)[1])
    with pytest.raises(AttributeError):
        GradFn.__new__(GradFn)._rows  # never set: missing, as an instance attribute would be
