"""Every piece of UI text, in English and Korean: one table per language, and `t` to look a text up.

English texts that lib/ code already holds beside what it describes (stage titles, presets, update rules, a few
notes) are read from there, so each English text has one home; their Korean lives here. Texts are
str.format templates, formatted only when values are given, so a text without values may hold braces (LaTeX).
"""
from __future__ import annotations

from lib.config import SAME_SETTINGS
from lib.gradients import RELU_TIES_NOTE
from lib.mnist import DESCRIPTIONS, MODELS
from lib.optim_internals import ALL, DIVERGED_NOTE, UPDATE_RULES
from lib.optimizers import OPTIMIZERS
from lib.presets import PRESETS
from lib.stages import STAGES

LANGUAGES = {"en": "English", "ko": "한국어"}   # code -> name in its own language, as the switch shows it
DEFAULT = "en"


def t(key: str, lang: str = DEFAULT, **values) -> str:
    """The text `key` in `lang`, its {placeholders} filled from `values`; a missing key is a KeyError."""
    text = TEXTS[lang][key]
    return text.format(**values) if values else text


# ---------------------------------------------------------------- English
EN: dict[str, str] = {
    # the frame
    "app.page_title": "Learning PyTorch with Examples",
    "app.heading": "**Learning PyTorch with Examples** · an interactive companion to the tutorial",
    "app.language": "Language",
    "app.error": "Something went wrong on this page. The other pages still work; try \"Reset to the tutorial's "
                 "values\" in the sidebar, or reload.",
    "app.error_details": "Details for the teacher",
    "nav.start": "Start",
    "nav.stages": "The tutorial, stage by stage",
    "nav.together": "Putting it together",
    "nav.home": "Home",
    "nav.compare": "Compare stages",
    "nav.optimizers": "Inside the optimizers",
    "nav.mnist": "MNIST: real digits",
    "nav.experiments": "Experiments",

    # the settings sidebar
    "settings.header": "Settings",
    "settings.reset": "Reset to the tutorial's values",
    "settings.n": "N: batch size",
    "settings.d_in": "D_IN: input size",
    "settings.hidden": "H: hidden size",
    "settings.d_out": "D_OUT: output size",
    "settings.steps": "steps",
    "settings.lr": "lr: learning rate (log scale)",
    "settings.optimizer": "optimizer",
    "settings.no_optimizer": "This stage updates the weights by hand (`w -= lr * grad`): the optimizer does not "
                             "apply.",
    "settings.momentum": "momentum",
    "settings.seed": "seed",
    "settings.dtype_help": "float64 makes hand-written and autograd gradients agree to ~1e-15 instead of ~1e-7.",
    "settings.cant_run": "These settings can't run: {err}",
    "settings.cant_run_page": "The settings in the sidebar can't run (the message there says why). Change them, "
                              "or press \"{reset}\".",
    "settings.link_problem": "This link's setting {problem}.",
    "settings.link": "Link to this setup",
    "settings.link_caption": "Anyone who opens it sees this page with these settings.",
    "describe.settings": "N={n}, D_IN={d_in}, H={hidden}, D_OUT={d_out} · lr={lr:.0e} · {steps} steps · "
                         "seed {seed} · {dtype} · update {update}",
    "describe.momentum": ", momentum {momentum:g}",
    "describe.by_hand": "by hand: w -= lr · grad",
    "progress.training": "Training",
    "progress.step": "{label}: step {step}/{steps}, loss {loss:.3g}",

    # a stage page
    "stage_page.settings_used": "Settings used: {settings}",
    "stage_page.break_relu": "Break MyReLU's backward: forget the `input < 0` mask",
    "stage_page.break_relu_help": "Training still runs with the wrong gradient; the comparison below turns red.",
    "source.expander": "The exact code that ran (from lib/, via inspect.getsource)",
    "metric.first_loss": "first loss",
    "metric.final_loss": "final loss",
    "metric.ratio": "final / first",
    "metric.time": "training time",
    "metric.time_help": "{ran} of {steps} steps ran",
    "divergence.message": "Training diverged at step {step}: {reason}. Training stopped there; the curve shows the "
                          "steps before it. The loss is a *sum* of squared errors over N×D_OUT = {numbers} numbers, "
                          "so its gradient grows with N and with the size of the weights; lr = {lr:.0e} is too "
                          "large a step here. Try a smaller lr, a smaller N, or press \"{reset}\".",
    "chart.log_y": "Log-scale loss axis",
    "chart.training_loss_of": "Training loss: {stage}",
    "history.this_run": "this run",
    "history.broken_suffix": " (broken MyReLU)",
    "history.broken": "broken MyReLU",
    "history.correct": "correct MyReLU",
    "history.overlay": "Overlay earlier runs of this session",
    "history.overlay_placeholder": "Choose runs to compare with this one",
    "history.clear": "Clear history",
    "downloads.header": "Take it with you",
    "downloads.losses": "Loss curves (CSV)",
    "downloads.gradients": "Gradient table (CSV)",
    "downloads.script": "This stage as a script (.py)",
    "downloads.caption": "The script is this stage's code with these settings filled in; `python {stage}.py` "
                         "reproduces these losses with plain PyTorch. Each chart's camera button saves a PNG.",
    "column.match": "match",
    "column.parameter": "parameter",
    "column.shape": "shape",
    "column.state": "state",
    "grad.header": "Hand-written vs autograd gradients",
    "grad.intro": "The **hand-written** gradient is the chain rule written out as in stage 1 (for `nn.Linear`: "
                  "`grad_W = grad_out.T @ input`, `grad_b = grad_out.sum(0)`); **autograd** is `loss.backward()` "
                  "through this stage's own code. `rel_error` = ‖manual − autograd‖ / max(‖manual‖, ‖autograd‖). "
                  "A third check, `fd_rel_error`, compares autograd with central finite differences on a small "
                  "float64 copy of the problem (N=4, D_IN=5, H=3, D_OUT=2).",
    "grad.no_gradient": "The loss was not finite at step 0, so there is no gradient to compare. Lower lr.",
    "grad.step_zero": "Compared at step 0 (the run has one step).",
    "grad.step": "Compare at training step",
    "grad.step_help": "The parameters reached after this many updates.",
    "grad.depth": "Times middle_linear runs in this forward pass",
    "grad.as_in_training": "as in training",
    "grad.computing": "Computing gradients…",
    "grad.disagree": "✗ {names}: the hand-written and autograd gradients disagree (rel_error above {tol}).",
    "grad.agree": "✓ All {rows} rows agree: rel_error ≤ {tol} ({dtype}).",
    "grad.gradcheck_passes": "`torch.autograd.gradcheck({fn}.apply, …)` in float64 passes.",
    "grad.gradcheck_fails": "`torch.autograd.gradcheck({fn}.apply, …)` in float64 fails.",
    "grad.broken_explained": "Only the w1 row fails: w2's gradient `h_relu.t() @ grad_y_pred` never passes through "
                             "MyReLU's backward, while w1's does. The finite-difference column agrees: autograd is "
                             "the one that is wrong, because the backward we gave it is wrong.",
    "grad.heatmap_of": "Heatmap of",
    "grad.sharing_header": "Weight sharing: one gradient term per use",
    "grad.sharing_text": "At step {step} the forward pass ran `middle_linear` **{depth}** times. Each use adds its "
                         "own term; their sum is what autograd stores in `middle_linear.weight.grad`.",
    "grad.sharing_sum": "‖sum of per-use terms − autograd's .grad‖ = {diff:.2e}; ‖hand-written total‖ = {total:.3e}",
    "grad.no_uses": "At this step the forward pass skipped `middle_linear` (0 uses), so its gradient is zero. Pick "
                    "another step or force a number of uses above.",

    # home
    "home.title": "Learning PyTorch with Examples, live",
    "home.intro": "PyTorch's classic tutorial trains one small network — a two-layer net on random data, "
                  "`N, D_IN, H, D_OUT = 64, 1000, 100, 10` — seven times, each time letting PyTorch do a little "
                  "more of the work. Here every stage **trains live** with the settings in the sidebar, plots its "
                  "loss, and puts the gradient you would write by hand **beside autograd's**, with a table that "
                  "says whether they agree.",
    "home.stages": "The seven stages",
    "home.tutorial_settings_by_hand": "tutorial settings: lr {lr:.0e}, update by hand",
    "home.tutorial_settings_optim": "tutorial settings: lr {lr:.0e}, update torch.optim ({optimizer})",
    "home.link_compare": "**Compare stages**: all seven on one chart",
    "home.link_optimizers": "**Inside the optimizers**: SGD, momentum, Adam, RMSprop and Adagrad written by hand "
                            "beside torch.optim",
    "home.link_mnist": "**MNIST**: the same network on real handwritten digits (the tutorial's \"coming soon\", "
                       "built)",
    "home.link_experiments": "**Experiments**: a learning-rate sweep, a network memorising random data, and the "
                             "current tutorial's sin(x) fit",
    "home.presets": "Lesson presets",
    "home.presets_caption": "Each opens a page with the settings of one lesson; the link in the page's sidebar "
                            "shares it.",
    "home.class": "Using it in class",
    "home.class_tips": "- **Projector:** each page starts from the tutorial's own values; move one slider at a time "
                       "and let the class predict the curve before it appears. *Reset to the tutorial's values* "
                       "brings a stage back.\n"
                       "- **Gradients:** on *3. MyReLU*, switch on *Break MyReLU's backward* and watch one row of "
                       "the table turn red. Switch the sidebar's dtype to float64 and the errors drop from ~1e-7 to "
                       "~1e-15.\n"
                       "- **Divergence:** raise lr to 1e-4 on stage 1 (or N to 1000): the summed squared error "
                       "makes the safe learning rate depend on N and on the scale of the weights.\n"
                       "- **Students:** everyone can open the same server; each browser tab keeps its own settings, "
                       "and runs already seen by anyone come back instantly from the cache.",

    # compare
    "compare.title": "Compare stages",
    "compare.intro": "All seven stages trained with the same seed, sizes and number of steps. Each uses its own "
                     "tutorial learning rate and update rule unless you choose one lr for all in the sidebar.",
    "compare.same_lr": "One lr for every stage",
    "compare.lr": "lr for every stage",
    "compare.cant_run": "The settings in the sidebar can't run (the message there says why).",
    "compare.chart_title": "All stages, same seed",
    "compare.lesson": "**Stages 1, 2 and 3 lie on top of each other.** That is the lesson: the hand-written "
                      "backward, `loss.backward()` and the custom `MyReLU` compute the same gradients from the same "
                      "weights, so they take the same steps. Stages 4–7 start lower because `nn.Linear` draws small "
                      "initial weights (uniform in ±1/√fan_in) where stages 1–3 draw `torch.randn`.",
    "compare.column.stage": "stage",
    "compare.column.update": "update",
    "compare.column.first_loss": "first loss",
    "compare.column.final_loss": "final loss",
    "compare.column.to_1pct": "steps to 1% of first loss",
    "compare.column.time": "time (s)",
    "compare.column.diverged": "diverged",
    "compare.by_hand": "by hand",
    "compare.never": "never",
    "compare.at_step": "at step {step}",

    # inside the optimizers
    "optim.title": "Inside the optimizers",
    "optim.intro": "`optimizer.step()` is a few lines of tensor arithmetic. Here each optimizer's update is written "
                   "by hand in raw tensors and trained beside `torch.optim`'s on stage 5's network, from the same "
                   "weights, each side computing its own gradients by autograd. After k steps the two sets of "
                   "weights, and what each optimizer remembers between steps, are compared.",
    "optim.k": "k: training steps compared",
    "optim.k_help": "Both sides take this many steps; the sidebar's `steps` is not used here.",
    "optim.settings_used": "Settings used: N={n}, D_IN={d_in}, H={hidden}, D_OUT={d_out} · lr={lr:.0e} · {k} steps "
                           "· seed {seed} · {dtype}",
    "optim.rule_header": "{label}: the update rule",
    "optim.momentum": "momentum μ = {momentum:g} (from the sidebar)",
    "optim.source": "The hand-written step (from lib/optim_internals.py, via inspect.getsource)",
    "optim.training": "Training both side by side…",
    "optim.cant_run": "This can't run: {err}",
    "optim.weights_header": "Weights after {k} steps: hand-written vs torch.optim",
    "optim.rel_error": "`rel_error` = ‖hand-written − torch‖ / max(‖hand-written‖, ‖torch‖), over each parameter.",
    "optim.differ": "✗ {names}: the hand-written and torch.optim weights differ (rel_error above {tol:.0e}).",
    "optim.agree": "✓ All {rows} parameters agree after {k} steps: rel_error ≤ {tol:.0e} ({dtype}).",
    "optim.float32": "In float32 the two sides round differently (torch fuses a multiply and an add into one "
                     "rounding), and training carries those last-bit differences from step to step, so they grow "
                     "with k. Switch the dtype to float64 to see agreement to ~1e-15.",
    "optim.state_header": "What the optimizer remembers",
    "optim.no_state": "{label} keeps no state between steps: each update uses only the current gradient.",
    "optim.no_state_momentum0": "{label} with momentum 0 keeps no state between steps: each update uses only the "
                                "current gradient.",
    "optim.parameter": "Parameter",
    "optim.state": "State",
    "optim.step_header": "How big each step is",
    "optim.update_of": "Update size of",
    "optim.all_parameters": ALL,
    "optim.update_all": "‖Δθ‖ is the norm of how far one step moved the weights, all parameters together.",
    "optim.update_one": "‖Δθ‖ is the norm of how far one step moved the weights of {target}.",

    # MNIST
    "mnist.title": "MNIST: the tutorial's network on real digits",
    "mnist.intro": "The same two-layer network as the tutorial, with D_IN = 784 pixels and D_OUT = 10 digits, now "
                   "trained with cross-entropy on handwritten digits held in memory as tensors.",
    "mnist.loading": "Loading MNIST into memory…",
    "mnist.no_data": "**The MNIST data could not be loaded.** {err}\n\nWhat to do: ask whoever runs this server to "
                     "put the files there (or point `{env}` at a folder that has them) and restart it. The other "
                     "pages do not need this data and keep working.",
    "mnist.data": "Data: {description}.",
    "mnist.sample": "Sample of the training digits",
    "mnist.label": "label {digit}",
    "mnist.model": "Model",
    "mnist.hidden": "Hidden units H",
    "mnist.optimizer": "Optimizer",
    "mnist.lr": "Learning rate (log scale)",
    "mnist.momentum": "Momentum (SGD with momentum, RMSprop)",
    "mnist.batch_size": "Batch size",
    "mnist.epochs": "Epochs",
    "mnist.seed": "Seed",
    "mnist.train": "Train",
    "mnist.cant_train": "These settings cannot be trained: {err}",
    "mnist.training": "Training…",
    "mnist.progress": "epoch {epoch}/{epochs} · batch loss {loss:.3f}",
    "mnist.progress_accuracy": " · held-out accuracy {accuracy:.1%}",
    "mnist.press_train": "Choose the settings and press **Train**: a few seconds for the MLP, a little longer for "
                         "the CNN.",
    "mnist.stopped": "Training stopped at batch {batch}: {reason}.",
    "mnist.trained_on": "Trained on the {description}.",
    "mnist.metric.accuracy": "Held-out accuracy",
    "mnist.metric.loss": "Final held-out loss",
    "mnist.metric.time": "Training time",
    "mnist.metric.batches": "Batches",
    "mnist.mistakes": "Held-out digits it gets wrong, most confident first",
    "mnist.mistakes_caption": "Each title: true digit → predicted digit (the model's confidence in its wrong "
                              "answer).",
    "mnist.no_mistakes": "No held-out digit is misclassified.",
    "mnist.grad_header": "Hand-written backward vs autograd, continued",
    "mnist.grad_mlp_only": "The hand-written backward covers the MLP (the tutorial's TwoLayerNet); train the MLP to "
                           "see it.",
    "mnist.grad_intro": "The tutorial's backward pass, with the squared error replaced by softmax + cross-entropy: "
                        "`grad_logits = (softmax - onehot) / N`. Compared with autograd on one batch of "
                        "{batch_size} training digits at the trained weights, in float64.",
    "mnist.fd_caption": "fd_rel_error: autograd vs central finite differences on a few sampled coordinates of each "
                        "parameter.",
    "mnist.backward_source": "The hand-written backward that ran",
    "mnist.loop_source": "The training loop that ran",
    "mnist.upload_header": "Try your own digit",
    "mnist.draw_tab": "Draw",
    "mnist.upload_tab": "Upload",
    "mnist.draw_intro": "Draw one digit with the mouse (or a finger), big and in the middle, as MNIST's are. It "
                        "goes through the same conversion as an upload: grey, 28×28, centred by its mass.",
    "mnist.draw_error": "This drawing cannot be read as a digit yet: {err}.",
    "mnist.upload_intro": "Upload a photo or drawing of one digit (PNG or JPEG, at most 2 MB). It is turned into "
                          "what MNIST looks like: grey, light ink on black, the digit's box scaled to 20 pixels and "
                          "centred in 28×28 by its centre of mass. Nothing is stored.",
    "mnist.upload": "Digit image",
    "mnist.upload_too_big": "the file is {size:.1f} MB; the limit is {limit:.0f} MB",
    "mnist.upload_error": "This upload cannot be read as a digit: {err}.",

    # experiments
    "experiments.title": "Experiments",
    "experiments.stage": "Stage",
    "experiments.stage_help": "The stage trained in the first two tabs, with the settings in the sidebar.",
    "experiments.tab.sweep": "Learning-rate sweep",
    "experiments.tab.noise": "Memorising noise",
    "experiments.tab.sine": "Fitting sin(x)",
    "experiments.sweep.intro": "The same training, from the same seed, once per learning rate. Too small an lr and "
                               "the loss barely moves in the steps given; too large and it blows up; the good values "
                               "sit in between, at the bottom of the **U**.",
    "experiments.sweep.low": "lowest lr",
    "experiments.sweep.high": "highest lr",
    "experiments.sweep.density": "points per decade",
    "experiments.sweep.low_above_high": "The lowest lr is above the highest: move the sliders so that lowest ≤ "
                                        "highest.",
    "experiments.sweep.runs": "{runs} runs (at most {max_runs}). Each run is the sidebar's config, steps included, "
                              "with the sweep's lr in place of the sidebar's: {settings}.",
    "experiments.sweep.loss_note": "The loss is a *sum* of squared errors over N×D_OUT numbers, so its gradient "
                                   "grows with N and with the size of the weights: the safe lr depends on N and on "
                                   "the weight scale (stages 1–3 draw `torch.randn` weights, stages 4–7 "
                                   "`nn.Linear`'s small ones), not on the stage's code alone.",
    "experiments.sweep.progress": "lr {lr:.1e} (run {run} of {runs})",
    "experiments.sweep.best_lr": "best lr",
    "experiments.sweep.best_lr_help": "The lr whose run ended with the lowest loss, among runs that did not "
                                      "diverge.",
    "experiments.sweep.lowest_final": "lowest final loss",
    "experiments.sweep.diverged_runs": "runs that diverged",
    "experiments.sweep.diverged_count": "{diverged} of {runs}",
    "experiments.sweep.all_diverged": "Every run diverged: lower the lr range, or N, in the sidebar.",
    "experiments.sweep.chart_title": "{stage}: final loss vs lr",
    "experiments.sweep.chart_caption": "Red crosses along the top: runs that diverged (hover for the step). The "
                                       "dotted line is the lowest loss each run reached on the way, which can be "
                                       "below its final loss when the lr is close to the edge.",
    "experiments.column.final_loss": "final loss",
    "experiments.column.best_loss": "best loss",
    "experiments.column.diverged": "diverged",
    "experiments.sweep.curves": "Loss curves of every run",
    "experiments.sweep.curves_title": "Every run of the sweep",
    "experiments.noise.intro": "Every stage of the original tutorial trains on `x = torch.randn(N, D_IN)` and "
                               "`y = torch.randn(N, D_OUT)`: y has nothing to do with x. The loss still falls to "
                               "almost zero, because a network with {weights:,} weights can **memorise** "
                               "{numbers:,} random numbers. Here a second random set `(x_test, y_test)` of the same "
                               "size, never trained on, is scored along the way.",
    "experiments.noise.caption": "Settings from the sidebar: {settings}. The held-out set comes from a generator of "
                                 "its own (seed {seed} + 1), so training is exactly the run of the stage page. The "
                                 "loss after k steps comes from re-running the stage for k steps, at about 20 "
                                 "values of k.",
    "experiments.noise.progress": "training {k} steps (run {run} of {runs})",
    "experiments.noise.train_loss": "training loss",
    "experiments.noise.held_out_loss": "held-out loss",
    "experiments.noise.after": "after {steps} steps; it started at {first}",
    "experiments.noise.zero": "predicting 0 everywhere",
    "experiments.noise.zero_help": "Σ y_test²: the held-out loss of a model that outputs 0",
    "experiments.noise.diverged": "Training diverged at step {step}; the curves stop before it. Lower lr in the "
                                  "sidebar.",
    "experiments.noise.chart_title": "{stage}: memorising random data",
    "experiments.noise.lesson": "**Training loss falls; held-out loss does not.** Because y_test is independent of "
                                "x_test, no model can do better on it than predicting 0, on average: the grey line. "
                                "Stages 1–3 start far above it (their `torch.randn` weights give huge outputs) and "
                                "training only partly shrinks them; stages 4–7 start near it and drift *above* it as "
                                "the network memorises the training set. Nothing was learnt that carries over. That "
                                "is why pytorch.org's current version of this tutorial fits **sin(x)** instead: data "
                                "with a pattern in it (next tab).",
    "experiments.sine.intro": "The current pytorch.org tutorial starts from a problem with something to learn: fit "
                              "**y = sin(x)** on 2000 points in [−π, π] with a cubic **y = a + b x + c x² + d x³**, "
                              "using raw tensors and gradients written by hand (the same summed squared error and "
                              "`w -= lr * grad` as stage 1), lr 1e-6, 2000 steps.",
    "experiments.sine.steps": "steps",
    "experiments.sine.lr": "lr",
    "experiments.sine.seed": "seed",
    "experiments.sine.stable": "Gradient descent on this loss is stable below lr ≈ {limit:.2e} (2 / the largest "
                               "curvature of the loss, which the sum over 2000 points of x⁶ dominates); above it "
                               "the fit blows up.",
    "experiments.sine.progress": "Fitting",
    "experiments.sine.diverged": "The fit diverged at step {step}: {reason}. lr = {lr:.0e} is above the stable "
                                 "limit ≈ {limit:.1e}; lower it.",
    "experiments.sine.curve": "sin(x) fit",
    "experiments.sine.loss_title": "Training loss of the cubic",
    "experiments.sine.ending": "The tutorial ends near y ≈ 0.06 + 0.84 x − 0.01 x² − 0.09 x³. That is not sin's "
                               "Taylor series (b = 1, d = −1/6 ≈ −0.17): the least-squares cubic over all of "
                               "[−π, π] gives up some accuracy near 0 for accuracy at the ends. Unlike the random "
                               "data, this curve also fits new points drawn from sin(x).",

    # figures (lib/plots.py, lib/optim_plots.py, lib/mnist_plots.py, lib/experiment_plots.py)
    "plot.training_loss": "Training loss",
    "plot.step": "step",
    "plot.loss": "loss",
    "plot.loss_log": "loss (log scale)",
    "plot.diverged_at": "diverged at step {step}",
    "plot.view_all": "all {rows}×{cols}",
    "plot.view_part": "rows 0–{last_row} of {rows}, columns 0–{last_col} of {cols}",
    "plot.hand_written": "hand-written",
    "plot.difference": "hand-written − autograd (max |Δ| {diff_max:.1e})",
    "plot.gradient_of": "gradient of {name} ({note})",
    "plot.autograd_total": "autograd's .grad (total)",
    "plot.gradient_norm": "gradient norm",
    "plot.uses_title": "middle_linear.weight: one gradient term per use",
    "plot.depth_axis": "times middle_linear ran in one forward pass",
    "plot.training_steps": "training steps",
    "plot.depth_title": "Control flow: {passes} forward passes, {uses} uses of the shared layer",
    "plot.state_title": "{state} of {parameter} ({note}; max |Δ| {diff_max:.1e})",
    "plot.update_size_axis": "‖Δθ‖ (log scale)",
    "plot.update_size_title": "Size of each update step: {label}",
    "mnist_plot.train_loss": "training loss (per batch)",
    "mnist_plot.test_loss": "held-out loss (per epoch)",
    "mnist_plot.loss_title": "Cross-entropy loss",
    "mnist_plot.epoch": "epoch",
    "mnist_plot.accuracy_name": "held-out accuracy",
    "mnist_plot.accuracy_title": "Held-out accuracy after each epoch",
    "mnist_plot.accuracy": "accuracy",
    "mnist_plot.confusion_hover": "true %{y}, predicted %{x}: %{z}",
    "mnist_plot.confusion_title": "Confusion matrix (held-out digits)",
    "mnist_plot.predicted": "predicted",
    "mnist_plot.true": "true",
    "mnist_plot.per_class_title": "Accuracy per digit",
    "mnist_plot.true_digit": "true digit",
    "mnist_plot.model_sees": "what the model sees (28×28)",
    "mnist_plot.probabilities_title": "Predicted probabilities: {best}",
    "mnist_plot.digit": "digit",
    "mnist_plot.probability": "probability",
    "exp_plot.sweep_title": "Final loss vs learning rate",
    "exp_plot.final_loss": "final loss",
    "exp_plot.final_loss_hover": "lr %{x:.2e}<br>final loss %{y:.3e}<extra></extra>",
    "exp_plot.best_loss": "lowest loss on the way",
    "exp_plot.best_loss_hover": "lr %{x:.2e}<br>lowest loss %{y:.3e}<extra></extra>",
    "exp_plot.diverged": "diverged",
    "exp_plot.diverged_hover": "lr {lr:.2e}: diverged at step {step}",
    "exp_plot.first_loss": "loss at step 0",
    "exp_plot.lr_axis": "learning rate (log scale)",
    "exp_plot.held_out_title": "Training loss vs held-out loss",
    "exp_plot.train_data": "training data (x, y)",
    "exp_plot.held_out_data": "held-out data (x_test, y_test)",
    "exp_plot.zero_line": "predicting 0 everywhere: Σ y_test²",
    "exp_plot.steps_done": "training steps done",
    "exp_plot.sse_log": "summed squared error (log scale)",
    "exp_plot.cubic_diverged": "the cubic (diverged)",
    "exp_plot.sine_title": "sin(x) and the fitted polynomial",

    # texts whose English lives beside the code that uses them, in lib/
    "history.same_settings": SAME_SETTINGS,
    "gradients.relu_ties": RELU_TIES_NOTE,
    "optim.diverged_note": DIVERGED_NOTE,
    **{f"mnist.data.{source}": text for source, text in DESCRIPTIONS.items()},
    **{f"mnist.model.{name}": label for name, label in MODELS.items()},
    **{f"optimizer.{name}": spec.label for name, spec in OPTIMIZERS.items()},
    **{f"rule.{name}": rule for name, rule in UPDATE_RULES.items()},
    **{f"stage.{name}.{part}": getattr(info, part) for name, info in STAGES.items()
       for part in ("title", "short_title", "whats_new")},
    **{f"preset.{i}.{part}": getattr(preset, part) for i, preset in enumerate(PRESETS) for part in ("title", "notice")},
}


# ---------------------------------------------------------------- 한국어
KO: dict[str, str] = {
    # the frame
    "app.page_title": "예제로 배우는 PyTorch",
    "app.heading": "**예제로 배우는 PyTorch** · 튜토리얼과 함께 보는 인터랙티브 실습",
    "app.language": "언어",
    "app.error": "이 페이지에서 문제가 생겼습니다. 다른 페이지는 그대로 동작합니다. 사이드바의 \"튜토리얼 값으로 "
                 "되돌리기\"를 누르거나 새로고침해 보세요.",
    "app.error_details": "교사용 자세한 정보",
    "nav.start": "시작",
    "nav.stages": "튜토리얼, 단계별로",
    "nav.together": "종합하기",
    "nav.home": "홈",
    "nav.compare": "단계 비교",
    "nav.optimizers": "최적화 알고리즘 들여다보기",
    "nav.mnist": "MNIST: 실제 손글씨 숫자",
    "nav.experiments": "실험",

    # the settings sidebar
    "settings.header": "설정",
    "settings.reset": "튜토리얼 값으로 되돌리기",
    "settings.n": "N: 배치 크기(batch size)",
    "settings.d_in": "D_IN: 입력 차원",
    "settings.hidden": "H: 은닉층 차원",
    "settings.d_out": "D_OUT: 출력 차원",
    "settings.steps": "학습 스텝 수",
    "settings.lr": "lr: 학습률(learning rate, 로그 눈금)",
    "settings.optimizer": "최적화 알고리즘(optimizer)",
    "settings.no_optimizer": "이 단계는 가중치를 직접 갱신합니다(`w -= lr * grad`). 최적화 알고리즘은 쓰이지 "
                             "않습니다.",
    "settings.momentum": "모멘텀(momentum)",
    "settings.seed": "시드(seed)",
    "settings.dtype_help": "float64에서는 직접 구현한 기울기와 Autograd의 기울기가 ~1e-7이 아니라 ~1e-15까지 "
                           "일치합니다.",
    "settings.cant_run": "이 설정으로는 실행할 수 없습니다: {err}",
    "settings.cant_run_page": "사이드바의 설정으로는 실행할 수 없습니다(이유는 사이드바의 메시지에 있습니다). "
                              "설정을 바꾸거나 \"{reset}\"를 누르세요.",
    "settings.link_problem": "이 링크의 설정을 쓸 수 없습니다: {problem}.",
    "settings.link": "이 설정으로 여는 링크",
    "settings.link_caption": "이 링크를 여는 사람은 누구나 같은 설정의 이 페이지를 보게 됩니다.",
    "describe.settings": "N={n}, D_IN={d_in}, H={hidden}, D_OUT={d_out} · lr={lr:.0e} · {steps} 스텝 · "
                         "시드 {seed} · {dtype} · 갱신 방식 {update}",
    "describe.momentum": ", 모멘텀 {momentum:g}",
    "describe.by_hand": "직접 갱신: w -= lr · grad",
    "progress.training": "학습 중",
    "progress.step": "{label}: 스텝 {step}/{steps}, 손실 {loss:.3g}",

    # a stage page
    "stage_page.settings_used": "사용한 설정: {settings}",
    "stage_page.break_relu": "MyReLU의 backward 망가뜨리기: `input < 0` 마스크 빠뜨리기",
    "stage_page.break_relu_help": "잘못된 기울기로도 학습은 그대로 진행됩니다. 아래의 비교 표가 빨갛게 바뀝니다.",
    "source.expander": "실제로 실행된 코드 (lib/에서 inspect.getsource로 가져옴)",
    "metric.first_loss": "처음 손실",
    "metric.final_loss": "마지막 손실",
    "metric.ratio": "마지막 / 처음",
    "metric.time": "학습 시간",
    "metric.time_help": "{steps} 스텝 중 {ran} 스텝 실행",
    "divergence.message": "{step}번째 스텝에서 학습이 발산했습니다: {reason}. 학습은 거기서 멈췄고, 곡선은 그 "
                          "이전 스텝까지를 보여 줍니다. 손실은 N×D_OUT = {numbers}개 값의 제곱 오차 *합*이므로 "
                          "기울기(Gradient)는 N과 가중치의 크기에 따라 커집니다. 여기서는 lr = {lr:.0e}의 한 걸음이 "
                          "너무 큽니다. lr이나 N을 줄이거나 \"{reset}\"를 누르세요.",
    "chart.log_y": "손실 축을 로그 눈금으로",
    "chart.training_loss_of": "학습 손실: {stage}",
    "history.this_run": "이번 실행",
    "history.broken_suffix": " (망가진 MyReLU)",
    "history.broken": "망가진 MyReLU",
    "history.correct": "올바른 MyReLU",
    "history.overlay": "이 세션의 이전 실행 겹쳐 보기",
    "history.overlay_placeholder": "이번 실행과 비교할 실행을 고르세요",
    "history.clear": "기록 지우기",
    "downloads.header": "가져가기",
    "downloads.losses": "손실 곡선 (CSV)",
    "downloads.gradients": "기울기 표 (CSV)",
    "downloads.script": "이 단계를 스크립트로 (.py)",
    "downloads.caption": "스크립트는 이 설정값을 채워 넣은 이 단계의 코드입니다. `python {stage}.py`를 실행하면 "
                         "일반 PyTorch로 같은 손실이 재현됩니다. 각 차트의 카메라 버튼은 PNG로 저장합니다.",
    "column.match": "일치",
    "column.parameter": "매개변수",
    "column.shape": "형태",
    "column.state": "상태",
    "grad.header": "직접 구현한 기울기 vs Autograd 기울기",
    "grad.intro": "**직접 구현한** 기울기는 1단계처럼 연쇄 법칙(chain rule)을 그대로 풀어 쓴 것입니다(`nn.Linear`의 "
                  "경우 `grad_W = grad_out.T @ input`, `grad_b = grad_out.sum(0)`). **Autograd**는 이 단계의 코드 "
                  "그대로 `loss.backward()`를 실행한 결과입니다. `rel_error` = ‖manual − autograd‖ / "
                  "max(‖manual‖, ‖autograd‖). 세 번째 검사인 `fd_rel_error`는 작은 float64 문제(N=4, D_IN=5, "
                  "H=3, D_OUT=2)에서 Autograd를 중앙 유한 차분과 비교합니다.",
    "grad.no_gradient": "0번째 스텝에서 이미 손실이 유한하지 않아 비교할 기울기가 없습니다. lr을 낮추세요.",
    "grad.step_zero": "0번째 스텝에서 비교했습니다(이 실행은 한 스텝뿐입니다).",
    "grad.step": "비교할 학습 스텝",
    "grad.step_help": "이만큼 갱신한 뒤의 매개변수에서 비교합니다.",
    "grad.depth": "이번 순전파에서 middle_linear를 실행한 횟수",
    "grad.as_in_training": "학습 때와 같게",
    "grad.computing": "기울기 계산 중…",
    "grad.disagree": "✗ {names}: 직접 구현한 기울기와 Autograd 기울기가 다릅니다(rel_error가 {tol} 초과).",
    "grad.agree": "✓ {rows}개 행이 모두 일치합니다: rel_error ≤ {tol} ({dtype}).",
    "grad.gradcheck_passes": "float64에서 `torch.autograd.gradcheck({fn}.apply, …)` 통과.",
    "grad.gradcheck_fails": "float64에서 `torch.autograd.gradcheck({fn}.apply, …)` 실패.",
    "grad.broken_explained": "w1 행만 틀립니다. w2의 기울기 `h_relu.t() @ grad_y_pred`는 MyReLU의 backward를 "
                             "거치지 않지만 w1의 기울기는 거치기 때문입니다. 유한 차분 열도 같은 결론입니다. 틀린 "
                             "쪽은 Autograd인데, 우리가 건넨 backward가 틀렸기 때문입니다.",
    "grad.heatmap_of": "히트맵으로 볼 매개변수",
    "grad.sharing_header": "가중치 공유: 한 번 쓸 때마다 기울기 항 하나",
    "grad.sharing_text": "{step}번째 스텝의 순전파는 `middle_linear`를 **{depth}**번 실행했습니다. 쓸 때마다 "
                         "자기 항이 하나씩 생기고, 그 합이 Autograd가 `middle_linear.weight.grad`에 저장하는 "
                         "값입니다.",
    "grad.sharing_sum": "‖사용별 항의 합 − Autograd의 .grad‖ = {diff:.2e}; ‖직접 구현한 합계‖ = {total:.3e}",
    "grad.no_uses": "이 스텝의 순전파는 `middle_linear`를 건너뛰었으므로(0번 사용) 기울기가 0입니다. 다른 스텝을 "
                    "고르거나 위에서 사용 횟수를 정하세요.",

    # home
    "home.title": "예제로 배우는 PyTorch, 직접 실행하며",
    "home.intro": "PyTorch의 대표 튜토리얼은 작은 신경망 하나 — 무작위 데이터에 대한 2층 신경망, "
                  "`N, D_IN, H, D_OUT = 64, 1000, 100, 10` — 를 일곱 번 학습시키며, 매번 PyTorch에 조금씩 더 "
                  "많은 일을 맡깁니다. 여기서는 각 단계가 사이드바의 설정으로 **실시간 학습**하고, 손실을 그리고, "
                  "직접 구현한 기울기를 **Autograd의 기울기 옆에** 놓아 둘이 일치하는지 표로 보여 줍니다.",
    "home.stages": "일곱 단계",
    "home.tutorial_settings_by_hand": "튜토리얼 설정: lr {lr:.0e}, 직접 갱신",
    "home.tutorial_settings_optim": "튜토리얼 설정: lr {lr:.0e}, torch.optim으로 갱신 ({optimizer})",
    "home.link_compare": "**단계 비교**: 일곱 단계를 한 차트에",
    "home.link_optimizers": "**최적화 알고리즘 들여다보기**: SGD, 모멘텀, Adam, RMSprop, Adagrad를 직접 구현해 "
                            "torch.optim과 나란히",
    "home.link_mnist": "**MNIST**: 같은 신경망을 실제 손글씨 숫자에 (튜토리얼의 \"Coming Soon\"을 완성)",
    "home.link_experiments": "**실험**: 학습률 탐색, 무작위 데이터를 암기하는 신경망, 그리고 현재 튜토리얼의 "
                             "sin(x) 근사",
    "home.presets": "수업용 프리셋",
    "home.presets_caption": "각 프리셋은 한 수업의 설정으로 페이지를 엽니다. 페이지 사이드바의 링크로 공유할 수 "
                            "있습니다.",
    "home.class": "수업에서 활용하기",
    "home.class_tips": "- **프로젝터:** 각 페이지는 튜토리얼의 값에서 시작합니다. 슬라이더를 하나씩 움직이고, "
                       "곡선이 나타나기 전에 학생들이 예측하게 해 보세요. *튜토리얼 값으로 되돌리기*를 누르면 "
                       "원래대로 돌아옵니다.\n"
                       "- **기울기:** *3. MyReLU*에서 *MyReLU의 backward 망가뜨리기*를 켜면 표의 한 행이 빨갛게 "
                       "바뀝니다. 사이드바의 dtype을 float64로 바꾸면 오차가 ~1e-7에서 ~1e-15로 떨어집니다.\n"
                       "- **발산:** 1단계에서 lr을 1e-4로(또는 N을 1000으로) 올려 보세요. 제곱 오차를 합하기 "
                       "때문에 안전한 학습률이 N과 가중치의 크기에 따라 달라집니다.\n"
                       "- **학생:** 모두가 같은 서버를 열 수 있습니다. 브라우저 탭마다 자기 설정을 유지하고, 누군가 "
                       "이미 실행한 설정은 캐시에서 바로 돌아옵니다.",

    # compare
    "compare.title": "단계 비교",
    "compare.intro": "일곱 단계를 모두 같은 시드, 크기, 스텝 수로 학습했습니다. 사이드바에서 모든 단계에 같은 lr을 "
                     "고르지 않으면 각 단계는 튜토리얼의 학습률과 갱신 방식을 그대로 씁니다.",
    "compare.same_lr": "모든 단계에 같은 lr",
    "compare.lr": "모든 단계의 lr",
    "compare.cant_run": "사이드바의 설정으로는 실행할 수 없습니다(이유는 사이드바의 메시지에 있습니다).",
    "compare.chart_title": "모든 단계, 같은 시드",
    "compare.lesson": "**1, 2, 3단계의 곡선은 정확히 겹칩니다.** 이것이 핵심입니다. 직접 구현한 역전파, "
                      "`loss.backward()`, 그리고 사용자 정의 `MyReLU`는 같은 가중치에서 같은 기울기를 계산하므로 "
                      "같은 걸음을 내딛습니다. 4–7단계가 더 낮게 시작하는 것은 `nn.Linear`가 작은 초기 가중치"
                      "(±1/√fan_in 범위의 균등분포)를 뽑는 반면 1–3단계는 `torch.randn`으로 뽑기 때문입니다.",
    "compare.column.stage": "단계",
    "compare.column.update": "갱신 방식",
    "compare.column.first_loss": "처음 손실",
    "compare.column.final_loss": "마지막 손실",
    "compare.column.to_1pct": "처음 손실의 1%까지 걸린 스텝",
    "compare.column.time": "시간 (초)",
    "compare.column.diverged": "발산",
    "compare.by_hand": "직접 갱신",
    "compare.never": "도달 못 함",
    "compare.at_step": "{step}번째 스텝",

    # inside the optimizers
    "optim.title": "최적화 알고리즘 들여다보기",
    "optim.intro": "`optimizer.step()`은 몇 줄의 텐서 연산입니다. 여기서는 각 최적화 알고리즘의 갱신을 순수 "
                   "Tensor로 직접 구현하고, 5단계의 신경망에서 같은 가중치로 시작해 `torch.optim`과 나란히 "
                   "학습시킵니다. 양쪽 모두 Autograd로 각자의 기울기를 계산합니다. k 스텝 뒤에 두 가중치와, 각 "
                   "최적화 알고리즘이 스텝 사이에 기억하는 상태를 비교합니다.",
    "optim.k": "k: 비교할 학습 스텝 수",
    "optim.k_help": "양쪽이 이만큼 스텝을 진행합니다. 사이드바의 `steps`는 여기서 쓰이지 않습니다.",
    "optim.settings_used": "사용한 설정: N={n}, D_IN={d_in}, H={hidden}, D_OUT={d_out} · lr={lr:.0e} · {k} 스텝 "
                           "· 시드 {seed} · {dtype}",
    "optim.rule_header": "{label}: 갱신 규칙",
    "optim.momentum": "모멘텀 μ = {momentum:g} (사이드바에서)",
    "optim.source": "직접 구현한 갱신 스텝 (lib/optim_internals.py에서 inspect.getsource로 가져옴)",
    "optim.training": "양쪽을 나란히 학습하는 중…",
    "optim.cant_run": "실행할 수 없습니다: {err}",
    "optim.weights_header": "{k} 스텝 뒤의 가중치: 직접 구현 vs torch.optim",
    "optim.rel_error": "`rel_error` = ‖직접 구현 − torch‖ / max(‖직접 구현‖, ‖torch‖), 매개변수마다 계산.",
    "optim.differ": "✗ {names}: 직접 구현한 쪽과 torch.optim의 가중치가 다릅니다(rel_error가 {tol:.0e} 초과).",
    "optim.agree": "✓ {k} 스텝 뒤 {rows}개 매개변수가 모두 일치합니다: rel_error ≤ {tol:.0e} ({dtype}).",
    "optim.float32": "float32에서는 두 쪽의 반올림이 다릅니다(torch는 곱셈과 덧셈을 한 번의 반올림으로 합칩니다). "
                     "학습은 이 마지막 자리의 차이를 스텝마다 이어 가므로 k와 함께 커집니다. dtype을 float64로 "
                     "바꾸면 ~1e-15까지 일치합니다.",
    "optim.state_header": "최적화 알고리즘이 기억하는 것",
    "optim.no_state": "{label}은(는) 스텝 사이에 상태를 남기지 않습니다. 매 갱신은 현재 기울기만 씁니다.",
    "optim.no_state_momentum0": "모멘텀이 0인 {label}은(는) 스텝 사이에 상태를 남기지 않습니다. 매 갱신은 현재 "
                                "기울기만 씁니다.",
    "optim.parameter": "매개변수",
    "optim.state": "상태",
    "optim.step_header": "한 스텝이 얼마나 큰가",
    "optim.update_of": "갱신 크기를 볼 대상",
    "optim.all_parameters": "모든 매개변수",
    "optim.update_all": "‖Δθ‖는 한 스텝이 가중치를 움직인 거리의 노름입니다(모든 매개변수를 합쳐서).",
    "optim.update_one": "‖Δθ‖는 한 스텝이 {target}의 가중치를 움직인 거리의 노름입니다.",

    # MNIST
    "mnist.title": "MNIST: 튜토리얼의 신경망으로 실제 숫자를",
    "mnist.intro": "튜토리얼과 같은 2층 신경망에 D_IN = 784 픽셀, D_OUT = 10개 숫자로, 메모리에 Tensor로 올린 "
                   "손글씨 숫자를 교차 엔트로피(cross-entropy)로 학습합니다.",
    "mnist.loading": "MNIST를 메모리로 불러오는 중…",
    "mnist.no_data": "**MNIST 데이터를 불러올 수 없습니다.** {err}\n\n해결 방법: 이 서버를 운영하는 사람에게 "
                     "파일을 그 위치에 두거나(또는 `{env}`가 파일이 있는 폴더를 가리키게 하고) 서버를 다시 시작해 "
                     "달라고 요청하세요. 다른 페이지는 이 데이터가 필요 없으므로 그대로 동작합니다.",
    "mnist.data": "데이터: {description}.",
    "mnist.sample": "학습용 숫자 샘플",
    "mnist.label": "정답 {digit}",
    "mnist.model": "모델",
    "mnist.hidden": "은닉 유닛 수 H",
    "mnist.optimizer": "최적화 알고리즘",
    "mnist.lr": "학습률 (로그 눈금)",
    "mnist.momentum": "모멘텀 (모멘텀 SGD, RMSprop)",
    "mnist.batch_size": "배치 크기",
    "mnist.epochs": "에폭",
    "mnist.seed": "시드",
    "mnist.train": "학습",
    "mnist.cant_train": "이 설정으로는 학습할 수 없습니다: {err}",
    "mnist.training": "학습 중…",
    "mnist.progress": "에폭 {epoch}/{epochs} · 배치 손실 {loss:.3f}",
    "mnist.progress_accuracy": " · 평가 정확도 {accuracy:.1%}",
    "mnist.press_train": "설정을 고르고 **학습**을 누르세요. MLP는 몇 초, CNN은 조금 더 걸립니다.",
    "mnist.stopped": "{batch}번째 배치에서 학습을 멈췄습니다: {reason}.",
    "mnist.trained_on": "학습 데이터: {description}.",
    "mnist.metric.accuracy": "평가 정확도",
    "mnist.metric.loss": "마지막 평가 손실",
    "mnist.metric.time": "학습 시간",
    "mnist.metric.batches": "배치 수",
    "mnist.mistakes": "틀린 평가용 숫자 (확신이 큰 것부터)",
    "mnist.mistakes_caption": "각 제목: 정답 숫자 → 예측한 숫자 (틀린 답에 대한 모델의 확신).",
    "mnist.no_mistakes": "잘못 분류한 평가용 숫자가 없습니다.",
    "mnist.grad_header": "직접 구현한 역전파 vs Autograd, 이어서",
    "mnist.grad_mlp_only": "직접 구현한 역전파는 MLP(튜토리얼의 TwoLayerNet)만 다룹니다. 보려면 MLP를 학습하세요.",
    "mnist.grad_intro": "튜토리얼의 역전파에서 제곱 오차를 softmax + 교차 엔트로피로 바꾼 것입니다: "
                        "`grad_logits = (softmax - onehot) / N`. 학습된 가중치에서 학습용 숫자 {batch_size}개짜리 "
                        "배치 하나로, float64에서 Autograd와 비교합니다.",
    "mnist.fd_caption": "fd_rel_error: 각 매개변수에서 몇 개의 좌표를 뽑아 Autograd를 중앙 유한 차분과 비교한 "
                        "값.",
    "mnist.backward_source": "실제로 실행된 직접 구현 역전파",
    "mnist.loop_source": "실제로 실행된 학습 루프",
    "mnist.upload_header": "내 숫자로 해 보기",
    "mnist.draw_tab": "그리기",
    "mnist.upload_tab": "올리기",
    "mnist.draw_intro": "마우스(또는 손가락)로 숫자 하나를 MNIST처럼 크게, 가운데에 그리세요. 올린 이미지와 같은 "
                        "변환을 거칩니다: 회색조, 28×28, 무게중심으로 가운데 정렬.",
    "mnist.draw_error": "이 그림은 아직 숫자로 읽을 수 없습니다: {err}.",
    "mnist.upload_intro": "숫자 하나를 찍은 사진이나 그림을 올리세요(PNG 또는 JPEG, 최대 2 MB). MNIST처럼 "
                          "바뀝니다: 회색조, 검은 바탕에 밝은 글씨, 숫자를 둘러싼 상자를 20픽셀로 맞추고 무게중심을 "
                          "기준으로 28×28 가운데에 놓습니다. 아무것도 저장하지 않습니다.",
    "mnist.upload": "숫자 이미지",
    "mnist.upload_too_big": "파일이 {size:.1f} MB입니다. 한도는 {limit:.0f} MB입니다",
    "mnist.upload_error": "올린 파일을 숫자로 읽을 수 없습니다: {err}.",

    # experiments
    "experiments.title": "실험",
    "experiments.stage": "단계",
    "experiments.stage_help": "처음 두 탭에서 사이드바의 설정으로 학습하는 단계입니다.",
    "experiments.tab.sweep": "학습률 탐색",
    "experiments.tab.noise": "무작위 데이터 암기",
    "experiments.tab.sine": "sin(x) 근사",
    "experiments.sweep.intro": "같은 학습을 같은 시드로, 학습률마다 한 번씩 실행합니다. lr이 너무 작으면 주어진 "
                               "스텝 안에서 손실이 거의 움직이지 않고, 너무 크면 발산합니다. 좋은 값은 그 사이, "
                               "**U**자의 바닥에 있습니다.",
    "experiments.sweep.low": "가장 작은 lr",
    "experiments.sweep.high": "가장 큰 lr",
    "experiments.sweep.density": "10배 구간마다의 점 개수",
    "experiments.sweep.low_above_high": "가장 작은 lr이 가장 큰 lr보다 큽니다. 가장 작은 lr ≤ 가장 큰 lr이 되도록 "
                                        "슬라이더를 옮기세요.",
    "experiments.sweep.runs": "실행 {runs}번 (최대 {max_runs}번). 각 실행은 스텝 수를 포함해 사이드바의 설정을 "
                              "그대로 쓰고, lr만 사이드바의 값 대신 탐색하는 값을 씁니다: {settings}.",
    "experiments.sweep.loss_note": "손실은 N×D_OUT개 수에 대한 제곱 오차의 *합*이므로, 기울기는 N과 가중치의 "
                                   "크기에 따라 커집니다. 그래서 안전한 lr은 단계의 코드만이 아니라 N과 가중치의 "
                                   "스케일에 달려 있습니다 (1–3단계는 `torch.randn` 가중치를, 4–7단계는 "
                                   "`nn.Linear`의 작은 가중치를 씁니다).",
    "experiments.sweep.progress": "lr {lr:.1e} (실행 {run}/{runs})",
    "experiments.sweep.best_lr": "가장 좋은 lr",
    "experiments.sweep.best_lr_help": "발산하지 않은 실행 가운데 마지막 손실이 가장 낮은 실행의 lr입니다.",
    "experiments.sweep.lowest_final": "가장 낮은 마지막 손실",
    "experiments.sweep.diverged_runs": "발산한 실행",
    "experiments.sweep.diverged_count": "{runs}번 중 {diverged}번",
    "experiments.sweep.all_diverged": "모든 실행이 발산했습니다. 사이드바에서 lr 범위나 N을 낮추세요.",
    "experiments.sweep.chart_title": "{stage}: lr에 따른 마지막 손실",
    "experiments.sweep.chart_caption": "위쪽을 따라 놓인 빨간 X는 발산한 실행입니다 (마우스를 올리면 발산한 "
                                       "스텝이 보입니다). 점선은 각 실행이 도중에 도달한 가장 낮은 손실로, lr이 "
                                       "한계에 가까우면 마지막 손실보다 낮을 수 있습니다.",
    "experiments.column.final_loss": "마지막 손실",
    "experiments.column.best_loss": "가장 낮은 손실",
    "experiments.column.diverged": "발산",
    "experiments.sweep.curves": "모든 실행의 손실 곡선",
    "experiments.sweep.curves_title": "탐색한 모든 실행",
    "experiments.noise.intro": "원래 튜토리얼의 모든 단계는 `x = torch.randn(N, D_IN)`과 "
                               "`y = torch.randn(N, D_OUT)`으로 학습합니다. y는 x와 아무 관계가 없습니다. 그래도 "
                               "손실은 거의 0까지 떨어집니다. 가중치가 {weights:,}개인 신경망은 무작위 수 "
                               "{numbers:,}개를 **암기**할 수 있기 때문입니다. 여기서는 같은 크기의 두 번째 무작위 "
                               "데이터 `(x_test, y_test)`를 학습에는 전혀 쓰지 않고, 학습 도중에 평가합니다.",
    "experiments.noise.caption": "사이드바의 설정: {settings}. 평가 데이터는 별도의 생성기(시드 {seed} + 1)에서 "
                                 "만들므로, 학습은 단계 페이지의 실행과 정확히 같습니다. k 스텝 후의 손실은 단계를 "
                                 "k 스텝 다시 실행해 얻으며, k는 약 20가지 값입니다.",
    "experiments.noise.progress": "{k} 스텝 학습 (실행 {run}/{runs})",
    "experiments.noise.train_loss": "학습 손실",
    "experiments.noise.held_out_loss": "평가 손실",
    "experiments.noise.after": "{steps} 스텝 후; 처음 값은 {first}",
    "experiments.noise.zero": "모든 곳에서 0을 예측",
    "experiments.noise.zero_help": "Σ y_test²: 0만 출력하는 모델의 평가 손실",
    "experiments.noise.diverged": "{step}번째 스텝에서 학습이 발산했습니다. 곡선은 그 앞에서 끝납니다. 사이드바에서 "
                                  "lr을 낮추세요.",
    "experiments.noise.chart_title": "{stage}: 무작위 데이터 암기",
    "experiments.noise.lesson": "**학습 손실은 떨어지지만 평가 손실은 떨어지지 않습니다.** y_test는 x_test와 "
                                "독립이므로, 평균적으로 어떤 모델도 0을 예측하는 것(회색 선)보다 잘할 수 없습니다. "
                                "1–3단계는 그보다 훨씬 위에서 시작하고(`torch.randn` 가중치는 출력이 매우 큽니다) "
                                "학습은 그 출력을 일부만 줄입니다. 4–7단계는 그 근처에서 시작해, 신경망이 학습 "
                                "데이터를 암기하면서 오히려 그 *위로* 올라갑니다. 새 데이터에 통하는 것은 아무것도 "
                                "배우지 못했습니다. 그래서 pytorch.org의 현재 튜토리얼은 대신 패턴이 있는 데이터를 "
                                "근사합니다: **sin(x)** (다음 탭).",
    "experiments.sine.intro": "현재 pytorch.org 튜토리얼은 배울 것이 있는 문제에서 시작합니다. 목표는 "
                              "**y = sin(x)**, 모델은 3차 다항식 **y = a + b x + c x² + d x³**, 데이터는 [−π, π]의 "
                              "점 2000개입니다. 원시 텐서와 직접 작성한 기울기로(1단계와 같은 제곱 오차의 합과 "
                              "`w -= lr * grad`), lr 1e-6으로 2000 스텝 학습합니다.",
    "experiments.sine.steps": "스텝 수",
    "experiments.sine.lr": "lr (학습률)",
    "experiments.sine.seed": "시드(seed)",
    "experiments.sine.stable": "이 손실에서 경사 하강법은 lr ≈ {limit:.2e} 아래에서 안정적입니다 (2 / 손실의 가장 "
                               "큰 곡률이며, 이 곡률은 2000개 점에 대한 x⁶의 합이 좌우합니다). 그보다 크면 근사가 "
                               "발산합니다.",
    "experiments.sine.progress": "근사 중",
    "experiments.sine.diverged": "{step}번째 스텝에서 근사가 발산했습니다: {reason}. lr = {lr:.0e} 값은 안정 "
                                 "한계 ≈ {limit:.1e}보다 큽니다. lr을 낮추세요.",
    "experiments.sine.curve": "sin(x) 근사",
    "experiments.sine.loss_title": "3차 다항식의 학습 손실",
    "experiments.sine.ending": "튜토리얼은 y ≈ 0.06 + 0.84 x − 0.01 x² − 0.09 x³ 근처에서 끝납니다. 이것은 sin의 "
                               "테일러 급수(b = 1, d = −1/6 ≈ −0.17)가 아닙니다. [−π, π] 전체에 대한 최소제곱 3차 "
                               "다항식은 양 끝의 정확도를 위해 0 근처의 정확도를 조금 포기합니다. 무작위 데이터와 "
                               "달리, 이 곡선은 sin(x)에서 새로 뽑은 점에도 잘 맞습니다.",

    # figures
    "plot.training_loss": "학습 손실",
    "plot.step": "스텝",
    "plot.loss": "손실",
    "plot.loss_log": "손실 (로그 눈금)",
    "plot.diverged_at": "{step}번째 스텝에서 발산",
    "plot.view_all": "전체 {rows}×{cols}",
    "plot.view_part": "{rows}행 중 0–{last_row}행, {cols}열 중 0–{last_col}열",
    "plot.hand_written": "직접 구현",
    "plot.difference": "직접 구현 − autograd (최대 |Δ| {diff_max:.1e})",
    "plot.gradient_of": "{name}의 기울기 ({note})",
    "plot.autograd_total": "autograd의 .grad (합계)",
    "plot.gradient_norm": "기울기 노름",
    "plot.uses_title": "middle_linear.weight: 한 번 쓸 때마다 기울기 항 하나",
    "plot.depth_axis": "한 번의 순전파에서 middle_linear를 실행한 횟수",
    "plot.training_steps": "학습 스텝 수",
    "plot.depth_title": "제어 흐름: 순전파 {passes}번, 공유 레이어 사용 {uses}번",
    "plot.state_title": "{parameter}의 {state} ({note}; 최대 |Δ| {diff_max:.1e})",
    "plot.update_size_axis": "‖Δθ‖ (로그 눈금)",
    "plot.update_size_title": "스텝마다의 갱신 크기: {label}",
    "mnist_plot.train_loss": "학습 손실 (배치마다)",
    "mnist_plot.test_loss": "평가 손실 (에폭마다)",
    "mnist_plot.loss_title": "교차 엔트로피 손실",
    "mnist_plot.epoch": "에폭",
    "mnist_plot.accuracy_name": "평가 정확도",
    "mnist_plot.accuracy_title": "에폭마다의 평가 정확도",
    "mnist_plot.accuracy": "정확도",
    "mnist_plot.confusion_hover": "정답 %{y}, 예측 %{x}: %{z}",
    "mnist_plot.confusion_title": "혼동 행렬 (평가용 숫자)",
    "mnist_plot.predicted": "예측",
    "mnist_plot.true": "정답",
    "mnist_plot.per_class_title": "숫자별 정확도",
    "mnist_plot.true_digit": "정답 숫자",
    "mnist_plot.model_sees": "모델이 보는 모습 (28×28)",
    "mnist_plot.probabilities_title": "예측 확률: {best}",
    "mnist_plot.digit": "숫자",
    "mnist_plot.probability": "확률",
    "exp_plot.sweep_title": "학습률에 따른 마지막 손실",
    "exp_plot.final_loss": "마지막 손실",
    "exp_plot.final_loss_hover": "lr %{x:.2e}<br>마지막 손실 %{y:.3e}<extra></extra>",
    "exp_plot.best_loss": "도중에 도달한 가장 낮은 손실",
    "exp_plot.best_loss_hover": "lr %{x:.2e}<br>가장 낮은 손실 %{y:.3e}<extra></extra>",
    "exp_plot.diverged": "발산",
    "exp_plot.diverged_hover": "lr {lr:.2e}: {step}번째 스텝에서 발산",
    "exp_plot.first_loss": "0번째 스텝의 손실",
    "exp_plot.lr_axis": "학습률 (로그 눈금)",
    "exp_plot.held_out_title": "학습 손실 vs 평가 손실",
    "exp_plot.train_data": "학습 데이터 (x, y)",
    "exp_plot.held_out_data": "평가 데이터 (x_test, y_test)",
    "exp_plot.zero_line": "모든 곳에서 0을 예측: Σ y_test²",
    "exp_plot.steps_done": "진행한 학습 스텝 수",
    "exp_plot.sse_log": "제곱 오차의 합 (로그 눈금)",
    "exp_plot.cubic_diverged": "3차 다항식 (발산)",
    "exp_plot.sine_title": "sin(x)와 근사한 다항식",

    # the Korean of texts whose English lives in lib/
    "history.same_settings": "같은 설정",
    "gradients.relu_ties": "이 스텝에서 활성화 이전 값 {ties}개가 정확히 0입니다. ReLU는 0에서 미분할 수 없으므로 "
                           "그 값은 관례입니다. 튜토리얼의 역전파(`grad_h[h < 0] = 0`)는 그 자리로 기울기를 "
                           "통과시키고, PyTorch의 `clamp`와 `ReLU`는 통과시키지 않습니다. 여기의 ✗는 이것만으로도 "
                           "생길 수 있습니다.",
    "optim.diverged_note": "{step}번째 스텝에서 손실이 유한하지 않게 되어 두 실행 모두 거기서 멈췄고, 비교는 "
                           "{step} 스텝 뒤의 값입니다. lr을 낮추세요.",
    "mnist.data.full": "전체 MNIST: 학습용 {n_train:,}개 / 테스트용 {n_test:,}개 숫자",
    "mnist.data.offline-subset": "오프라인 부분 집합: 실제 MNIST 테스트 세트에서 나눈 학습용 {n_train:,}개 / 평가용 "
                                 "{n_test:,}개 숫자 (60,000개짜리 학습 파일은 이 서버에 없습니다)",
    "mnist.model.mlp": "MLP: 튜토리얼의 TwoLayerNet (784 → H → 10)",
    "mnist.model.cnn": "CNN: 합성곱 두 번, 그다음 H → 10",
    "optimizer.sgd": "SGD",
    "optimizer.sgd_momentum": "모멘텀 SGD",
    "optimizer.adam": "Adam",
    "optimizer.rmsprop": "RMSprop",
    "optimizer.adagrad": "Adagrad",
    "rule.sgd": "기본 경사 하강법(Gradient Descent)입니다. 모든 매개변수가 자기 기울기의 반대 방향으로, 학습률만큼 "
                "비례해서 움직입니다.\n\n$$\\theta \\leftarrow \\theta - \\text{lr}\\cdot g$$\n\n스텝 사이에 "
                "아무 상태도 남기지 않습니다.",
    "rule.sgd_momentum": "속도 `buf`가 지난 기울기를 누적하므로, 일정한 방향의 걸음은 커지고 지그재그는 서로 "
                         "상쇄됩니다. torch는 버퍼를 첫 기울기로 시작하고 새 기울기를 감쇠 없이 더합니다(dampening 0, "
                         "Nesterov 아님):\n\n$$b \\leftarrow \\mu\\, b + g \\quad(b_1 = g_1),"
                         "\\qquad \\theta \\leftarrow \\theta - \\text{lr}\\cdot b$$\n\n모멘텀이 0이면 기본 SGD와 "
                         "같고 버퍼를 두지 않습니다. 상태: `momentum_buffer`.",
    "rule.adam": "Adam은 기울기의 이동 평균($m$)과 그 제곱의 이동 평균($v$)을 유지하고, 둘 다 0에서 시작한 "
                 "편향을 보정한 뒤 나눕니다. 그래서 모든 원소가 자기만의 걸음 크기를 가지며, 기울기의 크기와 "
                 "상관없이 대략 lr 정도로 움직입니다.\n\n$$m \\leftarrow \\beta_1 m + (1-\\beta_1) g,\\quad "
                 "v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2$$\n\n$$\\hat m = \\frac{m}{1-\\beta_1^t},\\quad "
                 "\\hat v = \\frac{v}{1-\\beta_2^t},\\qquad \\theta \\leftarrow \\theta - \\text{lr}\\,"
                 "\\frac{\\hat m}{\\sqrt{\\hat v} + \\epsilon}$$\n\ntorch의 기본값 β₁ = 0.9, β₂ = 0.999, "
                 "ε = 1e-8을 씁니다. 상태: `exp_avg`($m$), `exp_avg_sq`($v$), 그리고 스텝 수 $t$.",
    "rule.rmsprop": "RMSprop은 각 기울기를 최근 값들의 이동 제곱평균제곱근으로 나누므로, 큰 기울기와 작은 기울기가 "
                    "비슷한 걸음을 내딛습니다:\n\n$$v \\leftarrow \\alpha v + (1-\\alpha) g^2,\\qquad "
                    "\\theta \\leftarrow \\theta - \\text{lr}\\,\\frac{g}{\\sqrt{v} + \\epsilon}$$\n\nα = 0.99, "
                    "ε = 1e-8(제곱근 바깥)입니다. 모멘텀 μ > 0이면 torch는 대신 나눈 걸음을 누적합니다: "
                    "$b \\leftarrow \\mu b + g/(\\sqrt{v}+\\epsilon)$, $\\theta \\leftarrow \\theta - \\text{lr}"
                    "\\cdot b$. 상태: `square_avg`($v$), 그리고 μ > 0일 때 `momentum_buffer`($b$).",
    "rule.adagrad": "Adagrad는 지금까지의 *모든* 기울기 제곱의 합의 제곱근으로 나누므로, 각 원소의 걸음은 "
                    "줄어들기만 합니다. 큰 기울기를 받은 원소가 먼저 느려집니다.\n\n$$s \\leftarrow s + g^2,"
                    "\\qquad \\theta \\leftarrow \\theta - \\text{lr}\\,\\frac{g}{\\sqrt{s} + \\epsilon}$$\n\n"
                    "ε = 1e-10(lr_decay 0, 초기 누적값 0)입니다. 상태: `sum`($s$).",
    "stage.tensors.title": "1. Tensor: 역전파를 직접 구현",
    "stage.tensors.short_title": "1. Tensor",
    "stage.tensors.whats_new": "NumPy 배열 같은 순수 Tensor만 씁니다. 순전파는 행렬 곱 두 번과 ReLU"
                               "(`clamp(min=0)`)이고, 역전파는 연쇄 법칙으로 기울기 하나에 한 줄씩 직접 구현하며, "
                               "가중치도 직접 갱신합니다: `w -= lr * grad_w`. 튜토리얼의 뒤 단계들은 이 과정을 한 "
                               "조각씩 자동화합니다.",
    "stage.autograd.title": "2. Autograd: loss.backward()로 기울기 자동 계산",
    "stage.autograd.short_title": "2. Autograd",
    "stage.autograd.whats_new": "가중치에 `requires_grad=True`를 주면 PyTorch가 순전파의 모든 연산을 기록하고, "
                                "`loss.backward()`가 기울기를 `w1.grad`와 `w2.grad`에 계산해 넣습니다. 갱신은 여전히 "
                                "직접 하되, 기록되지 않도록 `torch.no_grad()` 안에서 하고, backward()는 기울기를 "
                                "누적하므로 스텝마다 기울기를 0으로 초기화합니다. (한국어 원문은 `grad_w1`로 "
                                "갱신하지만 여기서는 그런 변수가 없습니다: `w1.grad`여야 합니다.)",
    "stage.custom_function.title": "3. 새로운 Autograd Function 정의: MyReLU",
    "stage.custom_function.short_title": "3. 사용자 정의 Function: MyReLU",
    "stage.custom_function.whats_new": "`torch.autograd.Function`을 상속하면 forward와 backward를 직접 정의한 "
                                       "연산을 만들 수 있습니다. `MyReLU.backward`는 1단계의 직접 구현한 역전파 중 "
                                       "ReLU 줄(`grad[input < 0] = 0`)입니다. 망가진 버전을 켜서 backward가 틀리면 "
                                       "어떻게 되는지 보세요. 학습은 그대로 진행되지만 기울기가 더 이상 일치하지 "
                                       "않습니다.",
    "stage.nn_module.title": "4. nn.Sequential과 MSELoss",
    "stage.nn_module.short_title": "4. nn.Sequential",
    "stage.nn_module.whats_new": "`nn` 패키지는 학습 가능한 매개변수(Learnable Parameters)를 가진 레이어를 "
                                 "제공합니다. `nn.Linear`는 가중치와 편향을 갖고, `nn.Sequential`은 레이어를 "
                                 "차례로 잇고, `nn.MSELoss(reduction='sum')`은 앞에서와 같은 제곱 오차의 합입니다. "
                                 "갱신은 여전히 `model.parameters()`를 돌며 직접 합니다.",
    "stage.optim.title": "5. torch.optim: Adam 최적화 알고리즘",
    "stage.optim.short_title": "5. torch.optim",
    "stage.optim.whats_new": "`torch.optim`이 갱신 규칙을 맡습니다: `optimizer.zero_grad()`, `loss.backward()`, "
                             "`optimizer.step()`. 튜토리얼은 매개변수마다 걸음 크기를 조절하는 Adam을 씁니다. "
                             "사이드바에서 같은 lr로 SGD, RMSprop, Adagrad를 골라 비교해 보세요.",
    "stage.custom_module.title": "6. 사용자 정의 nn.Module: TwoLayerNet",
    "stage.custom_module.short_title": "6. 사용자 정의 nn.Module",
    "stage.custom_module.whats_new": "레이어를 단순히 잇는 것보다 복잡한 모델은 `nn.Module`을 상속해 만듭니다. "
                                     "`__init__`에서 레이어를 만들고 `forward`를 작성합니다. Autograd와 최적화 "
                                     "알고리즘은 앞에서와 똑같이 동작하며, 여기서는 기본 SGD를 씁니다.",
    "stage.dynamic_net.title": "7. 제어 흐름과 가중치 공유: DynamicNet",
    "stage.dynamic_net.short_title": "7. DynamicNet: 가중치 공유",
    "stage.dynamic_net.whats_new": "`forward`는 평범한 Python 코드이므로 무작위 횟수(0~3번)만큼 반복하며 같은 "
                                   "`middle_linear` 레이어를 매번 다시 쓸 수 있습니다. Autograd는 스텝마다 새 "
                                   "그래프를 만들고, 공유된 레이어의 기울기는 사용할 때마다 생긴 기여의 합입니다. "
                                   "모멘텀 0.9의 SGD로 학습합니다.",
    "preset.0.title": "너무 큰 lr: 발산 지켜보기",
    "preset.0.notice": "튜토리얼 lr의 다섯 배: 몇 스텝 만에 손실이 폭발하고 학습은 거기서 멈춥니다.",
    "preset.1.title": "같은 lr, 더 큰 배치",
    "preset.1.notice": "튜토리얼의 lr에 N = 256: 손실은 N개 행의 합이므로 기울기가 약 4배 커지고, 같은 lr로도 "
                       "이제 발산합니다.",
    "preset.2.title": "float32 vs float64 기울기",
    "preset.2.notice": "float64에서는 직접 구현한 기울기와 Autograd 기울기가 ~1e-16까지 일치합니다. dtype을 "
                       "float32로 되돌리면 rel_error 열이 ~1e-7로 올라갑니다.",
    "preset.3.title": "틀린 backward",
    "preset.3.notice": "MyReLU의 backward가 마스크를 빠뜨립니다: 학습은 그대로 진행되지만 w1 행이 빨갛게 바뀌고, "
                       "유한 차분은 틀린 쪽이 Autograd의 기울기임을 보여 줍니다.",
    "preset.4.title": "Adam vs SGD",
    "preset.4.notice": "optim 단계를 lr 1e-4의 기본 SGD로 실행합니다. 그다음 사이드바에서 Adam을 골라 두 실행을 "
                       "겹쳐 보세요.",
    "preset.5.title": "가중치 공유",
    "preset.5.notice": "middle_linear가 3번 실행된 학습 스텝을 고르세요: 기울기 항 세 개가 더해져 Autograd가 "
                       "저장하는 하나가 됩니다.",
}

TEXTS = {"en": EN, "ko": KO}
assert tuple(TEXTS) == tuple(LANGUAGES)
