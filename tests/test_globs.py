"""glob_match: the path patterns of coverage.files, modules.*.files and suite paths."""

from __future__ import annotations

import pytest

from mcptest.globs import glob_match, is_glob


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # '*' stays inside one folder
        ("pkg/*.py", "pkg/x.py", True),
        ("pkg/*.py", "pkg/sub/x.py", False),
        ("*.py", "setup.py", True),
        ("*.py", "pkg/x.py", False),
        ("pkg/*", "pkg/x.py", True),
        ("pkg/*", "pkg/sub/x.py", False),
        ("pkg/*/x.py", "pkg/sub/x.py", True),
        ("pkg/*/x.py", "pkg/a/b/x.py", False),
        ("pkg/*.py", "pkg/.py", True),
        ("pkg/x*", "pkg/x", True),
        # '**' spans any number of folders, including none
        ("pkg/**/*.py", "pkg/x.py", True),
        ("pkg/**/*.py", "pkg/sub/x.py", True),
        ("pkg/**/*.py", "pkg/a/b/c/x.py", True),
        ("pkg/**/*.py", "other/x.py", False),
        ("pkg/**/*.py", "pkg/a/b/x.txt", False),
        ("**/*.py", "x.py", True),
        ("**/*.py", "a/b/x.py", True),
        ("**", "a/b/c.txt", True),
        ("pkg/**", "pkg/a/b/c.py", True),
        ("pkg/**", "pkgx/a.py", False),
        ("**/test_*.py", "tests/unit/test_a.py", True),
        ("**/test_*.py", "tests/unit/a_test.py", False),
        ("pkg/**/deep.py", "pkg/deep.py", True),
        ("pkg/**/deep.py", "pkg/a/b/deep.py", True),
        ("pkg/**/deep.py", "pkg/a/b/notdeep.py", False),
        # '?' is exactly one character, never a slash
        ("pkg/?.py", "pkg/x.py", True),
        ("pkg/?.py", "pkg/xy.py", False),
        ("pkg/?.py", "pkg/.py", False),
        ("pkg?x.py", "pkg/x.py", False),
        ("pkg/??.py", "pkg/ab.py", True),
        # character classes
        ("pkg/[ab].py", "pkg/a.py", True),
        ("pkg/[ab].py", "pkg/b.py", True),
        ("pkg/[ab].py", "pkg/c.py", False),
        ("pkg/[a-c].py", "pkg/b.py", True),
        ("pkg/[a-c].py", "pkg/d.py", False),
        ("pkg/[!a].py", "pkg/b.py", True),
        ("pkg/[!a].py", "pkg/a.py", False),
        ("pkg/v[0-9].py", "pkg/v7.py", True),
        ("pkg/v[0-9].py", "pkg/vx.py", False),
        ("pkg/[]a].py", "pkg/].py", True),
        ("pkg/[]a].py", "pkg/a.py", True),
        # an unclosed '[' is an ordinary character
        ("pkg/a[b.py", "pkg/a[b.py", True),
        ("pkg/a[b.py", "pkg/ab.py", False),
        # other regex characters are literal
        ("pkg/a+b.py", "pkg/a+b.py", True),
        ("pkg/a+b.py", "pkg/aab.py", False),
        ("pkg/(x)*.py", "pkg/(x)1.py", True),
        ("pkg/x.*", "pkg/x.py", True),
        ("pkg/x.*", "pkg/xapy", False),
        # a glob matches the whole path, not a prefix or a suffix
        ("pkg/*.py", "pkg/x.pyc", False),
        ("pkg/*.py", "other/pkg/x.py", False),
        ("*.py", "x.py\n", False),
        # exact paths
        ("pkg/x.py", "pkg/x.py", True),
        ("pkg/x.py", "pkg/x.pyc", False),
        ("pkg/x.py", "pkg/x.py/y.py", True),  # a plain path is also a folder prefix
        ("pkg/x.py", "other/pkg/x.py", False),
        ("pkg/x.py", "pkg/X.py", False),
        # a folder without a glob matches every file below it
        ("pkg", "pkg/x.py", True),
        ("pkg", "pkg/sub/deep/x.py", True),
        ("pkg/", "pkg/sub/x.py", True),
        ("pkg//", "pkg/x.py", True),
        ("pkg", "pkg", True),
        ("pkg", "pkg2/x.py", False),
        ("pkg", "pkg.py", False),
        ("pkg/sub", "pkg/sub/x.py", True),
        ("pkg/sub", "pkg/subway/x.py", False),
        ("pkg/sub", "pkg/x.py", False),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("pkg/x.py", False),
        ("pkg", False),
        ("pkg/*.py", True),
        ("pkg/?.py", True),
        ("pkg/[ab].py", True),
        ("pkg/**", True),
        ("pkg/a]b.py", False),
        ("pkg/{a,b}.py", False),  # no brace expansion
    ],
)
def test_is_glob(pattern: str, expected: bool) -> None:
    assert is_glob(pattern) is expected


def test_braces_are_literal() -> None:
    assert glob_match("pkg/{a,b}.py", "pkg/{a,b}.py")
    assert not glob_match("pkg/{a,b}.py", "pkg/a.py")


def test_star_star_without_slash_inside_a_name() -> None:
    # '**' next to other characters still spans folders
    assert glob_match("pkg/**.py", "pkg/a/b.py")
    assert glob_match("pkg/a**", "pkg/ab/c/d.py")
    assert not glob_match("pkg/a**", "pkg/ba/c.py")


def test_same_pattern_many_paths_is_consistent() -> None:
    # compiled patterns are cached; a cached pattern must give the same answers
    paths = [f"pkg/m{i}.py" for i in range(20)] + [f"pkg/sub/m{i}.py" for i in range(20)]
    first = [glob_match("pkg/*.py", p) for p in paths]
    second = [glob_match("pkg/*.py", p) for p in paths]
    assert first == second == [True] * 20 + [False] * 20
