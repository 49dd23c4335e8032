r"""Reading hand-written derivative claims into a network's symbols.

``tokens`` (TeX tokens, paired brackets) → ``names`` (written names matched to the
network's) → ``parser`` (the arithmetic) → ``claims`` (a claim's lines and left side;
Python and sympy claims). The public surface is :func:`read_claim` and its three
readers, and the :class:`Claim` they return.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> read_claim(net, r"2 x_2 (x_1 x_2 - 3)").lines
(2*x2*(x1*x2 - 3),)
"""

from .claims import NOTATIONS, Claim, lexicon, read_claim, read_latex, read_python, read_sympy

__all__ = ["NOTATIONS", "Claim", "lexicon", "read_claim", "read_latex", "read_python", "read_sympy"]
