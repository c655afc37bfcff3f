"""Start the dashboard's Streamlit server warm, then serve: `python scripts/launch.py [streamlit run options]`.

Streamlit runs app.py only when a visitor connects, so a plain `streamlit run app.py` makes its first visitor wait
for torch, pandas and plotly to import and for the training workers to start. This imports what the pages import,
starts the worker pool and measures this server's speed (lib.serve.limits) first, then hands over to `streamlit run`
in this same process; its health check (/_stcore/health) answers only once all that is done.
"""
import gc
import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def warm() -> None:
    import ui.stage_page   # noqa: F401  torch, pandas, plotly and lib, as the first page would import them
    from ui import runs
    runs.server_speed()   # starts the workers (a forkserver that has imported torch) and calibrates (TRAIN_WORKERS=0: here)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    warm()
    # what start-up imported lives as long as the server: out of the collector's sight, so that the collections
    # Python runs while serving walk only the objects made since (measured: bench/load.py CPU per rerun)
    gc.freeze()
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
