"""Pictures of training runs and of what a network learned.

matplotlib is imported only when a plotting function runs (never at ``import layernet`` or
``import layernet.plot``), through its object API; nothing here calls ``matplotlib.use()``,
so the backend is the user's (headless runs pick Agg, or set ``MPLBACKEND=agg``). Every plotting
function returns the matplotlib Figure and accepts ``ax=`` to draw into an existing Axes.

- ``load_run_curves(run_dir)``, ``smooth(values)``: reading run directories, smoothing curves.
- ``plot_history(run)``, ``plot_runs(run_dirs, metric="val_acc")``: training curves.
- ``save_run_plots(run_dir)``: ``loss.png`` and ``accuracy.png`` in the run directory.
- ``watch_run(run_dir)``: redraw a run's figure while another process writes it (``plot --watch``).
- ``plot_filters(conv_or_W)``, ``plot_confusion(y_true, y_pred)``, ``plot_gradcheck(report)``.
- ``plot_graph(tensor)``: the autograd graph that produced a Tensor (boxes and arrows).
"""

from .confusion import confusion_matrix, plot_confusion
from .curves import plot_history, plot_runs
from .files import confusion_command, gradcheck_command, plot_command, save_figure, save_run_plots
from .filters import filter_grid, plot_filters
from .gradcheck_plot import plot_gradcheck
from .graph import plot_graph
from .run_curves import RunCurves, as_run_curves, load_run_curves
from .labels import run_labels
from .smoothing import smooth
from .watch import watch_run

__all__ = [
    "RunCurves",
    "as_run_curves",
    "confusion_command",
    "confusion_matrix",
    "filter_grid",
    "gradcheck_command",
    "load_run_curves",
    "plot_command",
    "plot_confusion",
    "plot_filters",
    "plot_gradcheck",
    "plot_graph",
    "plot_history",
    "plot_runs",
    "run_labels",
    "save_figure",
    "save_run_plots",
    "smooth",
    "watch_run",
]
