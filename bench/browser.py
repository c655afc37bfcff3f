"""What the browser pays for the app against the plainest stage-1 page (bench/plain_stage1.py), in Chromium.

Starts both servers (`streamlit run app.py` and `streamlit run bench/plain_stage1.py`, free ports on 127.0.0.1), warms
each with one visit, then, --repeats times, alternating which page goes first:

  1. first page load: a fresh context opens /tensors (the plain page's /), until the loss chart is drawn and the
     run is over;
  2. N slider -> new chart: --moves presses of ArrowRight on the N slider, each a value not asked before (so no
     cache answers), each timed until the chart's curve changes and the run is over;
  3. ten students in one browser: --students contexts open the page and move N, all at once, each to its own value;
     the median student's time (load + move) and the wall time of the whole class.

Chrome's own performance metrics (CDP Performance.getMetrics) of the single student, per page load and per move:
ScriptDuration, LayoutDuration, RecalcStyleDuration, TaskDuration (seconds), LayoutCount, RecalcStyleCount, and
the DOM's size (Nodes; elements). A census of the rendered DOM (elements by Streamlit test id, <style> elements,
hidden elements) says what the nodes are. Where the cores go in the class (they are shared: a page's heavier
browser side or server side slows every student): the CPU seconds the Streamlit process itself, its workers and
their forkserver, and Chromium (every process of it) used over each class, from /proc.

    .venv/bin/python bench/browser.py [--repeats 5] [--moves 3] [--students 10]

Medians over repeats; ratio = app / plain page. The machine must be quiet: the browser, both servers and the
training share the cores, so anything else running makes every number wrong.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import process_tree  # noqa: E402
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = {"app": ("app.py", "tensors"), "plain": ("bench/plain_stage1.py", "")}
METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration", "LayoutCount",
           "RecalcStyleCount")
# the N slider: the app's in the lesson's row over the chart (ui.sidebar.lesson_settings), the plain page's: both key n
N_SLIDERS = ("[data-testid='stMain'] .st-key-n input[type='range']", ".st-key-n input[type='range']")
CHART = "[data-testid='stMain'] [data-testid='stPlotlyChart']"
CURVE_JS = f"""() => [...document.querySelectorAll("{CHART} path.js-line")].map(p => p.getAttribute('d')).join('|')"""
IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
  || !document.querySelector('[data-testid="stStatusWidget"]').innerText.includes('Running')"""
CENSUS_JS = """() => {
  const all = [...document.querySelectorAll('*')];
  const byTestId = {};
  for (const e of all) if (e.dataset.testid) byTestId[e.dataset.testid] = (byTestId[e.dataset.testid] || 0) + 1;
  const hidden = all.filter(e => e.dataset.testid === 'stElementContainer' && e.offsetParent === null).length;
  const rules = [...document.styleSheets].reduce((n, s) => { try { return n + s.cssRules.length } catch { return n } }, 0);
  return {elements: all.length, styles: document.querySelectorAll('style').length, cssRules: rules,
          hiddenContainers: hidden, svgElements: document.querySelectorAll('svg *').length,
          top: Object.entries(byTestId).sort((a, b) => b[1] - a[1]).slice(0, 12)};
}"""


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of a process, in clock ticks; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return sum(int(v) for v in f.read().rsplit(")", 1)[1].split()[11:15])
    except OSError:
        return 0


def cpu_seconds(server_pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far: each server's Streamlit process (`<kind> server`), the processes under it (`<kind>
    workers`: the forkserver and its workers), and Chromium (`browser`: every process named chromium)."""
    tick = os.sysconf("SC_CLK_TCK")
    chromium = 0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().startswith("chromium"):
                    chromium += _cpu_ticks(int(entry))
        except OSError:
            continue
    out = {"browser": chromium / tick}
    for kind, root in server_pids.items():
        out[f"{kind} server"] = _cpu_ticks(root) / tick
        out[f"{kind} workers"] = sum(_cpu_ticks(pid) for pid in process_tree(root)[1:]) / tick
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(script: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MNIST_ROOT": str(ROOT.parent / "shared" / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"{script}: the server did not become healthy in 90 s")


async def metrics(cdp) -> dict[str, float]:
    found = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    return {name: found.get(name, 0.0) for name in METRICS + ("Nodes",)}


async def until_drawn(page, before: str | None, timeout_s: float) -> None:
    """Until the chart shows a curve (other than `before`) and the script run is over."""
    await page.wait_for_function(f"before => {{ const now = ({CURVE_JS})(); return now && now !== before; }}",
                                 arg=before, timeout=timeout_s * 1000)
    await page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000)


async def load(context, url: str, timeout_s: float):
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    start = time.perf_counter()
    await page.goto(url)
    await until_drawn(page, None, timeout_s)
    return page, cdp, time.perf_counter() - start


async def move_n(page, steps: int, timeout_s: float) -> float:
    """Move N up by `steps` in one press sequence (the thumb's value first, then one committing key press)."""
    main, sidebar = (page.locator(css) for css in N_SLIDERS)
    slider = main if await main.count() else sidebar
    before = await page.evaluate(CURVE_JS)
    value = int(await slider.input_value())
    if steps > 1:
        await slider.fill(str(value + steps - 1))   # moves the thumb without sending a rerun
    start = time.perf_counter()
    await slider.press("ArrowRight")
    await until_drawn(page, before, timeout_s)
    return time.perf_counter() - start


async def one_student(browser, kind: str, url: str, moves: int, offset: int, timeout_s: float) -> dict:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page, cdp, load_s = await load(context, url, timeout_s)
        loaded = await metrics(cdp)
        census = await page.evaluate(CENSUS_JS)
        move_s = [await move_n(page, offset if i == 0 else 1, timeout_s) for i in range(moves)]
        moved = await metrics(cdp)
        per_move = {name: (moved[name] - loaded[name]) / moves for name in METRICS}
        per_move["Nodes"] = moved["Nodes"]
        return {"load_s": load_s, "move_s": move_s, "load_metrics": loaded, "move_metrics": per_move,
                "census": census}
    finally:
        await context.close()


async def classroom(browser, url: str, students: int, offset: int, timeout_s: float) -> dict:
    async def student(i: int) -> float:
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            start = time.perf_counter()
            page, _, _ = await load(context, url, timeout_s)
            await move_n(page, offset + i, timeout_s)   # each student its own N
            return time.perf_counter() - start
        finally:
            await context.close()

    start = time.perf_counter()
    times = await asyncio.gather(*(student(i) for i in range(students)))
    return {"median_s": statistics.median(times), "wall_s": time.perf_counter() - start}


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def report(runs: dict[str, list[dict]], classes: dict[str, list[dict]], students: int) -> None:
    def line(what: str, app: float, plain: float, unit: str = "s") -> None:
        ratio = f"{app / plain:>7.2f}x" if plain else f"{'—':>8}"   # the plain page has no workers
        print(f"{what:<34} {app:>10.3f} {plain:>10.3f} {ratio}  {unit}")

    print(f"\n{'':<34} {'app':>10} {'plain':>10} {'ratio':>8}")
    line("first page load (median)", median([r["load_s"] for r in runs["app"]]),
         median([r["load_s"] for r in runs["plain"]]))
    line("N slider -> new chart (median)", median([m for r in runs["app"] for m in r["move_s"]]),
         median([m for r in runs["plain"] for m in r["move_s"]]))
    line(f"{students} students: median student", median([c["median_s"] for c in classes["app"]]),
         median([c["median_s"] for c in classes["plain"]]))
    line(f"{students} students: the whole class", median([c["wall_s"] for c in classes["app"]]),
         median([c["wall_s"] for c in classes["plain"]]))
    print(f"\nCPU seconds over one class of {students} (median), the cores' two shares: the page's server and browser")
    for part in ("server", "workers", "browser"):
        line(f"  {part}", median([c["cpu"][part] for c in classes["app"]]),
             median([c["cpu"][part] for c in classes["plain"]]))
    for phase in ("load_metrics", "move_metrics"):
        print(f"\nChrome's metrics, {'per page load' if phase == 'load_metrics' else 'per move'} (median)")
        for name in METRICS + ("Nodes",):
            unit = "s" if name.endswith("Duration") else ""
            line(f"  {name}", median([r[phase][name] for r in runs["app"]]),
                 median([r[phase][name] for r in runs["plain"]]), unit)
    for kind in ("app", "plain"):
        census = runs[kind][-1]["census"]
        print(f"\n{kind}: {census['elements']} elements ({census['svgElements']} inside SVG), {census['styles']} "
              f"<style> ({census['cssRules']} CSS rules), {census['hiddenContainers']} hidden element containers")
        print("  by test id: " + ", ".join(f"{name} {count}" for name, count in census["top"]))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--moves", type=int, default=3, help="N moves per single student")
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=300, help="seconds one load or move may take")
    args = parser.parse_args()
    from playwright.async_api import async_playwright

    servers = {kind: start_server(script) for kind, (script, _) in PAGES.items()}
    urls = {kind: f"{servers[kind][1]}/{path}" for kind, (_, path) in PAGES.items()}
    pids = {kind: servers[kind][0].pid for kind in PAGES}
    runs: dict[str, list[dict]] = {kind: [] for kind in PAGES}
    classes: dict[str, list[dict]] = {kind: [] for kind in PAGES}
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for kind in PAGES:   # a warm visit each: the first visitor of a server meets its start-up
                await one_student(browser, kind, urls[kind], 1, 1, args.timeout)
            # every move a new N: each run of each page starts past the values earlier runs used
            offset = 2
            for repeat in range(args.repeats):
                order = list(PAGES) if repeat % 2 == 0 else list(reversed(PAGES))
                for kind in order:
                    result = await one_student(browser, kind, urls[kind], args.moves, offset, args.timeout)
                    runs[kind].append(result)
                    print(f"repeat {repeat + 1} {kind:>5}: load {result['load_s']:.2f} s, moves "
                          + ", ".join(f"{m:.2f}" for m in result["move_s"]) + " s", flush=True)
                for kind in order:
                    before = cpu_seconds(pids)
                    result = await classroom(browser, urls[kind], args.students, offset + args.moves + 1,
                                             args.timeout)
                    after = cpu_seconds(pids)
                    result["cpu"] = {"server": after[f"{kind} server"] - before[f"{kind} server"],
                                     "workers": after[f"{kind} workers"] - before[f"{kind} workers"],
                                     "browser": after["browser"] - before["browser"]}
                    classes[kind].append(result)
                    print(f"repeat {repeat + 1} {kind:>5}: {args.students} students, median "
                          f"{result['median_s']:.2f} s, class {result['wall_s']:.2f} s", flush=True)
                offset += args.moves + args.students + 2
            await browser.close()
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=20)
    report(runs, classes, args.students)


if __name__ == "__main__":
    asyncio.run(main())
