# SPDX-License-Identifier: Apache-2.0
import math

import numpy as np
import pytest

from slotwise.models.metrics import auc_roc, brier, mae, mean_std, ranking_metrics, rmse


def test_ranking_metrics_match_hand_computed_values() -> None:
    recs = {"u1": ["a", "b", "c"], "u2": ["x", "y", "z"]}
    rel = {"u1": ["a", "c", "d"], "u2": ["q"]}
    m = ranking_metrics(recs, rel, k=3, n_items=10)
    # u1: hits at ranks 1 and 3; u2: none.
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@3"] == pytest.approx((dcg / idcg + 0) / 2)
    assert m["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["recall@3"] == pytest.approx((2 / 3 + 0) / 2)
    # MAP divides by the number of relevant items (3 for u1), not by the hits.
    assert m["map"] == pytest.approx(((1 / 1 + 2 / 3) / 3 + 0) / 2)
    assert m["hit@3"] == pytest.approx(0.5)
    assert m["coverage"] == pytest.approx(6 / 10)


def test_users_without_relevant_items_are_not_averaged_in() -> None:
    m = ranking_metrics({"u1": ["a"], "u2": ["a"]}, {"u1": ["a"], "u2": []}, k=1)
    assert m["users"] == 1 and m["ndcg@1"] == 1.0


def test_auc_counts_ties_as_half() -> None:
    assert auc_roc(np.array([0, 1]), np.array([0.2, 0.8])) == 1.0
    assert auc_roc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    # pos scores 0.9, 0.4; neg 0.6, 0.1 → pairs won: (0.9>0.6, 0.9>0.1, 0.4>0.1) = 3 of 4
    assert auc_roc(np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.4, 0.1])) == 0.75


def test_rating_and_calibration_errors() -> None:
    assert rmse(np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert mae(np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(1.5)
    assert brier(np.array([1, 0]), np.array([0.8, 0.4])) == pytest.approx((0.04 + 0.16) / 2)
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
