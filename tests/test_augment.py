"""Training-batch augmentation: the kernel against a numpy reference, determinism, errors, the trainer."""

import numpy as np
import pytest

from layernet.data.augment import Augment
from layernet.layers import Affine, Flatten
from layernet.losses import SoftmaxCrossEntropy
from layernet.model import Sequential
from layernet.optim import SGD
from layernet.trainer import Trainer


def reference(x, augment, step):
    """np.pad + slicing + [..., ::-1] + a zeroed square: torchvision's RandomCrop(padding), flip, cutout."""
    b, _, h, w = x.shape
    d = augment.draw(b, h, w, step)
    p = augment.padding or 0
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.empty_like(x)
    for i in range(b):
        crop = padded[i, :, d["dy"][i]:d["dy"][i] + h, d["dx"][i]:d["dx"][i] + w]
        out[i] = crop[:, :, ::-1] if d["flip"][i] else crop
        if augment.cutout:
            y0, x0 = d["y0"][i], d["x0"][i]
            out[i, :, max(y0, 0):max(y0 + augment.cutout, 0), max(x0, 0):max(x0 + augment.cutout, 0)] = 0
    return out


@pytest.mark.parametrize("options", [
    {"random_crop": {"padding": 4}},
    {"horizontal_flip": True},
    {"cutout": {"size": 3}},
    {"random_crop": {"padding": 2}, "horizontal_flip": True, "cutout": {"size": 4}},
    {"random_crop": {"padding": 0}, "horizontal_flip": True},
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_reference(rng, options, dtype):
    x = rng.standard_normal((16, 3, 9, 7)).astype(dtype)
    augment = Augment(**options, seed=3)
    for step in (0, 5):
        out = augment(x, step)
        assert out.dtype == dtype and out.shape == x.shape
        np.testing.assert_array_equal(out, reference(x, augment, step))


def test_seeded_deterministic_and_leaves_input(rng):
    x = rng.standard_normal((32, 3, 8, 8)).astype(np.float32)
    before = x.copy()
    a = Augment(random_crop={"padding": 4}, horizontal_flip=True, cutout={"size": 4}, seed=1)
    b = Augment(random_crop={"padding": 4}, horizontal_flip=True, cutout={"size": 4}, seed=1)
    np.testing.assert_array_equal(a(x, 7), b(x, 7))
    assert not np.array_equal(a(x, 7), a(x, 8))
    assert not np.array_equal(a(x, 7), Augment(random_crop={"padding": 4}, seed=2)(x, 7))
    np.testing.assert_array_equal(x, before)


def test_flip_is_a_mirror_half_the_time(rng):
    x = rng.standard_normal((400, 1, 4, 5))
    out = Augment(horizontal_flip=True)(x, 0)
    flipped = np.array([np.array_equal(o, xi[:, :, ::-1]) for o, xi in zip(out, x)])
    same = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ same) and 150 < flipped.sum() < 250


def test_crop_offsets_cover_the_padding(rng):
    d = Augment(random_crop={"padding": 4}).draw(2000, 32, 32, 0)
    assert d["dy"].min() == 0 and d["dy"].max() == 8 and d["dx"].min() == 0 and d["dx"].max() == 8


@pytest.mark.parametrize("build, message", [
    (lambda: Augment(random_crop={"padding": -1}), "`random_crop` of Augment: expected {padding: an int >= 0}"),
    (lambda: Augment(cutout={"size": 0}), "`cutout` of Augment"),
    (lambda: Augment(horizontal_flip="yes"), "`horizontal_flip` of Augment"),
    (lambda: Augment(cutout={"size": 9})(np.zeros((2, 1, 8, 8)), 0), "cutout size <= the image's 8x8, found size 9"),
    (lambda: Augment(horizontal_flip=True)(np.zeros((2, 64)), 0), "expected a batch of images"),
    (lambda: Augment(horizontal_flip=True).check((64,)), "expected image data \\(C, H, W\\)"),
])
def test_bad_input_is_one_line(build, message):
    with pytest.raises(ValueError, match=message) as info:
        build()
    assert "\n" not in str(info.value)


def _trainer(tmp_path, augment):
    model = Sequential([Flatten(), Affine(2 * 6 * 6, 3, rng=0)])
    return Trainer(model, SoftmaxCrossEntropy(), SGD(lr=0.05, momentum=0.9), batch_size=8, epochs=3, verbose="quiet",
                   checkpoint_dir=tmp_path / "ckpt", augment=augment)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_trainer_augments_training_batches_only_and_resume_continues(tmp_path, rng):
    x = rng.standard_normal((30, 2, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    seen = []

    class Spy(Augment):
        def __call__(self, xb, step):
            seen.append(step)
            return super().__call__(xb, step)

    options = {"random_crop": {"padding": 2}, "horizontal_flip": True}
    straight = _trainer(tmp_path / "a", Spy(**options))
    straight.fit(x, y, x[:10], y[:10])
    assert seen == list(range(12))  # one call per training step (4 batches x 3 epochs), none for validation
    plain = _trainer(tmp_path / "p", None)
    plain.fit(x, y)
    assert not np.array_equal(plain.model.layers[1].params["W"], straight.model.layers[1].params["W"])

    first = _trainer(tmp_path / "b", Augment(**options))
    step = first.optimizer.step

    def step_then_stop(model):  # a Ctrl-C after step 6, mid-epoch 2
        step(model)
        first.stop_flag.requested = first.optimizer.t == 6

    first.optimizer.step = step_then_stop
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y, x[:10], y[:10])
    resumed = _trainer(tmp_path / "b", Augment(**options))
    resumed.restore(tmp_path / "b" / "ckpt" / "last.npz")
    resumed.fit(x, y, x[:10], y[:10])
    for key in ("W", "b"):
        np.testing.assert_array_equal(resumed.model.layers[1].params[key], straight.model.layers[1].params[key])
