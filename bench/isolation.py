"""One student opens the costliest links the app accepts while another moves a slider on a stage page.

For each costly link, on one fresh server (scripts/launch.py on 127.0.0.1, as scripts/run.sh starts it):
  1. student B opens /tensors and moves the N slider --samples times alone: the baseline time-to-result (median);
  2. student A opens the costly link; 0.5 s later B moves N again (as many times, one after another, to values
     that interleave with the first ones), and we take B's median time-to-result while A's page is still
     running, and the time A's page takes to finish.
Targets (issue "Serve a whole class"): A's page ends (a result or the time-limit message) within 30 s; B's rerun
during it takes at most 1.5x its baseline. Both clients speak Streamlit's websocket protocol (bench/load.py's
light client), so the load generator leaves the cores to the server. Bounded: at most --budget s in all.

Run from the repository root: python bench/isolation.py
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (bench/load.py: the server wrapper and the light client)

COSTLY = [
    ("the issue's link: DynamicNet, thin input, wide hidden, 1093 steps", "dynamic_net",
     "n=1024&d_in=1&hidden=1024&d_out=1&steps=1093"),
    ("DynamicNet, every size at its cap, float64, 2000 steps", "dynamic_net",
     "n=1024&d_in=2048&hidden=1024&d_out=256&steps=2000&dtype=float64"),
    ("Compare: all seven stages, every size at its cap, float64", "compare",
     "n=1024&d_in=2048&hidden=1024&d_out=256&steps=2000&dtype=float64"),
    ("lr sweep: 8 runs, every size at its cap, float64", "experiments",
     "n=1024&d_in=2048&hidden=1024&d_out=256&steps=2000&dtype=float64"),
]
TARGET_COSTLY_S, TARGET_RATIO = 30.0, 1.5


class Visitor(load.LightSession):
    async def open(self, page: str, query: str, deadline: float) -> load.Run:
        msg = load.BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        await self.ws.send(msg.SerializeToString())
        return await self.until_finished(deadline)


async def slider_times(student: Visitor, values: list[int], timeout_s: float) -> list[float]:
    times = []
    for n in values:
        start = time.monotonic()
        await student.rerun(page_hash=student.page_hash, widget=(student.n_slider_id, n),
                            fragment_id=student.n_slider_fragment)   # the lesson's row: a rerun of its fragment
        run = await student.until_finished(start + timeout_s, fragment=bool(student.n_slider_fragment))
        problem = run.problem(n)
        if problem:
            raise RuntimeError(f"student B at N={n}: {problem}")
        times.append(time.monotonic() - start)
    return times


async def scenario(url: str, label: str, page: str, query: str, values: iter, timeout_s: float,
                   samples: int) -> dict:
    student_b = Visitor(url, "tensors", timeout_s)
    await student_b.connect()
    await student_b.open("tensors", "", time.monotonic() + timeout_s)
    # a larger N trains longer: B's values alone and during interleave (N, N+2, ... and N+1, N+3, ...), so neither
    # set is the larger one (each value is new, so no rerun is answered from the cache)
    drawn = [next(values) for _ in range(2 * samples)]
    baseline = await slider_times(student_b, drawn[0::2], timeout_s)
    student_a = Visitor(url, page, timeout_s)
    await student_a.connect()
    start = time.monotonic()
    costly = asyncio.create_task(student_a.open(page, query, start + timeout_s))
    await asyncio.sleep(0.5)
    during = await slider_times(student_b, drawn[1::2], timeout_s)
    b_done = time.monotonic()
    run = await costly
    costly_s = time.monotonic() - start
    await student_a.close()
    await student_b.close()
    return {"label": label, "costly_s": costly_s, "status": "ok" if run.status == load.FINISHED_OK and
            not run.exceptions else f"status {run.status} {run.exceptions[:1]}", "baseline": baseline,
            "during": during, "overlapped": b_done < start + costly_s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--samples", type=int, default=5,
                    help="B's slider reruns alone, and as many during the costly page (medians compared)")
    ap.add_argument("--budget", type=float, default=600.0, help="seconds for the whole benchmark")
    args = ap.parse_args()
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    load.BackMsg, load.ForwardMsg = BackMsg, ForwardMsg
    server = load.Server(Path("/tmp/isolation-server.log"))
    rows, ok = [], True
    started = time.monotonic()
    try:
        server.wait_healthy(120)
        values = iter(range(20, 1024))
        for label, page, query in COSTLY:
            if time.monotonic() - started > args.budget:
                print(f"skipped (over the budget): {label}")
                continue
            rows.append(asyncio.run(scenario(server.url, label, page, query, values, args.timeout,
                                              args.samples)))
            print(f"  {label}: done", flush=True)
    finally:
        server.stop()
    print("\n| costly link | its page ends s | B alone s (median) | B during it s (median) | ratio | B overlapped |")
    print("|---|---:|---:|---:|---:|---|")
    for r in rows:
        alone, during = statistics.median(r["baseline"]), statistics.median(r["during"])
        ratio = during / alone
        passed = r["costly_s"] <= TARGET_COSTLY_S and ratio <= TARGET_RATIO and r["status"] == "ok"
        ok &= passed
        print(f"| {r['label']} ({r['status']}) | {r['costly_s']:.1f} | {alone:.2f} | {during:.2f} | {ratio:.2f} | "
              f"{'yes' if r['overlapped'] else 'no'} |")
    print(f"\ntargets: the costly page ends within {TARGET_COSTLY_S:.0f} s; B's rerun during it <= {TARGET_RATIO}x "
          f"alone. {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
