"""Two well-known worked examples written as symgrad networks, with their published numbers.

* A step-by-step backpropagation tutorial's 2-2-2 network (sigmoid hidden and output
  layers, a bias shared by each layer, E = ½(target_o1 − out_o1)² + ½(target_o2 − out_o2)²),
  at the tutorial's weights, inputs and targets; it prints ∂E/∂w5 = 0.082167041 and
  ∂E/∂w1 = 0.000438568.
* A scalar autograd engine's README expression::

      c = a + b; d = a*b + b**3; c += c + 1; c += 1 + c + (-a)
      d += d*2 + (b + a).relu(); d += 3*d + (b - a).relu()
      e = c - d; f = e**2; g = f/2.0; g += 10.0/f

  with each reassignment renamed (c0, c1, c2, d0, d1, d2, g0), at a = −4, b = 2; it
  prints g = 24.7041, ∂g/∂a = 138.8338, ∂g/∂b = 645.5773.
"""

from __future__ import annotations

import symgrad as sg

TUTORIAL_EQUATIONS = """
net_h1 = w1*i1 + w2*i2 + b1
out_h1 = sigmoid(net_h1)
net_h2 = w3*i1 + w4*i2 + b1
out_h2 = sigmoid(net_h2)
net_o1 = w5*out_h1 + w6*out_h2 + b2
out_o1 = sigmoid(net_o1)
net_o2 = w7*out_h1 + w8*out_h2 + b2
out_o2 = sigmoid(net_o2)
E = (target_o1 - out_o1)**2/2 + (target_o2 - out_o2)**2/2
"""
#: The tutorial's starting point: parameters in net.params order (w1..w8, b1, b2), inputs, targets.
TUTORIAL_PARAMS = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, 0.35, 0.60]
TUTORIAL_INPUTS = [0.05, 0.10]
TUTORIAL_TARGETS = [0.01, 0.99]
TUTORIAL_GRADIENTS = {"w5": 0.082167041, "w1": 0.000438568}

ENGINE_EQUATIONS = """
c0 = a + b
d0 = a*b + b**3
c1 = c0 + c0 + 1
c2 = c1 + 1 + c1 + (-a)
d1 = d0 + d0*2 + relu(b + a)
d2 = d1 + 3*d1 + relu(b - a)
e = c2 - d2
f = e**2
g0 = f/2
g = g0 + 10/f
"""
ENGINE_POINT = {"a": -4.0, "b": 2.0}
ENGINE_RESULTS = {"g": 24.7041, "a": 138.8338, "b": 645.5773}


def tutorial_network() -> sg.Network:
    return sg.Network.from_equations(
        TUTORIAL_EQUATIONS, params="w1:9 b1 b2", inputs="i1 i2", targets="target_o1 target_o2", name="backprop tutorial 2-2-2"
    )


def engine_network() -> sg.Network:
    return sg.Network.from_equations(ENGINE_EQUATIONS, params="a b", name="autograd engine README")


def softmax_network() -> sg.Network:
    """A 2-2-2 network with a tanh hidden layer and a softmax output under the cross-entropy."""
    return sg.mlp([2, 2, 2], activation=["tanh", "softmax"], loss="softmax_cross_entropy")
