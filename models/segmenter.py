# SPDX-License-Identifier: Apache-2.0
"""`Segmenter`: visitor features → segment, a scikit-learn estimator served as one ONNX graph.

    z = Clip((f(x) - mean) / scale, -clip, clip)[:, keep]      f = log1p on the count columns
    segment = argmax of a Gaussian mixture (tied covariance) over z

Why this shape: counts (recency in days, purchases, cart size) are right-skewed, so one persona
with 120-day recencies would otherwise stretch the scale for all the others (log1p); a few
extreme visitors must not own a cluster (clip at ±3 standard deviations); the live-session
columns describe the current visit, not the visitor, and would move a visitor between segments
within one session (dropped by default). A mixture with one shared covariance learns that
device and daypart shares are correlated (they sum to one) and that spend and purchases move
together, which K-Means' spherical clusters cannot; with one covariance it stays cheap and
stable on a few hundred visitors. The number of segments is the smallest k whose BIC gain
reaches `bic_share` (90%) of the best gain over `k_range` and after which one more segment adds
less than 6% of it: on noisy data the BIC keeps falling slowly past the true k (splits along
integer counts), so its plain minimum over-splits. Before that rule, a clear elbow wins: the
smallest k below the BIC minimum whose gain reaches 80% of the best and whose own drop (from
k - 1) is at least 4 times every later one. Well-separated groups give such an elbow even when
the BIC goes on falling by uneven steps to the end of `k_range` (their share rule alone then
depends on how far `k_range` reaches); gradual curves (close groups) have none.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_array, check_is_fitted

LOG_FEATURES = ("recency_days", "purchases", "cart_size", "session_minutes", "session_item_views")
LIVE_SESSION_FEATURES = ("session_minutes", "session_item_views", "session_add_to_cart")
OPSETS = {"": 17, "ai.onnx.ml": 3}
BIC_SHARE, BIC_STEP = 0.9, 0.06
ELBOW_SHARE, ELBOW_RATIO = 0.8, 4.0


def columns(names: Sequence[str], wanted: Sequence[str]) -> tuple[int, ...]:
    """Indices of `wanted` feature names present in `names` (a spec without them: none)."""
    at = {n: i for i, n in enumerate(names)}
    return tuple(at[n] for n in wanted if n in at)


class Segmenter(BaseEstimator, ClusterMixin):  # type: ignore[misc]
    """Log1p, standardize, clip, keep columns, then a Gaussian mixture; k fixed or chosen by BIC."""

    def __init__(
        self,
        n_clusters: int | None = None,
        k_range: tuple[int, int] = (2, 9),
        covariance_type: str = "tied",
        log_columns: tuple[int, ...] = (),
        ignore_columns: tuple[int, ...] = (),
        clip: float = 3.0,
        reg_covar: float = 1e-3,
        n_init: int = 4,
        bic_share: float = BIC_SHARE,
        random_state: int = 0,
    ):
        self.n_clusters, self.k_range, self.covariance_type = n_clusters, k_range, covariance_type
        self.log_columns, self.ignore_columns, self.clip = log_columns, ignore_columns, clip
        self.reg_covar, self.n_init, self.bic_share, self.random_state = reg_covar, n_init, bic_share, random_state

    def _logged(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        cols = list(self.log_columns)
        X[:, cols] = np.log1p(np.maximum(X[:, cols], 0.0))
        return X

    def transform(self, X: Any) -> np.ndarray:
        """The features as the mixture sees them."""
        check_is_fitted(self, "keep_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != len(self.mean_):
            raise ValueError(f"expected {len(self.mean_)} features, got {X.shape[1]}")
        Z = np.clip((self._logged(X) - self.mean_) / self.scale_, -self.clip, self.clip)
        return Z[:, self.keep_]  # type: ignore[no-any-return]

    def _mixture(self, k: int) -> GaussianMixture:
        return GaussianMixture(
            k,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            n_init=self.n_init,
            random_state=self.random_state,
        )

    def fit(self, X: Any, y: Any = None) -> Segmenter:
        X = check_array(X, dtype=np.float64)
        L = self._logged(X)
        self.mean_ = L.mean(axis=0)
        std = L.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        ignored = set(self.ignore_columns)
        self.keep_ = np.array([j for j in range(X.shape[1]) if j not in ignored], dtype=np.int64)
        Z = self.transform(X)
        lo, hi = (self.n_clusters, self.n_clusters) if self.n_clusters else self.k_range
        fitted = {k: self._mixture(k).fit(Z) for k in range(lo, min(hi, len(Z) - 1) + 1)}
        if not fitted:
            raise ValueError(f"too few visitors ({len(Z)}) to cluster")
        self.mixtures_ = fitted  # every candidate, for the report
        self.bic_ = {k: float(m.bic(Z)) for k, m in fitted.items()}
        self.n_clusters_ = self._choose_k(self.bic_)
        self.mixture_ = fitted[self.n_clusters_]
        self.labels_ = self.mixture_.predict(Z)
        return self

    def _choose_k(self, bic: dict[int, float]) -> int:
        first, best = bic[min(bic)], min(bic.values())
        gain = first - best
        if gain <= 0:
            return min(bic)
        ks = sorted(bic)
        lowest = min(bic, key=lambda k: bic[k])
        drops = {k: bic[a] - bic[k] for a, k in itertools.pairwise(ks)}  # drop into k from k - 1
        for k in ks[1:]:
            later = [d for j, d in drops.items() if j > k]
            if k < lowest and first - bic[k] >= ELBOW_SHARE * gain and drops[k] >= ELBOW_RATIO * max(later):
                return k
        for k, b in sorted(bic.items()):
            step = b - bic.get(k + 1, b)  # what one more segment would still add
            if first - b >= self.bic_share * gain and step < BIC_STEP * gain:
                return k
        return min(bic, key=lambda k: bic[k])

    def predict(self, X: Any) -> np.ndarray:
        return self.mixture_.predict(self.transform(X))  # type: ignore[no-any-return]

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.mixture_.predict_proba(self.transform(X))  # type: ignore[no-any-return]

    def to_onnx(self) -> onnx.ModelProto:
        """`features` float32 [batch, n] → `label` int64 [batch], `probabilities` [batch, k]."""
        check_is_fitted(self, "mixture_")
        n = len(self.mean_)
        logmask = np.zeros((1, n), bool)
        logmask[0, list(self.log_columns)] = True

        def c(name: str, value: np.ndarray) -> onnx.TensorProto:
            return numpy_helper.from_array(value, name)

        inits = [
            c("logmask", logmask),
            c("zero", np.array(0.0, np.float32)),
            c("one", np.array(1.0, np.float32)),
            c("mean", self.mean_.astype(np.float32).reshape(1, n)),
            c("scale", self.scale_.astype(np.float32).reshape(1, n)),
            c("lo", np.array(-self.clip, np.float32)),
            c("hi", np.array(self.clip, np.float32)),
            c("keep", self.keep_),
        ]
        nodes = [
            helper.make_node("Max", ["features", "zero"], ["pos"]),
            helper.make_node("Add", ["pos", "one"], ["pos1"]),
            helper.make_node("Log", ["pos1"], ["logged"]),
            helper.make_node("Where", ["logmask", "logged", "features"], ["f"]),
            helper.make_node("Sub", ["f", "mean"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["standard"]),
            helper.make_node("Clip", ["standard", "lo", "hi"], ["clipped"]),
            helper.make_node("Gather", ["clipped", "keep"], ["z"], axis=1),
        ]
        front = helper.make_model(
            helper.make_graph(
                nodes,
                "segment_features",
                [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n])],
                [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", len(self.keep_)])],
                inits,
            ),
            opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()],
        )
        z_type = FloatTensorType([None, len(self.keep_)])
        mix = to_onnx(self.mixture_, initial_types=[("z", z_type)], target_opset=OPSETS)
        front.ir_version = mix.ir_version
        model = onnx.compose.merge_models(front, mix, io_map=[("z", "z")])
        onnx.checker.check_model(model)
        return model
