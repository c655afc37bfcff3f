"""A teacher's link: which sidebar controls it locks, which parts of the page it hides, and projector mode.

Read from the URL (`?lock=lr,n&hide=sidebar&projector=1`) through allow-lists; anything else is refused with a
message code (lib.text.messages) that the page shows in the reader's language.
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.tutorial.config import shown_text
from lib.text.messages import Message

# the sidebar's controls by widget key, in the sidebar's order; a locked one is shown disabled at the link's value
LOCKABLE = ("n", "d_in", "hidden", "d_out", "steps", "lr", "optimizer", "momentum", "seed", "dtype")
HIDEABLE = ("sidebar", "code")   # the whole sidebar; the tutorial's code and the instrumented source on stage pages
TEACHER_KEYS = ("lock", "hide", "projector")
LIST_MAX = 120   # characters of a lock= or hide= list; longer ones are refused whole


@dataclass(frozen=True)
class TeacherView:
    locked: tuple[str, ...] = ()    # names from LOCKABLE, in that order
    hidden: tuple[str, ...] = ()    # names from HIDEABLE, in that order
    projector: bool = False         # larger type, the sidebar folded, the loss curve replayed as an animation

    @property
    def folds_sidebar(self) -> bool:
        return self.projector or "sidebar" in self.hidden

    def to_query(self) -> dict[str, str]:
        """The URL parameters that open this view; none for the plain view."""
        query = {"lock": ",".join(self.locked), "hide": ",".join(self.hidden), "projector": "1" if self.projector else ""}
        return {key: value for key, value in query.items() if value}


def _names(key: str, text: str, allowed: tuple[str, ...], problems: list[Message]) -> tuple[str, ...]:
    if len(text) > LIST_MAX:
        problems.append(Message("teacher.too_long", name=key, text=shown_text(text)))
        return ()
    asked = [name.strip() for name in text.split(",") if name.strip()]
    for name in asked:
        if name not in allowed:
            problems.append(Message("teacher.unknown", name=key, text=shown_text(name), allowed=", ".join(allowed)))
    return tuple(name for name in allowed if name in asked)


def view_from_query(query: dict[str, str]) -> tuple[TeacherView, list[Message]]:
    """The view that `query`'s lock=, hide= and projector= ask for, and a message for each part refused."""
    problems: list[Message] = []
    locked = _names("lock", str(query.get("lock", "")), LOCKABLE, problems)
    hidden = _names("hide", str(query.get("hide", "")), HIDEABLE, problems)
    projector_text = str(query.get("projector", "0"))
    if projector_text not in ("0", "1"):
        problems.append(Message("teacher.not_switch", name="projector", text=shown_text(projector_text)))
    return TeacherView(locked, hidden, projector_text == "1"), problems
