"""layernet.plot: run directories, smoothing, figures (checked through matplotlib objects), files."""

import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("agg")  # tests only; the library never selects a backend
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from layernet.plot import (  # noqa: E402
    RunCurves,
    as_run_curves,
    confusion_matrix,
    filter_grid,
    load_run_curves,
    plot_command,
    plot_confusion,
    plot_filters,
    plot_gradcheck,
    plot_history,
    plot_runs,
    run_labels,
    save_run_plots,
    smooth,
)

HEADER = "epoch,train_loss,train_acc,val_loss,val_acc,lr,time_s"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def write_run(path, name="quickstart", lr=(0.1, 0.1, 0.05), steps_per_epoch=4, config=True, extra=""):
    """A hand-written run directory: 3 epochs, ``steps_per_epoch`` steps each."""
    path.mkdir(parents=True)
    rows = [
        f"1,2.0,0.40,2.1,0.35,{lr[0]},1.5",
        f"2,1.0,0.70,1.2,0.65,{lr[1]},1.4",
        f"3,0.5,0.90,0.8,0.80,{lr[2]},1.4",
    ]
    (path / "history.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    if steps_per_epoch:
        steps = ["step,epoch,loss"]
        for step in range(3 * steps_per_epoch):
            steps.append(f"{step + 1},{step // steps_per_epoch + 1},{2.5 / (step + 1):.6f}")
        (path / "steps.csv").write_text("\n".join(steps) + "\n")
    if config:
        (path / "config.yaml").write_text(
            f"version: 1\nname: {name}\nseed: 0\noptimizer: {{type: sgd, lr: {lr[0]}}}\n"
            f"output: {{dir: {path}}}\n{extra}"
        )
    return path


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run")


def line_by_label(ax, label):
    (line,) = [line for line in ax.get_lines() if line.get_label() == label]
    return line


# --------------------------------------------------------------------------- history and smoothing
def test_load_run_curves_reads_every_file(run):
    history = load_run_curves(run)
    np.testing.assert_array_equal(history.columns["epoch"], [1, 2, 3])
    np.testing.assert_array_equal(history.columns["val_acc"], [0.35, 0.65, 0.80])
    assert len(history.steps["loss"]) == 12 and history.name == "quickstart"
    assert history.config["optimizer"]["lr"] == 0.1
    assert load_run_curves(run / "history.csv").name == "quickstart"


def test_load_run_curves_empty_cells_are_nan_and_name_falls_back_to_directory(tmp_path):
    path = tmp_path / "no-config"
    path.mkdir()
    (path / "history.csv").write_text(f"{HEADER}\n1,2.0,0.4,,,0.1,1.0\n")
    history = load_run_curves(path)
    assert np.isnan(history.columns["val_loss"][0]) and not history.has("val_acc")
    assert history.name == "no-config" and history.steps is None


def test_step_positions_end_each_epoch_at_its_number(run):
    x = load_run_curves(run).step_positions()
    np.testing.assert_allclose(x, np.arange(1, 13) / 4)


@pytest.mark.parametrize(
    "values, kwargs, expected",
    [
        ([1.0, 2.0, 3.0], {"weight": 0.5}, [1.0, 1.25 / 0.75, 2.125 / 0.875]),
        ([4.0, 4.0, 4.0, 4.0], {"weight": 0.99}, [4.0, 4.0, 4.0, 4.0]),  # bias correction: no pull to 0
        ([3.0, 1.0, 2.0], {"weight": 0.0}, [3.0, 1.0, 2.0]),
        ([1.0, 2.0, 3.0, 4.0], {"method": "mean", "window": 2}, [1.0, 1.5, 2.5, 3.5]),
        ([1.0, 2.0, 3.0, 4.0], {"method": "mean", "window": 10}, [1.0, 1.5, 2.0, 2.5]),
        ([1.0, np.nan, 3.0], {"weight": 0.5}, [1.0, np.nan, 0.5 * (0.5 + 3.0) / 0.75]),
    ],
)
def test_smooth_known_answers(values, kwargs, expected):
    np.testing.assert_allclose(smooth(values, **kwargs), expected)


@pytest.mark.parametrize("kwargs", [{"weight": 1.0}, {"method": "median"}, {"method": "mean", "window": 0}])
def test_smooth_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="smooth"):
        smooth([1.0, 2.0], **kwargs)


# --------------------------------------------------------------------------- plot_history
def test_plot_history_panels_and_data(run):
    history = load_run_curves(run)
    fig = plot_history(run)
    loss_ax, acc_ax, lr_ax = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "learning rate"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch"] * 3
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy", "learning rate"]
    assert fig._suptitle.get_text() == "quickstart"
    raw = line_by_label(loss_ax, "train (per step)")
    np.testing.assert_array_equal(raw.get_ydata(), history.steps["loss"])
    smoothed = [line for line in loss_ax.get_lines() if line.get_label().startswith("train (smoothed")]
    np.testing.assert_allclose(smoothed[0].get_ydata(), smooth(history.steps["loss"], 0.6))
    np.testing.assert_array_equal(line_by_label(loss_ax, "validation").get_ydata(), [2.1, 1.2, 0.8])
    np.testing.assert_array_equal(line_by_label(loss_ax, "train (epoch mean)").get_ydata(), [2.0, 1.0, 0.5])
    np.testing.assert_array_equal(line_by_label(acc_ax, "train").get_ydata(), [0.4, 0.7, 0.9])
    np.testing.assert_array_equal(line_by_label(acc_ax, "validation").get_xdata(), [1, 2, 3])
    assert "best 80.0% at epoch 3" in [t.get_text() for t in acc_ax.get_legend().get_texts()]
    np.testing.assert_array_equal(lr_ax.get_lines()[0].get_ydata(), [0.1, 0.1, 0.05])


def test_plot_history_without_lr_change_or_steps_has_two_panels(tmp_path):
    fig = plot_history(write_run(tmp_path / "r", lr=(0.1, 0.1, 0.1), steps_per_epoch=0))
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["train (epoch mean)", "validation"]
    assert line_by_label(loss_ax, "train (epoch mean)").get_linestyle() == "-"


def test_plot_history_accepts_a_trainer_dict_and_a_loss_array():
    trainer_history = {"train_loss": [2.0, 1.0], "val_loss": [2.2, 1.1], "train_acc": [0.5, 0.8],
                       "val_acc": [0.4, 0.7], "lr": [0.1, 0.1], "steps": [3.0, 2.0, 1.5, 1.0], "best_epoch": 2}
    fig = plot_history(trainer_history)
    assert len(fig.axes) == 2
    raw = line_by_label(fig.axes[0], "train (per step)")
    np.testing.assert_allclose(raw.get_xdata(), [0.5, 1.0, 1.5, 2.0])
    fig = plot_history(np.array([3.0, 2.0, 1.0]))
    (ax,) = fig.axes
    assert ax.get_xlabel() == "step"
    np.testing.assert_array_equal(line_by_label(ax, "train (per step)").get_xdata(), [1, 2, 3])


def test_plot_history_accepts_what_trainer_fit_returns():
    from layernet.metrics import TrainingHistory

    record = TrainingHistory()  # the trainer's in-memory record; plots draw RunCurves made from it
    for epoch, (loss, acc) in enumerate([(2.0, 0.5), (1.0, 0.8)], start=1):
        record.append({"epoch": epoch, "train_loss": loss, "train_acc": acc, "val_loss": loss + 0.1,
                       "val_acc": acc - 0.1, "lr": 0.1, "time_s": 1.0})
    for step, epoch, loss in [(1, 1, 3.0), (2, 1, 2.0), (3, 2, 1.5)]:
        record.add_step(step, epoch, loss)
    curves = as_run_curves(record, name="fit")
    assert isinstance(curves, RunCurves) and curves.name == "fit"
    np.testing.assert_array_equal(curves.columns["val_acc"], [0.4, 0.8 - 0.1])
    np.testing.assert_array_equal(curves.steps["epoch"], [1, 1, 2])
    fig = plot_history(record)
    np.testing.assert_allclose(line_by_label(fig.axes[0], "train (per step)").get_xdata(), [0.5, 1.0, 1.5])


def test_one_class_name_per_concept():
    import layernet.metrics
    import layernet.plot

    assert not hasattr(layernet.metrics, "History") and not hasattr(layernet.plot, "History")
    assert layernet.metrics.TrainingHistory is not layernet.plot.RunCurves


def test_plot_history_of_a_run_interrupted_in_its_first_epoch(tmp_path):
    path = tmp_path / "interrupted"
    path.mkdir()
    (path / "history.csv").write_text(HEADER + "\n")
    (path / "steps.csv").write_text("step,epoch,loss\n1,1,2.3\n2,1,2.1\n")
    (ax,) = plot_history(path).axes
    assert ax.get_xlabel() == "epoch"
    np.testing.assert_array_equal(line_by_label(ax, "train (per step)").get_ydata(), [2.3, 2.1])


def test_the_accuracy_plot_marks_the_checkpoint_the_test_score_came_from(run):
    import json

    # the checkpoint monitors val_loss: its best epoch (2 here, in a hand-made summary) is not the
    # epoch of the best validation accuracy (3)
    (run / "summary.json").write_text(json.dumps({"best_epoch": 2, "monitor": "val_loss", "test_checkpoint": "best",
                                                  "test_acc": 0.71}))
    _, acc_ax, _ = plot_history(run).axes
    label = "best checkpoint by val_loss: epoch 2, validation 65.0%, test 71.0%"
    star = line_by_label(acc_ax, label)
    assert star.get_marker() == "*" and list(star.get_xdata()) == [2] and list(star.get_ydata()) == [0.65]
    assert label in [t.get_text() for t in acc_ax.get_legend().get_texts()]
    (run / "summary.json").write_text(json.dumps({"best_epoch": None, "test_checkpoint": "last", "test_acc": 0.8,
                                                  "last_checkpoint": {"epoch": 3, "step": 12}}))
    _, acc_ax, _ = plot_history(run).axes
    assert list(line_by_label(acc_ax, "last checkpoint: epoch 3, validation 80.0%, test 80.0%").get_xdata()) == [3]


def test_a_one_epoch_run_gets_an_axis_from_0_to_1():
    for history in ({"train_loss": [2.0], "val_loss": [2.2], "train_acc": [0.5], "val_acc": [0.4]},
                    {"train_loss": [2.0], "val_loss": [2.2], "train_acc": [0.5], "val_acc": [0.4],
                     "steps": [3.0, 2.5, 2.0, 1.5]}):
        loss_ax, acc_ax = plot_history(history).axes
        for ax in (loss_ax, acc_ax):
            low, high = ax.get_xlim()
            assert -0.1 <= low <= 0 and 1 <= high <= 1.1, ax.get_xlim()
            assert list(ax.get_xticks()) == [0, 1]
        assert acc_ax.get_ylim() == (0, 1.02)
    fig, ax = plt.subplots()
    plot_runs([{"val_acc": [0.4]}, {"val_acc": [0.4, 0.6, 0.7]}], ax=ax)
    assert ax.get_xlim()[1] > 2.5  # the longest run decides


def test_the_loss_axis_is_logarithmic_when_the_loss_spans_a_decade(run):
    loss_ax = plot_history(run).axes[0]  # per-step losses 2.5 ... 0.21
    assert loss_ax.get_yscale() == "log"
    narrow = {"train_loss": [2.0, 1.5, 1.0], "val_loss": [2.2, 1.6, 1.1], "steps": [2.5, 2.0, 1.5, 1.0, 0.9, 0.8]}
    assert plot_history(narrow).axes[0].get_yscale() == "linear"
    with_zero = {"train_loss": [2.0, 0.5, 0.0], "val_loss": [2.2, 0.4, 0.1]}  # a hinge loss can reach 0
    assert plot_history(with_zero).axes[0].get_yscale() == "linear"


def test_plot_history_into_given_axes(run):
    fig, ax = plt.subplots()
    assert plot_history(run, ax=ax) is fig and len(fig.axes) == 1 and ax.get_title() == "loss"
    fig, axes = plt.subplots(1, 2)
    plot_history(run, ax=[None, axes[1]])
    assert axes[0].get_lines() == [] and axes[1].get_title() == "accuracy"


# --------------------------------------------------------------------------- several runs
def test_plot_runs_labels_from_names_and_differences(tmp_path):
    runs = [write_run(tmp_path / f"r{i}", lr=(lr, lr, lr)) for i, lr in enumerate((0.1, 0.01))]
    fig = plot_runs(runs, metric="val_acc")
    (ax,) = fig.axes
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["quickstart (lr=0.1)", "quickstart (lr=0.01)"]
    for line in ax.get_lines():
        np.testing.assert_array_equal(line.get_ydata(), [0.35, 0.65, 0.80])
    assert ax.get_ylabel() == "validation accuracy" and ax.get_xlabel() == "epoch"
    fig = plot_runs(runs, metric="step_loss")
    assert len(fig.axes[0].get_legend().get_texts()) == 2


def test_run_labels_fall_back_to_directories(tmp_path):
    same = [load_run_curves(write_run(tmp_path / name)) for name in ("a", "b")]
    assert run_labels(same) == ["quickstart [a]", "quickstart [b]"]
    bare = [load_run_curves(write_run(tmp_path / name, config=False)) for name in ("c", "d")]
    assert run_labels(bare) == ["c", "d"]
    layers = "model: {layers: [{type: affine, out_features: %d}]}\n"
    nested = [load_run_curves(write_run(tmp_path / f"w{n}", extra=layers % n)) for n in (16, 32)]
    assert run_labels(nested) == ["quickstart (out_features=16)", "quickstart (out_features=32)"]


# --------------------------------------------------------------------------- files and commands
def test_save_run_plots_writes_decodable_pngs(run):
    written = save_run_plots(run)
    assert set(written) == {"loss", "accuracy"}
    for path in written.values():
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []  # no temp files left
    assert plt.get_fignums() == []  # figures closed


def test_save_run_plots_without_accuracy(tmp_path):
    path = tmp_path / "mse"
    path.mkdir()
    (path / "history.csv").write_text("epoch,train_loss,val_loss,lr\n1,0.5,0.6,0.1\n2,0.3,0.4,0.1\n")
    assert set(save_run_plots(path)) == {"loss"}


def test_plot_command_one_and_several_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b", lr=(0.5, 0.5, 0.5))
    assert plot_command([a]) == a / "history.png" and (a / "history.png").is_file()
    assert plot_command([a, b]).resolve() == tmp_path / "compare_val_acc.png"
    out = plot_command([a, b], out=tmp_path / "loss.svg", metric="train_loss")
    assert out.read_text().lstrip().startswith("<?xml")


# --------------------------------------------------------------------------- bad input
def test_not_a_run_directory_names_the_missing_file_and_inner_runs(tmp_path):
    write_run(tmp_path / "runs" / "2024-01-01")
    with pytest.raises(ValueError, match=r"not a run directory: history.csv is missing; run directories inside"):
        plot_history(tmp_path / "runs")
    with pytest.raises(ValueError, match="no such file or directory"):
        load_run_curves(tmp_path / "nowhere")


def test_empty_history(tmp_path):
    (tmp_path / "history.csv").write_text(HEADER + "\n")
    with pytest.raises(ValueError, match="empty history"):
        plot_history(tmp_path)
    with pytest.raises(ValueError, match="empty history"):
        plot_history({"train_loss": []})


def test_unknown_metric_lists_the_available_ones(run):
    with pytest.raises(ValueError, match=r"no metric 'val_accuracy' in .*; available: train_loss, train_acc"):
        plot_runs([run], metric="val_accuracy")


# --------------------------------------------------------------------------- filters
def test_filter_grid_scales_each_filter_and_pads(rng):
    W = rng.standard_normal((5, 3, 4, 4)) * np.arange(1, 6)[:, None, None, None]
    grid = filter_grid(W, padding=1)
    assert grid.shape == (2 * 5 - 1, 3 * 5 - 1, 3)  # 3 columns, 2 rows
    for f in range(5):
        r, c = divmod(f, 3)
        tile = grid[r * 5 : r * 5 + 4, c * 5 : c * 5 + 4]
        assert tile.min() == 0.0 and tile.max() == 1.0
        np.testing.assert_allclose(tile, (W[f] - W[f].min()).transpose(1, 2, 0) / np.ptp(W[f]))
    assert np.all(grid[4, :] == 1.0)  # padding row
    assert filter_grid(np.zeros((1, 1, 2, 2))).tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_plot_filters_of_a_conv_layer_and_a_model(rng):
    from layernet import Sequential
    from layernet.layers import Conv2d, Flatten

    conv = Conv2d(1, 6, 3, rng=0)
    fig = plot_filters(conv)
    (image,) = fig.axes[0].get_images()
    np.testing.assert_array_equal(image.get_array(), filter_grid(conv.params["W"]))
    assert "6 of 1x3x3" in fig.axes[0].get_title()
    fig = plot_filters(Sequential([Flatten(), conv]))
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(), filter_grid(conv.params["W"]))


@pytest.mark.parametrize("shape", [(4, 2, 3, 3), (4, 3, 3), (0, 1, 3, 3)])
def test_plot_filters_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match=r"C = 1 \(grayscale\) or 3 \(RGB\)"):
        plot_filters(np.ones(shape))


# --------------------------------------------------------------------------- confusion matrix
def test_confusion_matrix_known_answer():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    expected = [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), expected)
    scores = np.eye(4)[y_pred]
    np.testing.assert_array_equal(confusion_matrix(y_true, scores, 4)[:3, :3], expected)
    with pytest.raises(ValueError, match=r"labels outside \[0, 2\)"):
        confusion_matrix(y_true, y_pred, 2)
    with pytest.raises(ValueError, match="integer class labels"):
        confusion_matrix([0.5, 1.0], [0, 1])


def test_plot_confusion_annotates_counts_and_names():
    fig = plot_confusion([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], class_names=["cat", "dog", "bird"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "0", "1", "0", "1", "0", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "bird"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "accuracy 66.7%" in ax.get_title()


# --------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize(
    "report, names, errors",
    [
        ({"x": 1e-10, "0.W": 3e-9, "0.b": 0.0}, ["x", "0.W", "0.b"], [1e-10, 3e-9, 1e-16]),
        ({"conv2d (0)": {"x": 1e-10, "W": 2e-6}, "affine (1)": {"W": 1e-3}},
         ["conv2d (0): x", "conv2d (0): W", "affine (1): W"], [1e-10, 2e-6, 1e-3]),
    ],
)
def test_plot_gradcheck_flat_and_nested(report, names, errors):
    ax = plot_gradcheck(report).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_xscale() == "log"
    np.testing.assert_array_equal(ax.collections[-1].get_offsets()[:, 0], errors)  # 0 drawn at the floor
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["right (< 1e-07)", "look closer", "bug (> 1e-05)"]


@pytest.mark.parametrize("report", [{}, {"conv": {}}, {"x": "big"}, [1e-9]])
def test_plot_gradcheck_rejects_bad_reports(report):
    with pytest.raises(ValueError, match="plot_gradcheck"):
        plot_gradcheck(report)


def test_the_documented_api_is_the_plot_package():
    # README: plot_history, plot_runs, plot_filters, plot_confusion, plot_gradcheck from layernet.plot,
    # the package itself (no alias module of another name in front of it)
    import layernet.plot
    from layernet.plot import plot_confusion, plot_filters, plot_gradcheck, plot_history, plot_runs

    assert os.path.basename(os.path.dirname(layernet.plot.__file__)) == "plot"
    for function in (plot_confusion, plot_filters, plot_gradcheck, plot_history, plot_runs):
        assert function.__module__.startswith("layernet.plot."), function.__module__
        assert function.__name__ in layernet.plot.__all__


def test_importing_plot_does_not_import_matplotlib():
    code = "import sys, layernet, layernet.plot; print('matplotlib' in sys.modules)"
    env = {**os.environ, "MPLBACKEND": "agg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_as_run_curves_rejects_other_objects():
    with pytest.raises(ValueError, match="expected a run directory, a history dict or a 1-D array"):
        as_run_curves(np.zeros((2, 2)))
