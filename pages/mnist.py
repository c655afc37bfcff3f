"""MNIST: the tutorial's TwoLayerNet (and a small CNN) trained on real handwritten digits."""
import time
from dataclasses import replace

import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas
import torch

from lib.digits import mnist_data, mnist_gradients, mnist_models, mnist_training, mnist_uploads

from lib.serve import jobs, workers
from lib.figures import mnist_plots as plots
from lib.text.numbers import lr_text
from lib.tutorial.optimizers import OPTIMIZERS
from ui.frame import ensure_app_frame, kept_tabs
from ui.links import keep_choice, linked_choice, lr_value, one_of, say_ignored_keys, whole_number, with_value
from ui.mnist_inside_view import LINK_KEYS as INSIDE_KEYS, inside_sections
from ui.results import source_of
from ui import board
from ui.runs import REDRAW_S, get_many, run_failed_message
from ui.text import lang, optimizer_label, t

LR_VALUES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
HIDDEN_SIZES = [16, 32, 64, 100, 128, 256, 512, 1024]
MOMENTA = [0.0, 0.5, 0.9, 0.95, 0.99]
SAMPLE_DIGITS = 24
# one 1280x720 screen holds the form with the curves under it, and the canvas with its prediction beside it
CURVE_HEIGHT = 290
PREDICTION_HEIGHT = 280   # the canvas's own height


@st.cache_resource(show_spinner=False)
def load_data(root: str) -> mnist_data.MnistData:
    return mnist_data.load_mnist(root)


def description(data: mnist_data.MnistData) -> str:
    return t(f"mnist.data.{data.source}", n_train=len(data.train_labels), n_test=len(data.test_labels))


ensure_app_frame()
st.title(t("mnist.title"))
st.write(t("mnist.intro"))

root = mnist_data.data_root()
try:
    with st.spinner(t("mnist.loading")):
        data = load_data(str(root))
except mnist_data.MnistDataError as err:
    st.error(t("mnist.no_data", err=err, env=mnist_data.ROOT_ENV))
    st.stop()

st.info(t("mnist.data", description=description(data)))

with st.expander(t("mnist.sample"), expanded=False):
    sample = mnist_data.denormalise(data.train_images[:SAMPLE_DIGITS, 0])
    st.plotly_chart(plots.digit_grid(sample, [t("mnist.label", digit=int(y)) for y in data.train_labels[:SAMPLE_DIGITS]],
                                     title=t("mnist.sample")),
                    key="mnist_sample_grid")

# ---------------------------------------------------------------- controls
# the form's settings live in the URL like the sidebar's: a link opens the same form (the model trains on Train);
# each model starts from its own recipe (mnist_models.MODEL_DEFAULTS), which choosing the model puts in the form
FORM = {"m_hidden": ("mnist_hidden", "hidden", one_of(*HIDDEN_SIZES)),
        "m_optimizer": ("mnist_optimizer", "optimizer", one_of(*OPTIMIZERS)),
        "m_lr": ("mnist_lr", "lr", lr_value(mnist_models.LR_CAP)),
        "m_schedule": ("mnist_schedule", "schedule", one_of(*mnist_models.SCHEDULES)),
        "m_momentum": ("mnist_momentum", "momentum", one_of(*MOMENTA)),
        "m_batch": ("mnist_batch_size", "batch_size", one_of(*BATCH_SIZES)),
        "m_epochs": ("mnist_epochs", "epochs", whole_number(1, 10)),
        "m_seed": ("mnist_seed", "seed", whole_number(0, 2**31 - 1))}
RECIPE = ("optimizer", "lr", "schedule", "momentum", "batch_size")   # what choosing a model resets
LINK_KEYS = {"model", *FORM, *INSIDE_KEYS}   # what this page reads from a link


def use_model_recipe() -> None:
    """The chosen model's own recipe in the form (H, epochs and seed stay as they were)."""
    defaults = mnist_models.default_config(st.session_state["mnist_model"])
    for key, field, _ in FORM.values():
        if field in RECIPE:
            st.session_state[key] = getattr(defaults, field)


def recipe_text(model: str) -> str:
    d = mnist_models.default_config(model)
    return t("mnist_schedule.recipe", model=t(f"mnist.model.{model}"), optimizer=optimizer_label(d.optimizer),
             lr=lr_text(d.lr), batch_size=d.batch_size, schedule=t(f"mnist_schedule.{d.schedule}"))


say_ignored_keys(LINK_KEYS)
st.session_state["entered_from_link"] = st.session_state.get("mnist_entered") is None
st.session_state["mnist_entered"] = True
st.session_state.setdefault("mnist_model", mnist_models.MODELS[0])
linked_choice("model", "mnist_model", one_of(*mnist_models.MODELS))
defaults = mnist_models.default_config(st.session_state["mnist_model"])   # what a link leaves out is this model's
for url_key, (key, field, parse) in FORM.items():
    st.session_state.setdefault(key, getattr(defaults, field))
    linked_choice(url_key, key, parse)
models = {name: t(f"mnist.model.{name}") for name in mnist_models.MODELS}
model = st.radio(t("mnist.model"), list(models), format_func=models.get, key="mnist_model", horizontal=True,
                 on_change=use_model_recipe)
st.caption(t("mnist_schedule.recipes", recipes="  \n".join(recipe_text(name) for name in mnist_models.MODELS)))
with st.form("mnist_form"):
    left, middle, right = st.columns(3)
    hidden = left.select_slider(t("mnist.hidden"), HIDDEN_SIZES, key="mnist_hidden")
    optimizer = left.selectbox(t("mnist.optimizer"), list(OPTIMIZERS),
                               format_func={name: optimizer_label(name) for name in OPTIMIZERS}.get,
                               key="mnist_optimizer")
    lr = middle.select_slider(t("mnist.lr"), with_value(LR_VALUES, "mnist_lr"), format_func=lr_text, key="mnist_lr")
    schedules = {name: t(f"mnist_schedule.{name}") for name in mnist_models.SCHEDULES}
    schedule = middle.radio(t("mnist_schedule.label"), list(schedules), format_func=schedules.get, key="mnist_schedule",
                            horizontal=True, help=t("mnist_schedule.help", start=mnist_models.ONE_CYCLE_START,
                                   rise=f"{mnist_models.ONE_CYCLE_RISE:.0%}",
                                   end=f"{mnist_models.ONE_CYCLE_START * mnist_models.ONE_CYCLE_END:,.0f}"))
    momentum = middle.select_slider(t("mnist.momentum"), MOMENTA, key="mnist_momentum")
    batch_size = right.select_slider(t("mnist.batch_size"), BATCH_SIZES, key="mnist_batch_size")
    epochs = right.slider(t("mnist.epochs"), 1, 10, key="mnist_epochs")
    seed = right.number_input(t("mnist.seed"), 0, 2**31 - 1, step=1, key="mnist_seed")
    train_pressed = st.form_submit_button(t("mnist.train"), type="primary", key="mnist_train")
keep_choice("model", st.session_state["mnist_model"])
for url_key, (key, _, _) in FORM.items():
    keep_choice(url_key, st.session_state[key])

if train_pressed:
    try:
        config = mnist_models.MnistConfig(model=model, hidden=int(hidden), optimizer=optimizer, lr=float(lr),
                                          momentum=float(momentum), batch_size=int(batch_size), epochs=int(epochs),
                                          seed=int(seed), schedule=schedule)
    except ValueError as err:
        st.error(t("mnist.cant_train", err=err))
        st.stop()
    bar = st.progress(0.0, text=t("mnist.training"))
    shown = {"percent": -1, "fraction": 0.0, "text": t("progress.waiting"), "drawn": 0.0}
    progress_text, accuracy_text = t("mnist.progress"), t("mnist.progress_accuracy")

    def on_message(index: int, message) -> None:
        """Progress from the worker; a tick (None) redraws the bar so a rerun can interrupt the wait."""
        if message is None or message[0] != "mnist":
            if time.monotonic() - shown["drawn"] > REDRAW_S:
                shown["drawn"] = time.monotonic()
                bar.progress(shown["fraction"], text=shown["text"])
            return
        p = message[1]
        percent = int(100 * p.step / p.total_steps)
        if percent != shown["percent"] or p.test_accuracy is not None:   # at most ~100 redraws per run
            shown["percent"], shown["fraction"], shown["drawn"] = percent, p.step / p.total_steps, time.monotonic()
            accuracy = accuracy_text.format(accuracy=p.test_accuracy) if p.test_accuracy is not None else ""
            shown["text"] = progress_text.format(epoch=p.epoch, epochs=p.epochs, loss=p.loss) + accuracy
            bar.progress(shown["fraction"], text=shown["text"])

    # trained in a worker process; the same settings asked for by several students train once
    trained = get_many([(jobs.mnist, (config, data.root))], on_message=on_message)[0]
    bar.empty()
    if isinstance(trained, workers.RunFailed):
        st.error(run_failed_message(trained), icon=":material/timer_off:")
        st.stop()
    result = replace(trained.result, model=trained.model())
    board.post_mnist_run(config, trained.result)   # to the class board, when in a class
    st.session_state["mnist_run"] = {"result": result, "report": trained.report,
                                     "gradients": trained.gradients, "data_root": data.root,
                                     "state": trained.state, "panel": trained.panel}

run = st.session_state.get("mnist_run")
if run is None or run["data_root"] != data.root:
    st.caption(t("mnist.press_train"))
    st.stop()

result, report = run["result"], run["report"]
config = result.config

# ---------------------------------------------------------------- results
def lr_path_text(lrs: list[float]) -> str:
    """The learning rate each batch was trained with, in one sentence: constant, or where it rose and fell."""
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    if min(lrs) == lrs[peak]:
        return t("mnist_schedule.ran_constant", lr=lr_text(lrs[0]), batches=f"{len(lrs):,}")   # the lr chosen
    return t("mnist_schedule.ran_cycle", first=f"{lrs[0]:.1e}", peak=f"{lrs[peak]:.1e}", peak_batch=f"{peak + 1:,}",
             last=f"{lrs[-1]:.1e}", batches=f"{len(lrs):,}")


if result.time_limited_at is not None:
    st.warning(t("mnist.time_limited", batches=result.time_limited_at, limit=workers.time_limit_s(),
                 epochs=result.history[-1]["epoch"] if result.history else 0), icon=":material/timer:")
if result.diverged_at is not None:
    st.warning(t("mnist.stopped", batch=result.diverged_at, reason=t(result.divergence_reason, loss=result.stop_loss)))
# the curves right under the form (one screen with it), the numbers under them
left, right = st.columns(2)
left.plotly_chart(plots.loss_curves(result, lang=lang()), key="mnist_loss_chart", height=CURVE_HEIGHT)
right.plotly_chart(plots.accuracy_curve(result, lang=lang()), key="mnist_accuracy_chart", height=CURVE_HEIGHT)
st.caption(t("mnist.trained_on", description=description(data)))
cols = st.columns(4)
cols[0].metric(t("mnist.metric.accuracy"), f"{report.accuracy:.2%}")
cols[1].metric(t("mnist.metric.loss"), f"{result.history[-1]['test_loss']:.4f}" if result.history else "–")
cols[2].metric(t("mnist.metric.time"), f"{result.elapsed_s:.1f} s")
cols[3].metric(t("mnist.metric.batches"), f"{len(result.batch_losses):,}")
if result.batch_lrs:
    st.caption(lr_path_text(result.batch_lrs))
history = result.history_frame
formats = {"epoch": "{}", "train_loss": "{:.4f}", "test_loss": "{:.4f}", "test_accuracy": "{:.2%}",
           "elapsed_s": "{:.1f}"}
history = history.rename(columns={name: t(f"mnist.column.{name}") for name in history.columns})
st.dataframe(history.style.format({t(f"mnist.column.{name}"): spec for name, spec in formats.items()}),
             hide_index=True)

left, right = st.columns(2)
left.plotly_chart(plots.confusion_heatmap(report.confusion, lang=lang()), key="mnist_confusion")
right.plotly_chart(plots.per_class_bar(report.per_class, lang=lang()), key="mnist_per_class")

st.subheader(t("mnist.mistakes"))
if report.mistakes:
    wrong = torch.tensor([m.index for m in report.mistakes])
    st.plotly_chart(plots.digit_grid(mnist_data.denormalise(data.test_images[wrong, 0]),
                                     [f"{m.true}→{m.predicted} ({m.confidence:.0%})" for m in report.mistakes]),
                    key="mnist_mistakes")
    st.caption(t("mnist.mistakes_caption"))
else:
    st.success(t("mnist.no_mistakes"))

# ---------------------------------------------------------------- hand-written vs autograd
st.subheader(t("mnist.grad_header"))
if run["gradients"] is None:
    st.caption(t("mnist.grad_mlp_only"))
else:
    st.write(t("mnist.grad_intro", batch_size=config.batch_size))
    table = run["gradients"].copy()
    table["within_tol"] = table["within_tol"].map({True: "✓", False: "✗"})
    numbers = ["manual_norm", "autograd_norm", "max_abs_diff", "rel_error", "cosine", "fd_rel_error"]
    table = table.rename(columns={"within_tol": t("column.match"), "parameter": t("column.parameter"),
                                  "shape": t("column.shape"), **{name: t(f"column.{name}") for name in numbers}})
    st.dataframe(table.style.format({t(f"column.{name}"): "{:.3e}" for name in numbers}), hide_index=True,
                 key="mnist_gradients")
    st.caption(t("mnist.fd_caption"))
    with st.expander(t("mnist.backward_source")):
        st.code(source_of(mnist_gradients.manual_mlp_grads), language="python")

with st.expander(t("mnist.loop_source")):
    st.code(source_of(mnist_training.train_mnist), language="python")

# ---------------------------------------------------------------- your own digit
def show_prediction(digit, key: str) -> None:
    """The 28×28 digit the model sees and its predicted probabilities."""
    probabilities = mnist_uploads.predict_digit(result.model, digit)
    left, right = st.columns([1, 2])
    left.plotly_chart(plots.digit_image(digit, lang=lang()), key=f"{key}_digit", height=PREDICTION_HEIGHT)
    right.plotly_chart(plots.probability_bar(probabilities, lang=lang()), key=f"{key}_probabilities",
                       height=PREDICTION_HEIGHT)
    digit_col, probability_col = t("mnist_plot.digit"), t("mnist_plot.probability")
    with st.expander(t("mnist_layout.probability_table")):   # the bars' numbers, for whoever wants them
        st.dataframe(pd.DataFrame({digit_col: range(mnist_data.CLASSES), probability_col: probabilities.tolist()})
                     .style.format({probability_col: "{:.2%}"}), hide_index=True, key=f"{key}_table")


CANVAS_KEY = "mnist_canvas"


def keep_drawing() -> None:
    """The canvas's strokes, kept in session_state and given back as its initial drawing on every run: the
    drawing survives the reruns its own strokes cause (and a remount), and stays until "Clear" is pressed."""
    state = st.session_state.get(f"{CANVAS_KEY}_{st.session_state.get('mnist_canvas_generation', 0)}") or {}
    drawing = state.get("drawing") or {}
    if drawing.get("raw") is not None:
        st.session_state["mnist_drawing"] = drawing["raw"]


def clear_drawing() -> None:
    st.session_state.pop("mnist_drawing", None)
    # a fresh canvas: a new key mounts an empty one
    st.session_state["mnist_canvas_generation"] = st.session_state.get("mnist_canvas_generation", 0) + 1


def upload_error_text(err: mnist_uploads.UploadError) -> str:
    return t(err.code, **err.values)


st.subheader(t("mnist.upload_header"))
own_digit = None   # the digit drawn or uploaded on this run, for "inside the model" below
draw_tab, upload_tab = kept_tabs("mnist_tab", ["draw", "upload"], "mnist.tab")
with draw_tab:
    st.write(t("mnist.draw_intro"))
    generation = st.session_state.get("mnist_canvas_generation", 0)
    canvas_col, prediction_col = st.columns([1, 2])   # the canvas and what the model makes of it, side by side
    with canvas_col:
        drawing = st_canvas(stroke_width=18, stroke_color="#000000", background_color="#FFFFFF",
                            height=PREDICTION_HEIGHT, width=PREDICTION_HEIGHT, drawing_mode="freedraw",
                            return_image_data=True, initial_drawing=st.session_state.get("mnist_drawing"),
                            key=f"{CANVAS_KEY}_{generation}", on_change=keep_drawing)
        strokes = (drawing.json_data or {}).get("objects") if drawing is not None else None
        st.button(t("mnist.clear_drawing"), key="mnist_clear", on_click=clear_drawing, icon=":material/ink_eraser:",
                  disabled=not strokes)
    if strokes and drawing.image_bytes:
        with prediction_col:
            try:   # the drawing goes through the same checks and conversion as an upload
                digit = mnist_uploads.digit_from_upload(drawing.image_bytes)
            except mnist_uploads.UploadError as err:
                st.warning(t("mnist.draw_error", err=upload_error_text(err)))
            else:
                show_prediction(digit, "mnist_drawn")
                st.caption(t("mnist.strokes", strokes=len(strokes)))
                own_digit = digit
with upload_tab:
    st.write(t("mnist.upload_intro"))
    upload = st.file_uploader(t("mnist.upload"), type=["png", "jpg", "jpeg"], key="mnist_upload",
                              max_upload_size=mnist_uploads.MAX_UPLOAD_BYTES // 2**20)
    if upload is not None:
        try:
            if upload.size > mnist_uploads.MAX_UPLOAD_BYTES:
                raise mnist_uploads.UploadError("upload.too_big", size=upload.size / 2**20,
                                                limit=mnist_uploads.MAX_UPLOAD_BYTES / 2**20)
            digit = mnist_uploads.digit_from_upload(upload.getvalue())
        except mnist_uploads.UploadError as err:
            st.error(t("mnist.upload_error", err=upload_error_text(err)))
        else:
            show_prediction(digit, "mnist_upload")
            own_digit = digit

inside_sections(run, data, own_digit)
