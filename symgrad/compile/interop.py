"""A compiled gradient inside PyTorch or JAX code: ``f.to_torch()``, ``f.to_jax()``.

Each returns a loss function ``loss(params, x, y)`` whose backward pass is symgrad's
compiled gradient: one call computes the loss and the gradient together (the kernel
does both), and the gradient is handed to the framework's autodiff. ``x`` and ``y``
may be one sample (1-D) or a batch (one sample per row, the mean loss). The gradient
is with respect to the parameters only; ``x`` and ``y`` are data. PyTorch says so with
an error if asked for their gradient; JAX cannot tell who asks, so their cotangents
are NaN, never a silent zero. Both frameworks are optional and imported here only.

>>> import symgrad as sg, torch                                   # doctest: +SKIP
>>> f = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2").compile()  # doctest: +SKIP
>>> p = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)  # doctest: +SKIP
>>> f.to_torch()(p).backward(); p.grad                            # doctest: +SKIP
tensor([-4., -4.], dtype=torch.float64)
"""

from __future__ import annotations

import numpy as np

from ..errors import SymgradError

__all__ = ["to_jax", "to_torch"]


def _evaluate(f, params, x, y):
    """Loss and gradient from the compiled function: one sample, or the mean over rows."""
    batch = (x is not None and np.ndim(x) == 2) or (y is not None and np.ndim(y) == 2)
    loss, grad = f.batch(params, x, y) if batch else f(params, x, y)
    return float(loss), np.asarray(grad, dtype=np.float64)


def _data(value):
    return None if value is None or np.size(value) == 0 else np.asarray(value, dtype=np.float64)


def to_torch(f):
    """``loss(params, x=None, y=None)``: a differentiable PyTorch function (a
    ``torch.autograd.Function``) whose backward is ``f``'s compiled gradient.

    ``params`` is a 1-D tensor in ``f.param_names`` order; the loss comes back in its
    dtype and device.
    """
    try:
        import torch
    except ImportError:
        raise SymgradError("to_torch needs PyTorch (pip install torch)", token="torch") from None

    class SymgradLoss(torch.autograd.Function):
        @staticmethod
        def forward(ctx, params, x, y):
            loss, grad = _evaluate(f, params.detach().cpu().double().numpy(), _numpy(x), _numpy(y))
            ctx.save_for_backward(torch.from_numpy(grad).to(params.device, params.dtype))
            return torch.tensor(loss, dtype=params.dtype, device=params.device)

        @staticmethod
        def backward(ctx, grad_output):
            for k, name in ((1, "x"), (2, "y")):
                if ctx.needs_input_grad[k]:
                    raise SymgradError(f"symgrad's gradient is with respect to the parameters; {name} is data and has none", token=name)
            (grad,) = ctx.saved_tensors
            return grad_output * grad, None, None

    def _numpy(value):
        if value is None:
            return None
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().double().numpy()
        return _data(value)

    def loss(params, x=None, y=None):
        if not isinstance(params, torch.Tensor) or params.ndim != 1:
            raise SymgradError("params must be a 1-D torch tensor in the network's parameter order", token="params")
        return SymgradLoss.apply(params, x, y)

    loss.function = SymgradLoss
    return loss


def to_jax(f):
    """``loss(params, x=None, y=None)``: a JAX function with a ``custom_vjp`` whose backward
    is ``f``'s compiled gradient; ``jax.grad`` and ``jax.jit`` accept it (the compiled
    code runs on the host through ``jax.pure_callback``). Results come in JAX's default
    float dtype (float64 when ``jax_enable_x64`` is on)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise SymgradError("to_jax needs JAX (pip install jax)", token="jax") from None
    n_params = len(f.param_names)

    def host(params, x, y):
        loss, grad = _evaluate(f, np.asarray(params, dtype=np.float64), _data(x), _data(y))
        dtype = jnp.result_type(float)
        return np.asarray(loss, dtype=dtype), grad.astype(dtype)

    def shapes():
        dtype = jnp.result_type(float)
        return jax.ShapeDtypeStruct((), dtype), jax.ShapeDtypeStruct((n_params,), dtype)

    def both(params, x, y):
        return jax.pure_callback(host, shapes(), params, x, y)

    @jax.custom_vjp
    def loss(params, x, y):
        return both(params, x, y)[0]

    def forward(params, x, y):
        value, grad = both(params, x, y)
        return value, (grad, x, y)

    def backward(saved, cotangent):
        grad, x, y = saved
        # x and y are data: NaN, so that a gradient asked of them cannot pass for a zero one.
        return cotangent * grad, jnp.full_like(x, jnp.nan), jnp.full_like(y, jnp.nan)

    loss.defvjp(forward, backward)

    def call(params, x=None, y=None):
        empty = jnp.zeros((0,), dtype=jnp.result_type(float))
        return loss(params, empty if x is None else x, empty if y is None else y)

    return call
