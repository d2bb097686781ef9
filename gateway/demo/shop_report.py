# SPDX-License-Identifier: Apache-2.0
"""The simulation's report: per arm, conversion rate and order value with lift and intervals.

Conversion rate and revenue per visitor come from the gateway's results API (the live counters,
analysed by `measure.analysis` with the holdout as the control); average order value is analysed
by the same `analyze` from the orders the simulator sent (the counters keep revenue per visitor,
not per order). Beside each estimate stands the ground truth: the hidden chances of the pages
actually shown, and of the default page for the same visitors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slotwise.gateway.demo.shop_plot import Panel, Series
from slotwise.gateway.demo.shop_visits import Visit
from slotwise.gateway.demo.shoppers import BANDIT_ARMS, bandit_click
from slotwise.gateway.measure.analysis import analyze
from slotwise.gateway.measure.inputs import InputError


def tally(visits: Sequence[Visit]) -> dict[str, dict[str, Any]]:
    """What the simulator itself sent, per arm: visitors, purchases, orders' sums, hidden chances."""
    arms: dict[str, dict[str, Any]] = {}
    for v in visits:
        a = arms.setdefault(
            v.arm, {"n": 0, "conversions": 0, "orders": 0, "revenue": 0.0, "revenue_sq": 0.0, "chance": 0.0}
        )
        a["n"] += 1
        a["chance"] += v.chance
        a["chance_default"] = a.get("chance_default", 0.0) + v.chance_default
        value = v.behaviour.order_value
        if value is not None:
            a["conversions"] += 1
            a["orders"] += 1
            a["revenue"] += value
            a["revenue_sq"] += value * value
    return arms


def aov_analysis(own: dict[str, dict[str, Any]], arms: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Average order value per arm and its lift over the first arm, by `analyze` (metric mean)."""
    rows = [
        {"name": a, "n": own[a]["orders"], "sum": own[a]["revenue"], "sum_squares": own[a]["revenue_sq"]} for a in arms
    ]
    try:
        out = analyze({"metric": "mean", "arms": rows, "settings": {"engine": "frequentist"}})
    except InputError as exc:
        # Fewer than two orders in an arm: the mean stands, the comparison cannot be made.
        note = str(exc)
        return {r["name"]: {"mean": r["sum"] / r["n"] if r["n"] else None, "ci": None, "note": note} for r in rows}
    return {row["name"]: row for row in out["arms"]}


def _arm_row(metric: dict[str, Any], name: str) -> dict[str, Any]:
    return next((row for row in metric["arms"] if row["name"] == name), {})


def build_report(
    results: dict[str, Any],
    visits: Sequence[Visit],
    planted: float | None,
    seconds: float,
    learned: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the report prints, as JSON-ready data (also written to `results.json`)."""
    own = tally(visits)
    names = [row["name"] for row in results["metrics"]["conversion"]["arms"]]
    for name in names:
        own.setdefault(name, {"n": 0, "conversions": 0, "orders": 0, "revenue": 0.0, "revenue_sq": 0.0, "chance": 0.0})
    aov = aov_analysis(own, names)
    control = own[names[0]]
    arms = []
    for name in names:
        conv, rev = _arm_row(results["metrics"]["conversion"], name), _arm_row(results["metrics"]["revenue"], name)
        mine = own[name]
        true_rate = mine["chance"] / mine["n"] if mine["n"] else None
        default_rate = mine.get("chance_default", 0.0) / mine["n"] if mine["n"] else None
        arms.append(
            {
                "arm": name,
                "visitors": conv.get("n"),
                "conversion_rate": conv.get("mean"),
                "conversion_lift": conv.get("relative_lift"),
                "conversion_ci": conv.get("ci"),
                "conversion_p_value": conv.get("p_value"),
                "revenue_per_visitor": rev.get("mean"),
                "revenue_lift": rev.get("relative_lift"),
                "revenue_ci": rev.get("ci"),
                "orders": mine["orders"],
                "aov": aov[name].get("mean"),
                "aov_lift": aov[name].get("relative_lift"),
                "aov_ci": aov[name].get("ci"),
                "true_conversion_rate": true_rate,
                # The same visitors' chance had they seen the default blocks: the true effect.
                "true_lift": (mine["chance"] / mine["chance_default"] - 1.0)
                if name != names[0] and mine.get("chance_default")
                else None,
                "default_conversion_rate": default_rate,
                "simulator_visitors": mine["n"],
                "simulator_conversions": mine["conversions"],
            }
        )
    agrees = all(
        a["visitors"] == a["simulator_visitors"]
        and a["conversion_rate"] is not None
        and round(a["conversion_rate"] * a["visitors"]) == a["simulator_conversions"]
        for a in arms
    )
    return {
        "experiment": results["experiment"],
        "control": names[0],
        "planted_lift": planted,
        "visitors": len(visits),
        "results_api_matches_simulator": agrees,
        "srm_p_value": results.get("srm_p_value"),
        "arms": arms,
        "seconds": round(seconds, 1),
        "control_true_rate": control["chance"] / control["n"] if control["n"] else None,
        "bandit": bandit_report(visits, learned),
    }


def bandit_report(visits: Sequence[Visit], learned: dict[str, Any] | None) -> dict[str, Any] | None:
    """The bandit's views, clicks and true click rates per arm, and its regret against the best
    fixed arm and against choosing uniformly at random (the baseline), in expected clicks."""
    views = [v for v in visits if v.bandit is not None]
    if not views:
        return None
    arms = list(BANDIT_ARMS)
    true = {a: sum(bandit_click(v.shopper, a) for v in views) / len(views) for a in arms}
    best = max(arms, key=lambda a: true[a])
    regret = sum(bandit_click(v.shopper, best) - bandit_click(v.shopper, v.bandit["arm"]) for v in views if v.bandit)
    uniform = sum(bandit_click(v.shopper, best) - true_mean for v in views for true_mean in [_mean_click(v, arms)])
    final = {a["name"]: a for a in (learned or {}).get("arms", [])}
    rows = []
    for a in arms:
        mine = [v for v in views if v.bandit and v.bandit["arm"] == a]
        clicks = sum(1 for v in mine if v.bandit and v.bandit["clicked"])
        rows.append(
            {
                "arm": a,
                "views": len(mine),
                "share": len(mine) / len(views),
                "clicks": clicks,
                "ctr": clicks / len(mine) if mine else None,
                "true_ctr": true[a],
                "probability_now": final.get(a, {}).get("probability"),
                "pulls_counted": final.get(a, {}).get("pulls"),  # by the gateway, from the impressions
                "rewards_counted": final.get(a, {}).get("reward_sum"),
            }
        )
    return {
        "key": views[0].bandit["key"] if views[0].bandit else None,
        "policy": (learned or {}).get("policy"),
        "reward": (learned or {}).get("reward"),
        "views": len(views),
        "best_arm": best,
        "regret": regret,
        "uniform_regret": uniform,
        "arms": rows,
    }


def _mean_click(v: Visit, arms: Sequence[str]) -> float:
    return sum(bandit_click(v.shopper, a) for a in arms) / len(arms)


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.2f}%"


def _ci(ci: Sequence[float] | None) -> str:
    return f"[{ci[0] * 100:+.1f}%, {ci[1] * 100:+.1f}%]" if ci else "n/a"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_report(report: dict[str, Any]) -> str:
    """The table printed by `slotwise simulate`."""
    lines = [
        f"slotwise simulate: {report['visitors']} visitors, experiment '{report['experiment']}', "
        f"control '{report['control']}' (lifts and 95% intervals relative to it)",
        "",
        f"{'arm':<14}{'visitors':>9}{'conv.rate':>11}{'lift':>9}{'95% CI':>20}{'truth':>9}"
        f"{'orders':>8}{'AOV':>9}{'lift':>9}{'95% CI':>20}{'rev/visitor':>13}",
    ]
    for a in report["arms"]:
        lines.append(
            f"{a['arm']:<14}{a['visitors'] or 0:>9}{_pct(a['conversion_rate']):>11}"
            f"{_pct(a['conversion_lift'], True) if a['conversion_lift'] is not None else '':>9}"
            f"{_ci(a['conversion_ci']) if a['conversion_ci'] else '':>20}"
            f"{_pct(a['true_lift'], True) if a['true_lift'] is not None else '':>9}"
            f"{a['orders']:>8}{_money(a['aov']):>9}"
            f"{_pct(a['aov_lift'], True) if a['aov_lift'] is not None else '':>9}"
            f"{_ci(a['aov_ci']) if a['aov_ci'] else '':>20}{_money(a['revenue_per_visitor']):>13}"
        )
    truth = (
        f"planted: every treated visit converts {report['planted_lift'] * 100:+.0f}% more often"
        if report["planted_lift"] is not None
        else "truth = the hidden conversion chance of the pages shown over that of the default page, same visitors"
    )
    agrees = "yes" if report["results_api_matches_simulator"] else "NO"
    srm = "n/a" if report["srm_p_value"] is None else f"{report['srm_p_value']:.3f}"
    lines += [
        "",
        f"The lift comes from the simulated ground truth ({truth}); it says nothing about real shoppers.",
        f"Results API counters equal the simulator's own tally: {agrees}; SRM p-value {srm}; {report['seconds']} s.",
    ]
    bandit = report.get("bandit")
    if bandit:
        lines += [
            "",
            f"Bandit '{bandit['key']}' ({bandit['policy']}, reward {bandit['reward']}) in the hero, for the "
            f"personalized shoppers no rule speaks to: {bandit['views']} views",
            f"{'arm':<14}{'views':>7}{'share':>8}{'clicks':>8}{'CTR':>8}{'true CTR':>10}{'probability now':>17}",
        ]
        for a in bandit["arms"]:
            prob = "n/a" if a["probability_now"] is None else f"{a['probability_now']:.3f}"
            lines.append(
                f"{a['arm']:<14}{a['views']:>7}{a['share'] * 100:>7.1f}%{a['clicks']:>8}{_pct(a['ctr']):>8}"
                f"{_pct(a['true_ctr']):>10}{prob:>17}"
            )
        ratio = bandit["regret"] / bandit["uniform_regret"] if bandit["uniform_regret"] > 0 else None
        lines.append(
            f"Regret against the best fixed arm ({bandit['best_arm']}): {bandit['regret']:.2f} expected clicks; "
            f"choosing uniformly at random: {bandit['uniform_regret']:.2f}"
            + (f" (ratio {ratio:.2f})" if ratio is not None else "")
        )
    return "\n".join(lines) + "\n"


def panels(visits: Sequence[Visit], arms: Sequence[str], bandit: dict[str, Any] | None) -> list[Panel]:
    """The plot's panels: the experiment's arms, then (with a bandit) the bandit against uniform choice."""
    reward, regret = curves(visits, arms)
    out = [
        Panel("Cumulative reward (purchases)", reward, "purchases"),
        Panel("Cumulative regret vs the best page", regret, "expected purchases lost"),
    ]
    if bandit:
        best, clicks, lost, uniform = bandit["best_arm"], [], [], []
        totals = [0.0, 0.0, 0.0]
        for v in visits:
            if v.bandit is None:
                continue
            totals[0] += 1.0 if v.bandit["clicked"] else 0.0
            totals[1] += bandit_click(v.shopper, best) - bandit_click(v.shopper, v.bandit["arm"])
            totals[2] += bandit_click(v.shopper, best) - _mean_click(v, list(BANDIT_ARMS))
            clicks.append((v.index + 1, totals[0]))
            lost.append((v.index + 1, totals[1]))
            uniform.append((v.index + 1, totals[2]))
        name = f"bandit {bandit['key']}"
        out += [
            Panel(f"Bandit '{bandit['key']}': cumulative reward", [Series(name, clicks)], "clicks"),
            Panel(
                "Bandit regret vs the best fixed arm",
                [Series(name, lost), Series("uniform random (baseline)", uniform)],
                "expected clicks lost",
            ),
        ]
    return out


def curves(visits: Sequence[Visit], arms: Sequence[str]) -> tuple[list[Series], list[Series]]:
    """Cumulative purchases and cumulative expected regret (best page's chance − shown page's) per arm."""
    reward: dict[str, list[tuple[float, float]]] = {a: [] for a in arms}
    regret: dict[str, list[tuple[float, float]]] = {a: [] for a in arms}
    totals = {a: [0.0, 0.0] for a in arms}
    for v in visits:
        if v.arm not in totals:
            continue
        t = totals[v.arm]
        t[0] += 1.0 if v.behaviour.order_value is not None else 0.0
        t[1] += max(0.0, v.chance_best - v.chance)
        reward[v.arm].append((v.index + 1, t[0]))
        regret[v.arm].append((v.index + 1, t[1]))
    return [Series(a, reward[a]) for a in arms], [Series(a, regret[a]) for a in arms]
