"""A PyTorch ``nn.Sequential`` of ``Linear`` layers and activations, as a symgrad ``mlp``.

So that a user can read and verify the gradient of their own small model: the
layer sizes, activations and bias come from the modules, the weights become a
parameter vector in symgrad's order (per layer ``W{l}`` row by row — a ``Linear``'s
``weight`` is (out, in), row i of it the weights into unit i — then ``b{l}``).
PyTorch is optional: it is imported only here, when called.

>>> import torch                                                  # doctest: +SKIP
>>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))  # doctest: +SKIP
>>> net, params = from_torch(model, loss="mse")                   # doctest: +SKIP
>>> net.layers.sizes, net.layers.activations, params.shape        # doctest: +SKIP
((3, 4, 2), ('tanh', 'identity'), (26,))
"""

from __future__ import annotations

import numpy as np

from ..errors import SymgradError
from .layers import mlp
from .network import Network

__all__ = ["from_torch"]


def _activation(module) -> str | None:
    """The kind of a PyTorch activation module, or None when symgrad has none for it."""
    import torch.nn as nn

    simple = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.SiLU: "silu", nn.Softsign: "softsign", nn.Identity: "identity"}
    for cls, kind in simple.items():
        if type(module) is cls:
            return kind
    if type(module) is nn.Softplus:
        return "softplus" if module.beta == 1 else None  # softplus with another β is not a row
    if type(module) is nn.LeakyReLU:
        return f"leaky_relu({module.negative_slope!r})"
    if type(module) is nn.ELU:
        return f"elu({module.alpha!r})"
    if type(module) is nn.GELU:
        return "gelu_tanh" if module.approximate == "tanh" else "gelu"
    if type(module) is nn.Softmax and module.dim in (-1, 1, None):
        return "softmax"
    return None


def from_torch(model, loss: str = "mse") -> tuple[Network, np.ndarray]:
    """``(net, params)``: the ``mlp`` a ``torch.nn.Sequential`` computes, and its weights as a
    float64 vector in ``net.params`` order. ``loss`` is an :func:`symgrad.mlp` loss.

    Supported: ``Linear`` layers (all with a bias, or all without), each followed by at
    most one of Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU (both forms), SiLU, Softsign,
    Softplus (β = 1), Identity, and Softmax after the last layer. Anything else is a
    :class:`~symgrad.errors.SymgradError` naming the module and its position.
    """
    try:
        import torch.nn as nn
    except ImportError:
        raise SymgradError("from_torch needs PyTorch (pip install torch)", token="torch") from None
    if not isinstance(model, nn.Sequential):
        raise SymgradError(f"from_torch takes a torch.nn.Sequential, got {type(model).__name__}", token=type(model).__name__)
    sizes: list[int] = []
    activations: list[str] = []
    blocks: list[np.ndarray] = []
    biases: set[bool] = set()
    for position, module in enumerate(model):
        if isinstance(module, nn.Linear):
            if len(activations) < len(sizes) - 1:
                activations.append("identity")  # two Linear layers in a row: the first has no activation
            if sizes and module.in_features != sizes[-1]:
                raise SymgradError(
                    f"module {position} ({module}): takes {module.in_features} inputs, but the layer before gives {sizes[-1]}",
                    token=str(position),
                )
            if not sizes:
                sizes.append(module.in_features)
            sizes.append(module.out_features)
            biases.add(module.bias is not None)
            weight = module.weight.detach().cpu().double().numpy()
            blocks.append(weight.reshape(-1))  # row by row: row i holds the weights into unit i
            if module.bias is not None:
                blocks.append(module.bias.detach().cpu().double().numpy())
            continue
        kind = _activation(module)
        if kind is None:
            raise SymgradError(f"module {position} ({module}) has no symgrad counterpart", token=type(module).__name__)
        if len(sizes) < 2 or len(activations) == len(sizes) - 1:
            raise SymgradError(f"module {position} ({module}): an activation must follow a Linear layer", token=type(module).__name__)
        activations.append(kind)
    if len(sizes) < 2:
        raise SymgradError("the model has no Linear layer", token="Linear")
    if len(biases) > 1:
        raise SymgradError("some Linear layers have a bias and some do not; symgrad's mlp needs one or the other", token="bias")
    activations += ["identity"] * (len(sizes) - 1 - len(activations))
    net = mlp(sizes, activation=activations, loss=loss, bias=biases.pop())
    return net, np.concatenate(blocks)
