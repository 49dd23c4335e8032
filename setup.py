"""Build script for the one part of symgrad that is C: ``_symgrad_fastcall``, the
one-sample call ``f(params, x, y)`` (csrc/_symgrad_fastcall.c).

Everything else is in pyproject.toml. The extension is optional: where no C compiler
is found, pip warns and installs symgrad without it, and the same call runs in Python,
about 0.3 microseconds slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("_symgrad_fastcall", ["csrc/_symgrad_fastcall.c"], optional=True)])
