"""The life cycle of one scheme, month by month.

Stages (indicator-catalogue §6): 0 set-up (shells, people, addresses), 1 acquisition (ads,
seminars, first payouts made on time), 2 expansion (sales hiring, branches, inflows peak),
3 stress (raised yields, payouts fall behind, first complaints), 4 collapse (提现困难,
失联跑路, 清退 or a police case), then the aftermath (police filing, judgments). Stage
lengths are lognormal (``params.schemes.stage_months``); the money raised follows the
number of new participants, who arrive faster and faster until the stress stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fengyan.simulate.core import Floats, Ints
from fengyan.simulate.params import SchemeParams, Typology

STAGES = ("setup", "acquisition", "expansion", "stress", "collapse", "after")


@dataclass
class Scheme:
    """One scheme and everything the simulator decided about it."""

    id: int
    typology: str
    setup: int  # month the core firm is set up
    launch: int  # first promotion
    expansion: int
    stress: int
    collapse: int  # may lie beyond the window (still running at its end)
    police: int
    judgment: int
    mode: str  # how it ends
    loudness: float
    promised: float  # annual %, as first advertised
    fmt: str  # yield format
    ticket: float  # median yuan per participant
    victims: int  # participants over the whole life
    brand: str = ""
    product: str = ""
    core: int = -1
    shells: list[int] = field(default_factory=list)
    successor: int = -1
    controller: int = -1
    nominees: list[int] = field(default_factory=list)
    migrated: bool = False
    renamed: bool = False
    new_word: str = ""  # industry word after a rename
    branches: list[int] = field(default_factory=list)
    # Monthly series over months setup … collapse (index 0 = setup month).
    new_victims: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    inflow: Floats = field(default_factory=lambda: np.zeros(0))
    payout: Floats = field(default_factory=lambda: np.zeros(0))

    def stage(self, m: int) -> str:
        """Stage of month ``m``."""
        if m < self.launch:
            return "setup"
        if m < self.expansion:
            return "acquisition"
        if m < self.stress:
            return "expansion"
        if m < self.collapse:
            return "stress"
        return "collapse" if m == self.collapse else "after"

    def series(self, m: int) -> tuple[int, float, float]:
        """New participants, inflow and payouts in month ``m`` (zeros outside the life)."""
        i = m - self.setup
        if 0 <= i < len(self.inflow):
            return int(self.new_victims[i]), float(self.inflow[i]), float(self.payout[i])
        return 0, 0.0, 0.0

    @property
    def raised(self) -> float:
        """Money taken in over the life."""
        return float(self.inflow.sum())

    @property
    def lost(self) -> float:
        """Money participants did not get back."""
        return max(0.0, float(self.inflow.sum() - self.payout.sum()))


def plan(
    rng: np.random.Generator, sid: int, name: str, t: Typology, p: SchemeParams, months: int
) -> Scheme:
    """Timing, size and promise of scheme ``sid`` of typology ``name``."""
    sm = p.stage_months

    def length(spec: tuple[float, float]) -> int:
        return max(1, round(spec[0] * float(np.exp(spec[1] * rng.standard_normal()))))

    for _ in range(100):  # schemes that ended before the window are not of interest
        launch = int(rng.integers(-p.launch_before_window, max(1, months - 2)))
        setup = launch - length(sm.setup)
        expansion = launch + length(sm.acquisition)
        stress = expansion + length(sm.expansion)
        collapse = stress + length(sm.stress)
        if collapse >= 1:
            break
    modes = list(t.collapse)
    weights = np.array(list(t.collapse.values()))
    mode = modes[int(rng.choice(len(modes), p=weights / weights.sum()))]
    scheme = Scheme(
        id=sid,
        typology=name,
        setup=setup,
        launch=launch,
        expansion=expansion,
        stress=stress,
        collapse=collapse,
        police=collapse + int(rng.integers(p.police_after[0], p.police_after[1] + 1)),
        judgment=collapse + int(rng.integers(p.judgment_after[0], p.judgment_after[1] + 1)),
        mode=mode,
        loudness=float(np.exp(p.loudness_sigma * rng.standard_normal())),
        promised=float(rng.uniform(*t.yield_)),
        fmt=t.formats[int(rng.integers(0, len(t.formats)))],
        ticket=float(t.ticket_wan[0] * 1e4 * np.exp(t.ticket_wan[1] * rng.standard_normal())),
        victims=max(20, int(t.victims[0] * np.exp(t.victims[1] * rng.standard_normal()))),
    )
    _money(rng, scheme, p.payout_ratio)
    return scheme


def _money(rng: np.random.Generator, s: Scheme, payout_ratio: float) -> None:
    """New participants, inflows and payouts from set-up to collapse."""
    span = s.collapse - s.setup + 1
    m = np.arange(s.setup, s.collapse + 1)
    weight = np.zeros(span)
    grow = (m >= s.launch) & (m < s.stress)
    weight[grow] = np.exp(0.35 * (m[grow] - s.launch))  # word of mouth: faster every month
    peak = weight.max() if weight.any() else 1.0
    stressed = (m >= s.stress) & (m < s.collapse)
    weight[stressed] = peak * 0.55 ** (m[stressed] - s.stress + 1)
    weight = weight / weight.sum() if weight.sum() else weight
    if weight.any():
        s.new_victims = rng.multinomial(s.victims, weight).astype(np.int64)
    else:
        s.new_victims = np.zeros(span, dtype=np.int64)
    # Each newcomer pays about the median ticket; earlier participants top up a little.
    tickets = s.ticket * np.exp(0.3 * rng.standard_normal(span))
    principal_in = s.new_victims * tickets
    active = np.cumsum(s.new_victims)
    topups = 0.03 * np.concatenate([[0], active[:-1]]) * tickets
    s.inflow = principal_in + topups
    # Promised returns are paid on time at first (to build trust), late under stress, and
    # the rest of the money leaves at the collapse.
    principal = np.cumsum(s.inflow)
    monthly_due = principal * s.promised / 100 / 12
    paid_share = np.where(m < s.stress, payout_ratio, np.where(m < s.collapse, 0.25, 0.0))
    # Short-term products fall due after about six months: part of the principal of early
    # participants is repaid from newer money (拆东墙补西墙), the rest rolls over.
    due = np.concatenate([np.zeros(min(6, span)), s.inflow[:-6]])[:span]
    redeemed = due * np.where(m < s.stress, payout_ratio * 0.6, 0.05)
    s.payout = np.minimum(monthly_due * paid_share + redeemed, s.inflow + 0.2 * principal)
