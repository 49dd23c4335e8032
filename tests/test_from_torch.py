"""sg.from_torch: a PyTorch nn.Sequential as an mlp whose gradient equals autograd's."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg

torch = pytest.importorskip("torch")
nn = torch.nn


def _torch_gradient(model, x, y, loss: str):
    model.zero_grad()
    out = model(torch.tensor(x[None, :], dtype=torch.float64))[0]
    target = torch.tensor(y, dtype=torch.float64)
    if loss == "mse":
        value = 0.5 * ((out - target) ** 2).sum()
    else:  # binary cross-entropy of a sigmoid output
        value = -(target * torch.log(out) + (1 - target) * torch.log(1 - out)).sum()
    value.backward()
    grads = []
    for module in model:
        if isinstance(module, nn.Linear):
            grads.append(module.weight.grad.reshape(-1))
            if module.bias is not None:
                grads.append(module.bias.grad)
    return float(value.detach()), torch.cat(grads).numpy()


@pytest.mark.parametrize(
    "layers, loss",
    [
        ([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)], "mse"),
        ([nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 3), nn.ELU(0.5), nn.Linear(3, 1), nn.Sigmoid()], "cross_entropy"),
        ([nn.Linear(2, 3, bias=False), nn.GELU(), nn.Linear(3, 3, bias=False), nn.SiLU(), nn.Linear(3, 2, bias=False)], "mse"),
        ([nn.Linear(2, 2), nn.GELU(approximate="tanh"), nn.Linear(2, 2), nn.Softsign(), nn.Linear(2, 2), nn.Softplus()], "mse"),
        ([nn.Linear(2, 3), nn.Linear(3, 1)], "mse"),
    ],
)
def test_the_gradient_of_a_torch_model_is_autograds(layers, loss, tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(*layers).double()
    net, params = sg.from_torch(model, loss=loss)
    assert params.shape == (len(net.params),)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, net.layers.sizes[0]), rng.uniform(0.1, 0.9, net.layers.sizes[-1])
    want_loss, want = _torch_gradient(model, x, y, loss)
    loss_value, g = net.compile(jit=False, cache_dir=tmp_path)(params, x, y)
    assert loss_value == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sg.numeric_backprop(net, params, x, y)[1], want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "layers, message",
    [
        ([nn.Linear(2, 3), nn.Dropout()], r"module 1 \(Dropout.*no symgrad counterpart"),
        ([nn.Linear(2, 3), nn.Linear(4, 1)], r"module 1 .*takes 4 inputs, but the layer before gives 3"),
        ([nn.Linear(2, 3), nn.Linear(3, 1, bias=False)], "some Linear layers have a bias"),
        ([nn.Tanh(), nn.Linear(2, 1)], "must follow a Linear layer"),
        ([nn.Linear(2, 3), nn.Softplus(beta=2)], "no symgrad counterpart"),
    ],
)
def test_unsupported_models_name_the_module(layers, message):
    with pytest.raises(sg.SymgradError, match=message):
        sg.from_torch(nn.Sequential(*layers))


def test_only_a_sequential_is_taken():
    with pytest.raises(sg.SymgradError, match="nn.Sequential, got Linear"):
        sg.from_torch(nn.Linear(2, 1))
