"""UI texts in TOML files per language in locales/ (read with tomllib), and `t` to look a text up.

A language's texts are `locales/<code>.toml` plus every `locales/<code>/*.toml` (one file per feature, so that
features add their texts without touching each other's files); a key defined twice is an error.

This module imports nothing from lib: pages and plots render codes and values into the reader's language, and
loading the texts costs no torch or torchvision import. Adding a language is adding `locales/<code>.toml`.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

LOCALES = Path(__file__).resolve().parents[2] / "locales"
DEFAULT = "en"
NAME_KEY = "language.name"      # each file names its own language, as the switch shows it


def _read(path: Path) -> dict[str, str]:
    with path.open("rb") as file:
        return tomllib.load(file)


def _load() -> dict[str, dict[str, str]]:
    texts = {}
    for path in sorted(LOCALES.glob("*.toml")):
        merged = _read(path)
        for part in sorted((LOCALES / path.stem).glob("*.toml")):
            more = _read(part)
            twice = sorted(set(more) & set(merged))
            if twice:
                raise ValueError(f"{part}: keys defined twice: {twice}")
            merged.update(more)
        texts[path.stem] = merged
    # the default language first, so the switch lists it first
    return dict(sorted(texts.items(), key=lambda item: item[0] != DEFAULT))


TEXTS: dict[str, dict[str, str]] = _load()
LANGUAGES = {code: texts[NAME_KEY] for code, texts in TEXTS.items()}   # code -> name in its own language
EN, KO = TEXTS["en"], TEXTS["ko"]


def t(key: str, lang: str = DEFAULT, **values) -> str:
    """The text `key` in `lang`, its {placeholders} filled from `values`; a missing key is a KeyError."""
    text = TEXTS[lang][key]
    return text.format(**values) if values else text
