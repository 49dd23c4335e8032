"""Where symgrad's Jinja2 templates live, and the one way they are loaded.

The templates sit in the repository's top-level ``templates/`` folder and are shipped
inside the wheel as the package ``symgrad.templates``; an installed symgrad reads them
there, a source checkout from ``templates/``. Every template is rendered strictly: a
name the context lacks is an error, never an empty string in generated code.

>>> "def grad_kernel" in template_text("grad_module.py.j2")
True
>>> environment().get_template("report.md.j2").render()
Traceback (most recent call last):
...
jinja2.exceptions.UndefinedError: 'title' is undefined
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from .errors import SymgradError

__all__ = ["code_environment", "environment", "snippet", "template_text"]


def template_text(name: str) -> str:
    """A template's text: from the installed package ``symgrad.templates`` if there is one,
    else from the source checkout's top-level ``templates/``."""
    try:
        from importlib.resources import files

        resource = files("symgrad.templates").joinpath(name)
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except ModuleNotFoundError:
        pass
    path = Path(__file__).resolve().parent.parent / "templates" / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise SymgradError(f"the template {name} is missing (looked in symgrad.templates and {path.parent})") from None


def environment() -> jinja2.Environment:
    """A Jinja2 environment over symgrad's templates: strict, block tags trimmed, no escaping."""
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(template_text),
        undefined=jinja2.StrictUndefined,  # a missing name is an error, never an empty string in code
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def code_environment() -> jinja2.Environment:
    """The environment for generated Python modules: :func:`environment` plus the filters
    their templates use (``docstring``: user text made safe in a docstring; ``pyrepr``: a
    Python literal)."""
    env = environment()
    env.filters["docstring"] = _docstring_text
    env.filters["pyrepr"] = lambda value: repr(tuple(value) if isinstance(value, list) else value)
    return env


def _docstring_text(text) -> str:
    """User text (a network's name, its steps) made safe inside a triple-quoted docstring."""
    return str(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


@lru_cache(maxsize=None)
def snippet(text: str) -> jinja2.Template:
    """A short code template (a row of the functions table writes its code so), compiled
    once: ``snippet("np.tanh({{ x }})").render(x="u")``.

    >>> snippet("max({{ x }}, {{ lit(0) }})").render(x="u", lit=lambda v: f"{v}.0")
    'max(u, 0.0)'
    """
    return environment().from_string(text)
