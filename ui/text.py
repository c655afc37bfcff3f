"""The reader's language and the texts in it: `t` for a UI text, `say` for a message from lib, labels."""
from __future__ import annotations

import streamlit as st

from lib.text import i18n
from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import split_use
from lib.text.messages import render
from lib.text.numbers import lr_text
from lib.tutorial.optimizers import OPTIMIZERS
from lib.tutorial.stages import STAGES


def first_language(link: str | None, locale: str | None) -> str:
    """A session's first language: ?lang= when it is one we have, else the browser's (`ko-KR` -> "ko"), else
    English."""
    if link in i18n.LANGUAGES:
        return link
    browser = (locale or "").split("-")[0].split("_")[0].lower()
    return browser if browser in i18n.LANGUAGES else i18n.DEFAULT


def language_from_link() -> str:
    """The session's language: what the sidebar switch holds, else ?lang= through the allow-list, else the
    browser's language, else English. app.py writes it back to ?lang=, so a link keeps it.

    app.py calls it first thing, so the navigation's page titles are in that language from the first run.
    """
    if st.session_state.get("lang") not in i18n.LANGUAGES:
        st.session_state["lang"] = first_language(st.query_params.get("lang"), st.context.locale)
    return st.session_state["lang"]


def lang() -> str:
    """The language the page is drawn in ("en" when the page runs without app.py's switch)."""
    chosen = st.session_state.get("lang")
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT


def t(key: str, **values) -> str:
    """The text `key` in this session's language (lib/text/i18n.py holds the texts); values that are messages from
    lib (lib.text.messages: a refusal, a note) are rendered in that language too."""
    language = lang()
    return i18n.t(key, language, **{name: render(value, language) for name, value in values.items()})


def say(message) -> str:
    """A message from lib (a code and values, lib.text.messages) in this session's language."""
    return render(message, lang())


def parameter_label(name: str) -> str:
    """A gradient-table row's parameter as the reader sees it: stage 7's per-use rows say "(use k of n)"."""
    use = split_use(name)
    return name if use is None else t("grad.use", parameter=use[0], k=use[1], uses=use[2])


def optimizer_label(name: str) -> str:
    return t(f"optimizer.{name}")


def describe(stage: str, cfg: TrainConfig) -> str:
    """The settings a stage really uses, in one line."""
    info = STAGES[stage]
    if info.uses_optimizer:
        update = optimizer_label(cfg.optimizer)
        if OPTIMIZERS[cfg.optimizer].uses_momentum:
            update += t("describe.momentum", momentum=cfg.momentum)
    else:
        update = t("describe.by_hand")
    return t("describe.settings", n=cfg.n, d_in=cfg.d_in, hidden=cfg.hidden, d_out=cfg.d_out, lr=lr_text(cfg.lr),
             steps=cfg.steps, seed=cfg.seed, dtype=cfg.dtype, update=update)
