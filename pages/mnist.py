"""MNIST: the tutorial's TwoLayerNet (and a small CNN) trained on real handwritten digits."""
import inspect

import pandas as pd
import streamlit as st
import torch

from lib import mnist
from lib import mnist_plots as plots
from lib.optimizers import OPTIMIZERS
from pages.common import ensure_app_frame

LR_VALUES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
HIDDEN_SIZES = [16, 32, 64, 100, 128, 256, 512, 1024]
MOMENTA = [0.0, 0.5, 0.9, 0.95, 0.99]
SAMPLE_DIGITS = 24


@st.cache_resource(show_spinner="Loading MNIST into memory…")
def load_data(root: str) -> mnist.MnistData:
    return mnist.load_mnist(root)


ensure_app_frame()
st.title("MNIST: the tutorial's network on real digits")
st.write("The same two-layer network as the tutorial, with D_IN = 784 pixels and D_OUT = 10 digits, now "
         "trained with cross-entropy on handwritten digits held in memory as tensors.")

root = mnist.data_root()
try:
    data = load_data(str(root))
except mnist.MnistDataError as err:
    st.error(f"**The MNIST data could not be loaded.** {err}\n\nWhat to do: ask whoever runs this server to "
             f"put the files there (or point `{mnist.ROOT_ENV}` at a folder that has them) and restart it. "
             f"The other pages do not need this data and keep working.")
    st.stop()

st.info(f"Data: {data.description}.")

with st.expander("Sample of the training digits", expanded=False):
    sample = mnist.denormalise(data.train_images[:SAMPLE_DIGITS, 0])
    st.plotly_chart(plots.digit_grid(sample, [f"label {int(y)}" for y in data.train_labels[:SAMPLE_DIGITS]]),
                    key="mnist_sample_grid")

# ---------------------------------------------------------------- controls
defaults = mnist.MnistConfig()
with st.form("mnist_form"):
    left, middle, right = st.columns(3)
    model = left.radio("Model", list(mnist.MODELS), format_func=mnist.MODELS.get, key="mnist_model")
    hidden = left.select_slider("Hidden units H", HIDDEN_SIZES, value=defaults.hidden, key="mnist_hidden")
    optimizer = middle.selectbox("Optimizer", list(OPTIMIZERS), index=list(OPTIMIZERS).index(defaults.optimizer),
                                 format_func=lambda name: OPTIMIZERS[name].label, key="mnist_optimizer")
    lr = middle.select_slider("Learning rate (log scale)", LR_VALUES, value=defaults.lr,
                              format_func=lambda v: f"{v:.0e}", key="mnist_lr")
    momentum = middle.select_slider("Momentum (SGD with momentum, RMSprop)", MOMENTA, value=defaults.momentum,
                                    key="mnist_momentum")
    batch_size = right.select_slider("Batch size", BATCH_SIZES, value=defaults.batch_size, key="mnist_batch_size")
    epochs = right.slider("Epochs", 1, 10, defaults.epochs, key="mnist_epochs")
    seed = right.number_input("Seed", 0, 2**31 - 1, defaults.seed, step=1, key="mnist_seed")
    train_pressed = st.form_submit_button("Train", type="primary", key="mnist_train")

if train_pressed:
    try:
        config = mnist.MnistConfig(model=model, hidden=int(hidden), optimizer=optimizer, lr=float(lr),
                                   momentum=float(momentum), batch_size=int(batch_size), epochs=int(epochs),
                                   seed=int(seed))
    except ValueError as err:
        st.error(f"These settings cannot be trained: {err}")
        st.stop()
    bar = st.progress(0.0, text="Training…")
    shown = {"percent": -1}

    def on_progress(p: mnist.Progress) -> None:
        percent = int(100 * p.step / p.total_steps)
        if percent != shown["percent"] or p.test_accuracy is not None:   # at most ~100 redraws per run
            shown["percent"] = percent
            accuracy = f" · held-out accuracy {p.test_accuracy:.1%}" if p.test_accuracy is not None else ""
            bar.progress(p.step / p.total_steps,
                         text=f"epoch {p.epoch}/{p.epochs} · batch loss {p.loss:.3f}{accuracy}")

    result = mnist.train_mnist(data, config, on_progress)
    bar.empty()
    gradients = None
    if config.model == "mlp":
        batch = slice(0, config.batch_size)
        gradients = mnist.mlp_gradient_table(result.model, data.train_images[batch], data.train_labels[batch])
    st.session_state["mnist_run"] = {"result": result, "report": mnist.report(result.model, data),
                                     "gradients": gradients, "data_root": data.root}

run = st.session_state.get("mnist_run")
if run is None or run["data_root"] != data.root:
    st.caption("Choose the settings and press **Train**: a few seconds for the MLP, a little longer for the CNN.")
    st.stop()

result, report = run["result"], run["report"]
config = result.config

# ---------------------------------------------------------------- results
if result.diverged_at is not None:
    st.warning(f"Training stopped at batch {result.diverged_at}: {result.divergence_reason}.")
st.caption(f"Trained on the {data.description}.")
cols = st.columns(4)
cols[0].metric("Held-out accuracy", f"{report.accuracy:.2%}")
cols[1].metric("Final held-out loss", f"{result.history[-1]['test_loss']:.4f}" if result.history else "–")
cols[2].metric("Training time", f"{result.elapsed_s:.1f} s")
cols[3].metric("Batches", f"{len(result.batch_losses):,}")

left, right = st.columns(2)
left.plotly_chart(plots.loss_curves(result), key="mnist_loss_chart")
right.plotly_chart(plots.accuracy_curve(result), key="mnist_accuracy_chart")
st.dataframe(result.history_frame.style.format({"train_loss": "{:.4f}", "test_loss": "{:.4f}",
                                                "test_accuracy": "{:.2%}", "elapsed_s": "{:.1f}"}),
             hide_index=True)

left, right = st.columns(2)
left.plotly_chart(plots.confusion_heatmap(report.confusion), key="mnist_confusion")
right.plotly_chart(plots.per_class_bar(report.per_class), key="mnist_per_class")

st.subheader("Held-out digits it gets wrong, most confident first")
if report.mistakes:
    wrong = torch.tensor([m.index for m in report.mistakes])
    st.plotly_chart(plots.digit_grid(mnist.denormalise(data.test_images[wrong, 0]),
                                     [f"{m.true}→{m.predicted} ({m.confidence:.0%})" for m in report.mistakes]),
                    key="mnist_mistakes")
    st.caption("Each title: true digit → predicted digit (the model's confidence in its wrong answer).")
else:
    st.success("No held-out digit is misclassified.")

# ---------------------------------------------------------------- hand-written vs autograd
st.subheader("Hand-written backward vs autograd, continued")
if run["gradients"] is None:
    st.caption("The hand-written backward covers the MLP (the tutorial's TwoLayerNet); train the MLP to see it.")
else:
    st.write("The tutorial's backward pass, with the squared error replaced by softmax + cross-entropy: "
             "`grad_logits = (softmax - onehot) / N`. Compared with autograd on one batch of "
             f"{config.batch_size} training digits at the trained weights, in float64.")
    table = run["gradients"].copy()
    table["allclose"] = table["allclose"].map({True: "✓", False: "✗"})
    numbers = ["manual_norm", "autograd_norm", "max_abs_diff", "rel_error", "cosine", "fd_rel_error"]
    st.dataframe(table.style.format({name: "{:.3e}" for name in numbers}), hide_index=True, key="mnist_gradients")
    st.caption("fd_rel_error: autograd vs central finite differences on a few sampled coordinates of each parameter.")
    with st.expander("The hand-written backward that ran"):
        st.code(inspect.getsource(mnist.manual_mlp_grads), language="python")

with st.expander("The training loop that ran"):
    st.code(inspect.getsource(mnist.train_mnist), language="python")

# ---------------------------------------------------------------- your own digit
st.subheader("Try your own digit")
st.write("Upload a photo or drawing of one digit (PNG or JPEG, at most 2 MB). It is turned into what MNIST "
         "looks like: grey, light ink on black, the digit's box scaled to 20 pixels and centred in 28×28 "
         "by its centre of mass. "
         "Nothing is stored.")
upload = st.file_uploader("Digit image", type=["png", "jpg", "jpeg"], key="mnist_upload",
                          max_upload_size=mnist.MAX_UPLOAD_BYTES // 2**20)
if upload is not None:
    try:
        if upload.size > mnist.MAX_UPLOAD_BYTES:
            raise mnist.UploadError(f"the file is {upload.size / 2**20:.1f} MB; the limit is "
                                    f"{mnist.MAX_UPLOAD_BYTES / 2**20:.0f} MB")
        digit = mnist.digit_from_upload(upload.getvalue())
    except mnist.UploadError as err:
        st.error(f"This upload cannot be read as a digit: {err}.")
    else:
        probabilities = mnist.predict_digit(result.model, digit)
        left, right = st.columns(2)
        left.plotly_chart(plots.digit_image(digit), key="mnist_upload_digit")
        right.plotly_chart(plots.probability_bar(probabilities), key="mnist_upload_probabilities")
        st.dataframe(pd.DataFrame({"digit": range(mnist.CLASSES), "probability": probabilities.tolist()})
                     .style.format({"probability": "{:.2%}"}), hide_index=True)
