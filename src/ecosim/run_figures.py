"""Figures of a single run: the pipeline funnel with failures, activity and the network over time.

Figures are plain :class:`matplotlib.figure.Figure` objects, not pyplot's: nothing global is
touched (no backend is chosen, no figure is registered), ``fig.savefig`` writes them, and a
notebook shows each once."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ecosim.plots import CAUSE_COLOURS  # one colour per cause in every figure
from ecosim.scenario import CAUSES, GATES

GATE_LABELS = {"G1": "G1 proof of concept", "G2": "G2 validation", "G3": "G3 pilot", "G4": "G4 market entry"}


def funnel_figure(summary: dict[str, float], title: str = "Where technologies fail") -> Figure:
    """Technologies that ended at each gate, stacked by cause, beside the counts that got through."""
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(GATES))
    bottom = np.zeros(len(GATES))
    for cause in CAUSES:
        values = np.array([summary.get(f"fail_{g}_{cause}", 0.0) for g in GATES])
        ax.bar(x, values, bottom=bottom, color=CAUSE_COLOURS[cause], label=f"failed: {cause}")
        bottom += values
    ax.set_xticks(x, [GATE_LABELS[g] for g in GATES])
    ax.set_ylabel("technologies that ended here (count)")
    ax.set_xlabel("stage gate")
    ax.set_title(title)
    text = (f"disclosed {summary.get('disclosures', 0):,.0f} · converted {summary.get('deals', 0):,.0f} · "
            f"reached market {summary.get('commercialisations', 0):,.0f}")
    ax.text(0.99, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.legend(loc="center right")
    return fig


def activity_figure(steps: pd.DataFrame, title: str = "Disclosures, deals and market entries per year") -> Figure:
    """Yearly disclosures, deals and commercialisations of one run."""
    yearly = steps.groupby("year")[["disclosures", "deals", "commercialisations"]].sum()
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for column, label in (("disclosures", "disclosures"), ("deals", "deals (conversions)"),
                          ("commercialisations", "market entries")):
        ax.plot(yearly.index, yearly[column], marker="o", label=label)
    ax.set_xlabel("simulated year")
    ax.set_ylabel("technologies per year (count)")
    ax.set_title(title)
    ax.legend()
    return fig


NETWORK_MEASURES = ("network_density", "manager_betweenness", "triple_helix_synergy")


def network_measures_figure(steps: pd.DataFrame, title: str = "The network over the run") -> Figure:
    """The network's density, the managers' brokerage (betweenness) and the triple-helix synergy
    of one run, quarter by quarter, one panel each, labelled from the metric catalogue."""
    from ecosim.metric_catalogue import entry

    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, len(NETWORK_MEASURES))
    for ax, column in zip(axes, NETWORK_MEASURES, strict=True):
        ax.plot(steps["step"] / 4, steps[column])
        ax.set_title(entry(column).label, fontsize=10, wrap=True)
        ax.set_ylabel(entry(column).axis_label, fontsize=8, wrap=True)
        ax.set_xlabel("simulated year")
    fig.suptitle(title)
    return fig
