"""A light Streamlit client: one session in Streamlit's own websocket protocol (/_stcore/stream, protobuf
BackMsg/ForwardMsg), as the browser's frontend speaks it, and what one script run put on the page.
bench/load.py runs many of them at once; tests/test_serve.py opens sessions through HAProxy with it."""
from __future__ import annotations

import asyncio
import dataclasses
import time

DEFAULT_N = 64           # the stage pages' N (the tutorial's); a run shows "N=<n>," in its "Settings used" caption
FINISHED_OK = 0          # ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
FINISHED_COMPILE_ERROR = 1
FINISHED_FRAGMENT = 3    # ... FINISHED_FRAGMENT_RUN_SUCCESSFULLY: a rerun of one st.fragment


def forward_msg(raw: bytes):
    """A ForwardMsg from the server's bytes. Streamlit's protobuf classes are imported on first use: importing
    streamlit takes a second, which `python bench/load.py --help` should not wait for."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    msg = ForwardMsg()
    msg.ParseFromString(raw)
    return msg


@dataclasses.dataclass
class Run:
    """What one script run put on the page (everything between its new_session and its script_finished)."""
    status: int | None = None
    exceptions: list[str] = dataclasses.field(default_factory=list)
    captions: list[str] = dataclasses.field(default_factory=list)
    charts: int = 0
    n_slider_id: str | None = None
    n_slider_fragment: str = ""   # the fragment the N slider sits in ("" outside any): a move reruns that alone
    page_hash: str = ""
    auto_reruns: dict[str, float] = dataclasses.field(default_factory=dict)   # fragment id: its run_every (s)

    def feed(self, msg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash
        if kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        if kind != "delta" or msg.delta.WhichOneof("type") != "new_element":
            return
        el = msg.delta.new_element
        et = el.WhichOneof("type")
        if et == "exception":
            self.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
        elif et == "markdown" and el.markdown.body.startswith("Settings used:"):
            self.captions.append(el.markdown.body)
        elif et == "plotly_chart":
            self.charts += 1
        elif et == "slider" and (el.slider.id.endswith("-n") or el.slider.label.startswith("N:")):
            self.n_slider_id, self.n_slider_fragment = el.slider.id, msg.delta.fragment_id

    def problem(self, n: int) -> str | None:
        """Why this finished run is not the page for N=n, or None if it is."""
        if self.status not in (FINISHED_OK, FINISHED_FRAGMENT):   # a page's run, or its fragment's (a move)
            return f"script_finished status {self.status}"
        if self.exceptions:
            return "exception on the page: " + self.exceptions[0]
        if not any(f"N={n}," in c for c in self.captions):
            return f"caption does not show N={n}: {self.captions[-1][:80] if self.captions else 'no caption'}"
        if self.charts == 0:
            return "no plotly chart"
        return None


class LightSession:
    """One visitor (a student), in Streamlit's websocket protocol."""

    def __init__(self, url: str, page: str, timeout_s: float, cookie: str | None = None, query: str = ""):
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.page = page
        self.query = query                # the page's query string, as the browser's URL carries it (and keeps
                                          # up to date from the page's st.query_params writes)
        self.timeout_s = timeout_s
        self.cookie = cookie              # a Cookie header to send (e.g. HAProxy's sticky-session cookie)
        self.ws = None
        self.served_by = ""               # behind scripts/serve.sh: the replica HAProxy chose (X-Served-By)
        self.set_cookie = ""              # ... and the Set-Cookie it sent with the upgrade, if any
        self.page_hash = ""
        self.n_slider_id: str | None = None
        self.n_slider_fragment = ""
        self.received_bytes = 0

    async def connect(self):
        import websockets
        # A browser sends no websocket pings; the client's pings would fail sessions whose server event loop is
        # merely busy. Subprotocols as the frontend sends them: ["streamlit", <xsrf token>, <session id>].
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           ping_interval=None, open_timeout=self.timeout_s,
                                           additional_headers={"Cookie": self.cookie} if self.cookie else None)
        self.served_by = self.ws.response.headers.get("X-Served-By", "")
        self.set_cookie = self.ws.response.headers.get("Set-Cookie", "")

    async def rerun(self, *, page_name: str = "", page_hash: str = "", widget: tuple[str, int] | None = None,
                    fragment_id: str = ""):
        """Ask for a run of the page, with one slider's new value; or, with `fragment_id`, a rerun of that fragment
        alone: with a widget, as the frontend asks when a widget inside the fragment changes; without one, as its
        timer asks for a `st.fragment(run_every=...)` (is_auto_rerun)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg   # on first use: see forward_msg
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_name = page_name
        cs.page_script_hash = page_hash
        if fragment_id:
            cs.fragment_id = fragment_id
            cs.is_auto_rerun = widget is None
        if widget:
            ws = cs.widget_states.widgets.add()
            ws.id = widget[0]
            ws.double_array_value.data.append(float(widget[1]))   # st.slider's value: a double array
        await self.ws.send(msg.SerializeToString())

    async def until_finished(self, deadline: float, fragment: bool = False) -> Run:
        """Read ForwardMsgs until a run finishes for good (not one that stopped early for a rerun); `fragment`: a
        fragment's rerun (see rerun), whose end is its own status."""
        done = (FINISHED_FRAGMENT,) if fragment else (FINISHED_OK, FINISHED_COMPILE_ERROR)
        run = Run()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no script_finished in time")
            raw = await asyncio.wait_for(self.ws.recv(), left)
            if isinstance(raw, str):
                continue
            self.received_bytes += len(raw)
            msg = forward_msg(raw)
            if msg.HasField("ref_hash"):
                # Only sent for hashes the client says it has cached (ClientState.cached_message_hashes); we send
                # none, so this would be a protocol surprise worth failing on.
                raise RuntimeError("server sent a cached-message reference to a client with no cache")
            kind = msg.WhichOneof("type")
            if kind == "page_info_changed":   # the page wrote its URL: the next rerun sends it, as a browser does
                self.query = msg.page_info_changed.query_string
            if kind == "new_session":
                run = Run(page_hash=run.page_hash)
                continue
            run.feed(msg)
            if kind == "script_finished":
                run.status = msg.script_finished
                if run.status in done:
                    if run.page_hash:
                        self.page_hash = run.page_hash
                    if run.n_slider_id:
                        self.n_slider_id, self.n_slider_fragment = run.n_slider_id, run.n_slider_fragment
                    return run

    async def close(self):
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except Exception:
                pass
