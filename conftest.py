"""Test-wide settings (this file sits at the root so doctests in symgrad/ get them too)."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _symgrad_cache_dir(tmp_path_factory):
    """Generated modules go to one temporary cache per test run, never to ~/.cache/symgrad."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("symgrad-cache")))
    mp.setenv("SYMGRAD_PROGRESS", "0")
    yield
    mp.undo()
