# SPDX-License-Identifier: Apache-2.0
"""Bandit policies over plain counters, and off-policy evaluation of logged decisions.

One job: choose an arm, learn from its reward, say with which probability each arm is chosen,
and estimate from logs what another policy would have earned. Imports numpy and the standard
library only (no scipy, no other gateway package), so the policies run the same in the render
path, in tests and in benchmarks.
"""

from slotwise.gateway.decisions.bandits.classic import UCB1, EpsilonGreedy
from slotwise.gateway.decisions.bandits.contextual import ContextualThompson
from slotwise.gateway.decisions.bandits.counters import Counters
from slotwise.gateway.decisions.bandits.policy import Policy
from slotwise.gateway.decisions.bandits.registry import POLICIES, make_policy, policy_from_state
from slotwise.gateway.decisions.bandits.thompson import ThompsonSampling

__all__ = [
    "POLICIES",
    "UCB1",
    "ContextualThompson",
    "Counters",
    "EpsilonGreedy",
    "Policy",
    "ThompsonSampling",
    "make_policy",
    "policy_from_state",
]
