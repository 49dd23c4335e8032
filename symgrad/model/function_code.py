"""How generated code computes each function: Jinja2 snippets, and the helpers they call.

The snippets are rendered by the code generators with ``lit`` (a number as a literal of
the module's dtype) and the function's constants by name (``alpha``); they write each
function in a form that stays finite wherever the function is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["C_HELPERS", "HELPERS", "Code"]


@dataclass(frozen=True)
class Code:
    """How generated code computes a function: Jinja2 snippets rendered by the code
    generators with ``lit`` (a number as a literal of the module's dtype).

    ``scalar`` is a call on one value (``x``; ``args`` holds every printed argument),
    in a form that stays finite wherever the function is; ``helpers`` names the
    entries of :data:`HELPERS` it calls. ``array``/``array_slope`` compute the value
    and the derivative on a layer's arrays (``U`` the pre-activation, ``A`` its value)
    for the loop (matrix) kernel, with ``array_helpers``. ``c`` is the scalar call in
    C99 (double precision), calling the entries of :data:`C_HELPERS` in ``c_helpers``.
    """

    scalar: str
    helpers: tuple[str, ...] = ()
    array: str | None = None
    array_slope: str | None = None
    array_helpers: tuple[str, ...] = ()
    c: str | None = None
    c_helpers: tuple[str, ...] = ()


#: Helper functions the generated modules define when a row's code calls them: name ->
#: Jinja2 source (a jitted function, rendered with ``lit``).
HELPERS: dict[str, str] = {
    "_sigmoid": '''@_inlined
def _sigmoid(z):
    """1/(1 + e^-z) from e^-|z| <= 1: no overflow, full precision in both tails."""
    e = np.exp(-abs(z))
    return ({{ lit(1) }} if z >= {{ lit(0) }} else e) / ({{ lit(1) }} + e)
''',
    "_softplus": '''@_inlined
def _softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z, exact for very negative z."""
    return (z if z > {{ lit(0) }} else {{ lit(0) }} * z) + np.log1p(np.exp(-abs(z)))
''',
    "_relu": '''@_inlined
def _relu(z):
    """max(0, z), keeping a NaN a NaN."""
    return z if z > {{ lit(0) }} else {{ lit(0) }} * z
''',
    "_heaviside": '''@_inlined
def _heaviside(z, at_zero):
    """The step function: 0 below zero, 1 above, at_zero at zero (0 is relu's derivative there)."""
    if z > {{ lit(0) }}:
        return {{ lit(1) }}
    if z < {{ lit(0) }}:
        return {{ lit(0) }}
    return at_zero
''',
    "_leaky_relu": '''@_inlined
def _leaky_relu(z, alpha):
    """z above zero, alpha*z below (a NaN stays NaN)."""
    return z if z > {{ lit(0) }} else alpha * z
''',
    "_elu": '''@_inlined
def _elu(z, alpha):
    """z above zero, alpha*(e^z - 1) below, by expm1: exact for small z, no overflow above."""
    return z if z > {{ lit(0) }} else alpha * np.expm1(z)
''',
    "_normal_cdf": '''@_inlined
def _normal_cdf(z):
    """The standard normal distribution function, (1 + erf(z/sqrt 2))/2, as erfc(-z/sqrt 2)/2:
    full relative precision in the lower tail."""
    return {{ lit(0.5) }} * math.erfc(-z * {{ lit(0.7071067811865476) }})
''',
    "_normal_cdf_array": '''@_jit
def _normal_cdf_array(U):
    """_normal_cdf of every entry (NumPy has no erf ufunc)."""
    flat = U.ravel()
    out = np.empty_like(flat)
    for i in range(flat.shape[0]):
        out[i] = {{ lit(0.5) }} * math.erfc(-flat[i] * {{ lit(0.7071067811865476) }})
    return out.reshape(U.shape)
''',
    "_gelu_tanh": '''@_inlined
def _gelu_tanh(z):
    """The tanh approximation of the GELU, z(1 + tanh(c(z + a z^3)))/2; also on arrays."""
    return {{ lit(0.5) }} * z * ({{ lit(1) }} + np.tanh({{ lit(0.7978845608028654) }} * (z + {{ lit(0.044715) }} * z * z * z)))
''',
    "_gelu_tanh_slope": '''@_inlined
def _gelu_tanh_slope(z):
    """The derivative of _gelu_tanh; also on arrays."""
    t = np.tanh({{ lit(0.7978845608028654) }} * (z + {{ lit(0.044715) }} * z * z * z))
    return {{ lit(0.5) }} * ({{ lit(1) }} + t) + {{ lit(0.5) }} * z * ({{ lit(1) }} - t * t) * {{ lit(0.7978845608028654) }} * ({{ lit(1) }} + {{ lit(0.134145) }} * z * z)
''',
    "_sigmoid_array": '''#: Entries per block of _sigmoid_array's loops: their scratch arrays stay in the L1 cache.
_EXP_BLOCK = 256
#: 1.5·2^52: a float added to it is rounded to a whole number, kept in the low bits; and those bits.
_EXP_SHIFT = 6755399441055744.0
_EXP_SHIFT_BITS = 4843621399236968448


@_jit
def _sigmoid_array(U):
    """1/(1 + e^-u) of every entry, from e^-|u| <= 1: no overflow, full precision in both tails."""
    if not _JIT:  # plain Python: NumPy's whole-array operations
        e = np.exp(-np.abs(U))
        r = {{ lit(1) }} / ({{ lit(1) }} + e)
        return np.where(U >= {{ lit(0) }}, r, e * r)
    # Compiled, into one array, a block of entries at a time. numba's exp is a call to the
    # C library for each entry, which keeps a loop from using vector instructions (numba's
    # vector maths, SVML, is missing from llvmlite's PyPI builds), so the loops below
    # compute e^-|u| themselves, in arithmetic that compiles to vector instructions: a
    # wide layer's sigmoid takes about 2 ns an entry instead of 4-5. They are three loops
    # because e^-|u|'s power of two is made from the bits of a float, which numba reaches
    # only through arrays viewed as integers.
    flat = U.ravel()
    out = np.empty_like(flat)
    shifted = np.empty(_EXP_BLOCK)
    low, high = np.empty(_EXP_BLOCK), np.empty(_EXP_BLOCK)
    shifted_bits, low_bits, high_bits = shifted.view(np.int64), low.view(np.int64), high.view(np.int64)
    for start in range(0, flat.shape[0], _EXP_BLOCK):
        stop = min(start + _EXP_BLOCK, flat.shape[0])
        m = stop - start
        _exp_rounded(flat[start:stop], shifted[:m])
        _exp_powers_of_two(shifted_bits[:m], low_bits[:m], high_bits[:m])
        _sigmoid_from_parts(flat[start:stop], shifted[:m], low[:m], high[:m], out[start:stop])
    return out.reshape(U.shape)


@_jit
def _exp_rounded(U, shifted):
    """For t = -|u|: t/log 2 + 1.5·2^52, which is rounded to a whole number n + 1.5·2^52,
    so that its low bits hold n. Below t = -746, e^t rounds to 0, and t is taken as -746
    (a NaN stays NaN)."""
    for j in range(U.shape[0]):
        t = -abs(np.float64(U[j]))
        t = -746.0 if t < -746.0 else t
        shifted[j] = t * 1.4426950408889634 + _EXP_SHIFT


@_jit
def _exp_powers_of_two(shifted_bits, low_bits, high_bits):
    """The bits of 2^h and 2^(n - h), h = floor(n/2), made from n's bits: two normal numbers
    whose product is 2^n, which is subnormal when n < -1022."""
    for j in range(shifted_bits.shape[0]):
        n = shifted_bits[j] - _EXP_SHIFT_BITS
        h = n >> 1
        low_bits[j] = (h + 1023) << 52
        high_bits[j] = (n - h + 1023) << 52


@_jit
def _sigmoid_from_parts(U, shifted, low, high, out):
    """σ(u) from e^-|u| = 2^n e^r, r = -|u| - n log 2 in [-log 2/2, log 2/2], with e^r
    its Taylor polynomial to r^13 (a remainder below 1e-17) and log 2 split in two parts,
    the first with trailing zero bits, so that n times it is exact (fdlibm's reduction)."""
    for j in range(U.shape[0]):
        u = np.float64(U[j])
        t = -abs(u)
        t = -746.0 if t < -746.0 else t
        n = shifted[j] - _EXP_SHIFT
        r = (t - n * 0.6931471803691238) - n * 1.9082149292705877e-10
        e_r = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * (
            0.008333333333333333 + r * (0.001388888888888889 + r * (0.0001984126984126984 + r * (
                2.48015873015873e-05 + r * (2.7557319223985893e-06 + r * (2.755731922398589e-07 + r * (
                    2.505210838544172e-08 + r * (2.08767569878681e-09 + r * 1.6059043836821613e-10))))))))))))
        e = e_r * low[j] * high[j]
        q = 1.0 / (1.0 + e)
        out[j] = q if u >= 0.0 else e * q
''',
    "_softplus_array": '''@_jit
def _softplus_array(U):
    """log(1 + e^u) = max(u, 0) + log1p(e^-|u|): no overflow for large u, exact for very negative u."""
    return np.maximum(U, {{ lit(0) }}) + np.log1p(np.exp(-np.abs(U)))
''',
}


#: The C99 helpers the exported C source defines when a row's C code calls them.
C_HELPERS: dict[str, str] = {
    "sg_sigmoid": """/* 1/(1 + e^-z) from e^-|z| <= 1: no overflow, full precision in both tails. */
static double sg_sigmoid(double z) {
    double e = exp(-fabs(z));
    return (z >= 0.0 ? 1.0 : e) / (1.0 + e);
}""",
    "sg_softplus": """/* log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow. */
static double sg_softplus(double z) {
    return (z > 0.0 ? z : 0.0 * z) + log1p(exp(-fabs(z)));
}""",
    "sg_relu": """/* max(0, z), keeping a NaN a NaN. */
static double sg_relu(double z) {
    return z > 0.0 ? z : 0.0 * z;
}""",
    "sg_leaky_relu": """static double sg_leaky_relu(double z, double alpha) {
    return z > 0.0 ? z : alpha * z;
}""",
    "sg_elu": """/* z above zero, alpha*(e^z - 1) below, by expm1. */
static double sg_elu(double z, double alpha) {
    return z > 0.0 ? z : alpha * expm1(z);
}""",
    "sg_normal_cdf": """/* The standard normal distribution function, erfc(-z/sqrt 2)/2. */
static double sg_normal_cdf(double z) {
    return 0.5 * erfc(-z * 0.7071067811865476);
}""",
    "sg_gelu_tanh": """static double sg_gelu_tanh(double z) {
    return 0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z)));
}""",
    "sg_sign": """static double sg_sign(double z) {
    return z > 0.0 ? 1.0 : (z < 0.0 ? -1.0 : z);
}""",
    "sg_step": """/* The step function: 0 below zero, 1 above, at_zero at zero. */
static double sg_step(double z, double at_zero) {
    return z > 0.0 ? 1.0 : (z < 0.0 ? 0.0 : at_zero);
}""",
}
