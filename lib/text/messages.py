"""Messages that lib/ builds as a code and values; pages render them in the reader's language.

A code is a key of locales/*.toml. `str()` of a message is its English text (for logs and tests); a page calls
`render(message, lang)`. A value may itself be a message (a reason inside a refusal): it is rendered too.
"""
from __future__ import annotations

from lib.text import i18n


class Coded:
    """A code and its values; `render` fills the code's text in a language."""

    code: str
    values: dict

    def render(self, lang: str = i18n.DEFAULT) -> str:
        return i18n.t(self.code, lang, **{name: render(value, lang) for name, value in self.values.items()})

    def __str__(self) -> str:
        return self.render(i18n.DEFAULT)


class Message(Coded):
    """A note or label that lib/ hands to a page, e.g. Message("gradients.relu_ties", ties=3)."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and (self.code, self.values) == (other.code, other.values)

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"Message({self.code!r}, **{self.values!r})"


class CodedError(Coded, Exception):
    """An exception that carries a message code; Refusal and lib.digits.mnist_data.MnistDataError are its kinds."""

    def __init__(self, code: str, **values):
        super().__init__(code)
        self.code, self.values = code, values

    def __reduce__(self):   # pickles with its values (e.g. across a process boundary)
        return _rebuild, (type(self), self.code, self.values)

    __str__ = Coded.__str__


def _rebuild(kind, code, values):
    return kind(code, **values)


class Refusal(CodedError, ValueError):
    """A setting that lib/ refuses, e.g. Refusal("refusal.int_range", name="n", value="0", low=1, high=1024)."""


def render(value, lang: str = i18n.DEFAULT):
    """A message or coded error in `lang`; anything else as it is."""
    return value.render(lang) if isinstance(value, Coded) else value
