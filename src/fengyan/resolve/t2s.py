"""The characters OpenCC's ``t2s`` can change, so that folding skips it for texts without any.

A text is left as it is by ``t2s`` unless it holds a character that some entry of its
dictionaries rewrites: a character entry (``TSCharacters``, ``TSCharactersExt``, the
``CJK_Compatibility_Ideographs`` normalisation) whose first value is not the character, or
a phrase (``TSPhrases``) whose first value is not the phrase. For a phrase, the key's
characters where key and value differ are taken (all of them when the lengths differ): a
text holding none of those cannot contain the phrase as a change. Texts with none of these
characters are exactly the ones OpenCC returns unchanged, whatever it segments.

The set ships as ``t2s_changing.csv`` (code points, from OpenCC's Apache-2.0 dictionaries);
``python -m fengyan.resolve.t2s`` writes it again from the installed OpenCC, and
``tests/resolve/test_t2s.py`` checks that it is current.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Final

import numpy as np
import opencc

DATA: Final = "t2s_changing.csv"
CHARACTER_DICTS: Final = ("TSCharactersExt", "TSCharacters", "CJK_Compatibility_Ideographs")
PHRASE_DICTS: Final = ("TSPhrases",)


def _opencc_dir() -> Path:
    return Path(opencc.__file__).parent / "clib"


def _entries(name: str) -> list[tuple[str, str]]:
    """``(key, first value)`` of every entry of the installed dictionary ``name``."""
    clib = _opencc_dir()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.txt"
        subprocess.run(  # OpenCC's own tool, fixed arguments
            [
                str(clib / "bin" / "opencc_dict"),
                *("-i", str(clib / "share" / "opencc" / f"{name}.ocd2")),
                *("-o", str(out), "-f", "ocd2", "-t", "text"),
            ],
            check=True,
            capture_output=True,
            env={"LD_LIBRARY_PATH": str(clib / "lib64")},
        )
        lines = out.read_text(encoding="utf-8").splitlines()
    entries = []
    for line in lines:
        key, _, values = line.partition("\t")
        if key:
            entries.append((key, values.split(" ")[0]))
    return entries


def changing_characters() -> set[str]:
    """The characters of the module docstring, read from the installed dictionaries."""
    found: set[str] = set()
    for name in (*CHARACTER_DICTS, *PHRASE_DICTS):
        for key, value in _entries(name):
            if key == value:
                continue
            if len(key) != len(value):
                found.update(key)
            else:
                found.update(k for k, v in zip(key, value, strict=True) if k != v)
    return found


def render(chars: set[str]) -> str:
    """The data file's text: a provenance comment, then one code point a line."""
    head = (
        f"# Characters OpenCC {version('OpenCC')} t2s may change; written by"
        " `python -m fengyan.resolve.t2s` from OpenCC's dictionaries (Apache-2.0)\n"
    )
    return head + "code_point\n" + "".join(f"{ord(c):X}\n" for c in sorted(chars))


@cache
def shipped_characters() -> set[str]:
    """The characters listed in the shipped data file."""
    text = resources.files("fengyan.resolve").joinpath(DATA).read_text(encoding="utf-8")
    rows = [r for r in text.splitlines() if r and not r.startswith("#")]
    return {chr(int(r, 16)) for r in rows[1:]}


@cache
def changing_mask() -> np.ndarray:
    """A boolean per code point (1.1 MB): may ``t2s`` change a text holding it."""
    mask = np.zeros(sys.maxunicode + 1, dtype=bool)
    mask[[ord(c) for c in shipped_characters()]] = True
    return mask


def main() -> None:
    """Write the data file beside this module from the installed OpenCC."""
    target = Path(__file__).with_name(DATA)
    target.write_text(render(changing_characters()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
