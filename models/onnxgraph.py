# SPDX-License-Identifier: Apache-2.0
"""Recommender scoring graphs in plain ONNX (no custom ops), with the numpy twin of each.

A scorer maps `interactions` float32 [batch, n_items] to `scores` float32 [batch, n_items]:

    x' = Clip(x, 0, 1)                     # weights above 1 count as one interaction
    s  = bias + sum over terms of  x'[:, :m] @ W  (or @ P @ Q), padded to n_items
    scores = Where(x > 0, -1e9, s)         # items the visitor already has are never re-offered

Columns are ordered so each term covers a prefix of them (the most popular items first).
`x' @ W` gathers only the rows of W for the visitor's non-zero items (NonZero + Gather), so a
request reads a few rows instead of the whole matrix: this keeps single requests fast on
large catalogs where a dense MatMul would be bound by memory bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEEN = np.float32(-1e9)
OPSET = 17


@dataclass
class Term:
    """`x[:, :m] @ first` or `x[:, :m] @ first @ second`, scores for the first columns."""

    first: np.ndarray
    second: np.ndarray | None = None

    @property
    def width_in(self) -> int:
        return int(self.first.shape[0])

    @property
    def width_out(self) -> int:
        return int((self.second if self.second is not None else self.first).shape[1])


@dataclass
class Scorer:
    n_items: int
    terms: list[Term] = field(default_factory=list)
    bias: np.ndarray | None = None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """numpy reference of the exported graph (float32 throughout, like onnxruntime)."""
        x = np.asarray(x, dtype=np.float32)
        xc = np.clip(x, 0.0, 1.0)
        s = np.zeros(x.shape, dtype=np.float32)
        if self.bias is not None:
            s += self.bias.astype(np.float32)
        for t in self.terms:
            part = xc[:, : t.width_in] @ t.first.astype(np.float32)
            if t.second is not None:
                part = part @ t.second.astype(np.float32)
            s[:, : t.width_out] += part
        return np.where(x > 0, SEEN, s).astype(np.float32)

    def halved(self) -> Scorer:
        """The same scorer with float16 weights (what the bundle stores)."""

        def half(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a.astype(np.float16)

        return Scorer(self.n_items, [Term(t.first.astype(np.float16), half(t.second)) for t in self.terms], self.bias)

    def to_onnx(self, name: str = "recommender") -> onnx.ModelProto:
        n = self.n_items
        nodes: list[onnx.NodeProto] = []
        inits: list[onnx.TensorProto] = []

        def const(cname: str, value: np.ndarray) -> str:
            inits.append(numpy_helper.from_array(value, cname))
            return cname

        def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
            nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
            return out

        def weights(wname: str, value: np.ndarray) -> str:
            # float16 on disk halves the bundle; the Cast of a constant is folded at load time.
            if value.dtype == np.float16:
                return node("Cast", [const(wname + "_f16", value)], wname, to=TensorProto.FLOAT)
            return const(wname, value.astype(np.float32))

        zero, one = const("zero", np.array(0, np.float32)), const("one", np.array(1, np.float32))
        xc = node("Clip", ["interactions", zero, one], "x_clip")
        shape = node("Shape", ["interactions"], "x_shape")
        batch = node("Gather", [shape, const("i0", np.array([0], np.int64))], "batch", axis=0)
        onehot_values = const("onehot_values", np.array([0, 1], np.float32)) if self.terms else ""
        total = None
        for k, t in enumerate(self.terms):
            p = f"t{k}_"
            xm = node(
                "Slice",
                [
                    xc,
                    const(p + "start", np.array([0], np.int64)),
                    const(p + "end", np.array([t.width_in], np.int64)),
                    const(p + "axes", np.array([1], np.int64)),
                ],
                p + "x",
            )
            nz = node("NonZero", [xm], p + "nz")
            rows = node("Gather", [nz, const(p + "r", np.array(0, np.int64))], p + "rows", axis=0)
            cols = node("Gather", [nz, const(p + "c", np.array(1, np.int64))], p + "cols", axis=0)
            vals = node("GatherND", [xm, node("Transpose", [nz], p + "nzT", perm=[1, 0])], p + "vals")
            w = weights(p + "W", t.first)
            g = node("Gather", [w, cols], p + "g", axis=0)
            gv = node(
                "Mul", [g, node("Unsqueeze", [vals, const(p + "ax1", np.array([1], np.int64))], p + "vcol")], p + "gv"
            )
            oh = node("OneHot", [rows, batch, onehot_values], p + "oh", axis=0)  # [batch, nnz]
            part = node("MatMul", [oh, gv], p + "part")
            if t.second is not None:
                part = node("MatMul", [part, weights(p + "Q", t.second)], p + "part2")
            if t.width_out < n:
                pads = np.array([0, 0, 0, n - t.width_out], np.int64)
                part = node("Pad", [part, const(p + "pads", pads)], p + "padded")
            total = part if total is None else node("Add", [total, part], p + "sum")
        bias = (self.bias if self.bias is not None else np.zeros(n)).astype(np.float32).reshape(1, n)
        b = const("bias", bias)
        if total is None:  # popularity only: scores = bias, broadcast over the batch
            total = node("Mul", ["interactions", const("nil", np.array(0, np.float32))], "nil_x")
        s = node("Add", [total, b], "s")
        seen = node("Greater", ["interactions", zero], "seen")
        node("Where", [seen, const("seen_score", np.array(SEEN, np.float32)), s], "scores")
        graph = helper.make_graph(
            nodes,
            name,
            [helper.make_tensor_value_info("interactions", TensorProto.FLOAT, ["batch", n])],
            [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", n])],
            inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="slotwise")
        model.ir_version = 8  # readable by every onnxruntime since 1.10
        onnx.checker.check_model(model)
        return model
