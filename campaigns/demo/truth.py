"""The demo's known truth: per-cell Hill response curves, incrementality, daily spend plans and calendar effects.

A cell is network x placement x SKU; everything the report files show is drawn from these parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from campaigns.demo.catalog import Sku

HILL_FORMULA = "incr(s) = vmax * s**k / (s**k + h**k)"


@dataclass(frozen=True)
class Placement:
    network: str  # amazon | walmart | instacart | megamart
    name: str  # the network's own placement taxonomy
    incrementality: float  # true share of attributed sales that is incremental, in the program's window
    cpc: float  # mean cost per click, USD
    ctr: float  # mean click-through rate
    daily_spend: float  # typical daily spend per SKU at popularity 1, USD
    iroas: tuple[float, float]  # range of the cells' realised incremental ROAS over the run
    context: str = ""


@dataclass(frozen=True)
class Program:
    """One advertising account/program: its placements share files and an attribution definition."""

    key: str
    network: str
    retailer: str
    placements: tuple[Placement, ...]
    attribution: dict
    view_share: float = 0.0  # share of attributed credit that follows impressions rather than clicks
    other_sku_share: float = 0.12


_AMAZON_CONSOLE = ("Top of search (first page)", "Rest of search", "Product pages")
PROGRAMS: dict[str, Program] = {
    "amazon_seller": Program(
        key="amazon_seller",
        network="amazon",
        retailer="amazon",
        placements=(
            Placement("amazon", _AMAZON_CONSOLE[0], 0.32, 0.95, 0.0075, 14.0, (0.5, 1.2)),  # branded exact: low
            Placement("amazon", _AMAZON_CONSOLE[1], 0.58, 0.78, 0.0032, 18.0, (0.8, 2.2)),
            Placement("amazon", _AMAZON_CONSOLE[2], 0.45, 0.62, 0.0021, 7.0, (0.7, 1.8)),
        ),
        attribution={"window_days": 7, "scope": "click", "model": "last-touch", "booked_on": "ad interaction date"},
    ),
    "amazon_vendor": Program(
        key="amazon_vendor",
        network="amazon",
        retailer="amazon",
        placements=(
            Placement("amazon", _AMAZON_CONSOLE[0], 0.30, 0.95, 0.0075, 16.0, (0.5, 1.2)),  # 14-day window credits more
            Placement("amazon", _AMAZON_CONSOLE[1], 0.52, 0.78, 0.0032, 20.0, (0.8, 2.2)),
            Placement("amazon", _AMAZON_CONSOLE[2], 0.40, 0.62, 0.0021, 8.0, (0.7, 1.8)),
        ),
        attribution={"window_days": 14, "scope": "click", "model": "last-touch", "booked_on": "ad interaction date"},
    ),
    "walmart": Program(
        key="walmart",
        network="walmart",
        retailer="walmart",
        placements=(
            Placement("walmart", "Search Ingrid", 0.55, 0.72, 0.0048, 10.0, (0.9, 2.5)),
            Placement("walmart", "Search Carousel", 0.72, 0.55, 0.0030, 7.0, (1.2, 3.5)),  # higher: reaches non-buyers
            Placement("walmart", "Item Buybox", 0.48, 0.50, 0.0024, 5.0, (0.7, 2.0)),
        ),
        attribution={
            "window_days": 14,
            "scope": "click",
            "model": "last-touch",
            "booked_on": "ad interaction date",
            "also_reported_windows_days": [3, 30],
        },
        other_sku_share=0.15,
    ),
    "instacart": Program(
        key="instacart",
        network="instacart",
        retailer="instacart",
        placements=(
            Placement("instacart", "InGrid", 0.52, 1.05, 0.0060, 6.0, (0.7, 2.0), context="Search"),
            Placement("instacart", "InCarousel", 0.64, 0.85, 0.0028, 4.0, (1.0, 3.0), context="Browse"),
        ),
        attribution={
            "window_days": 14,
            "scope": "click+view",
            "model": "linear multi-touch",
            "booked_on": "ad interaction date",
            "note": "window not stated in the export; 14 days assumed by this generator",
        },
        view_share=0.3,
        other_sku_share=0.0,
    ),
    "megamart": Program(
        key="megamart",
        network="megamart",
        retailer="megamart",
        placements=(
            Placement("megamart", "Search", 0.50, 0.70, 0.0045, 5.0, (0.8, 2.4)),
            Placement("megamart", "Category", 0.66, 0.55, 0.0022, 3.5, (1.0, 3.2)),
            Placement("megamart", "ProductDetail", 0.42, 0.50, 0.0026, 3.0, (0.6, 1.8)),
        ),
        attribution={
            "click_window_days": 30,
            "view_window_days": 1,
            "window_days": 30,
            "scope": "click+view",
            "model": "last-touch",
            "booked_on": "conversion date",
            "note": "Criteo report parameters (defaults); the file itself does not say",
        },
        view_share=0.2,
    ),
}


@dataclass
class Cells:
    """The cells of one program, as parallel arrays plus the objects they point at."""

    program: Program
    placements: list[Placement]
    skus: list[Sku]
    base_spend: np.ndarray  # USD/day before schedule multipliers
    h: np.ndarray
    k: np.ndarray
    vmax: np.ndarray
    target_iroas: np.ndarray
    identifiers: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.skus)

    @property
    def incrementality(self) -> np.ndarray:
        return np.array([p.incrementality for p in self.placements])

    def cell_id(self, i: int) -> str:
        return f"{self.program.network}|{self.placements[i].name}|{self.skus[i].gtin}"


def hill(spend: np.ndarray, vmax: np.ndarray, k: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Incremental sales per day at `spend` per day (broadcasts over cells x days)."""
    s_k = np.power(np.maximum(spend, 0.0), k)
    return vmax * s_k / (s_k + np.power(h, k))


def build_cells(rng: np.random.Generator, program: Program, skus: list[Sku]) -> Cells:
    placements, cell_skus = [], []
    for sku in skus:
        for placement in program.placements:
            placements.append(placement)
            cell_skus.append(sku)
    n = len(cell_skus)
    typical = np.array([p.daily_spend for p in placements]) * np.array([s.popularity for s in cell_skus])
    base = typical * rng.uniform(0.7, 1.3, n)
    h = base * rng.uniform(0.6, 1.6, n)  # typical spend sits around half-saturation, so the bend is visible
    k = rng.uniform(0.8, 2.2, n)
    target_iroas = np.array([rng.uniform(*p.iroas) for p in placements])
    return Cells(program, placements, cell_skus, base, h, k, 2.0 * h * target_iroas, target_iroas)


def calibrate_vmax(cells: Cells, spend_dollars: np.ndarray) -> None:
    """Scale vmax so each cell's realised incremental ROAS over the run is its drawn target.

    Incremental sales are linear in vmax, so one rescale is exact whatever the spend path turned out to be.
    """
    incr = hill(spend_dollars, cells.vmax[:, None], cells.k[:, None], cells.h[:, None]).sum(axis=1)
    total = spend_dollars.sum(axis=1)
    ok = (incr > 0) & (total > 0)
    cells.vmax = cells.vmax * np.where(ok, cells.target_iroas * total / np.where(ok, incr, 1.0), 1.0)


# --- calendar -----------------------------------------------------------------------------------------------

_WEEKLY_SPEND = {  # Monday first
    "amazon": (1.00, 0.99, 0.98, 0.97, 1.00, 1.07, 1.09),
    "walmart": (0.96, 0.95, 0.96, 0.98, 1.04, 1.10, 1.06),
    "instacart": (0.94, 0.92, 0.93, 0.97, 1.06, 1.14, 1.10),
    "megamart": (0.97, 0.96, 0.97, 0.99, 1.03, 1.07, 1.05),
}


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    first_thursday = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thursday + dt.timedelta(days=22)


def event_multiplier(dates: list[dt.date], network: str) -> np.ndarray:
    """Retail calendar on spend: BFCM, December, a January lull, Prime Day (Amazon) and July deals (Walmart)."""
    out = np.ones(len(dates))
    for i, day in enumerate(dates):
        bf = _black_friday(day.year)
        if bf - dt.timedelta(days=4) <= day <= bf + dt.timedelta(days=4):
            out[i] = 1.5
        elif day.month == 12 and day.day <= 22:
            out[i] = 1.15
        elif day.month == 1:
            out[i] = 0.85
        elif day.month == 7 and 8 <= day.day <= 11 and network == "amazon":
            out[i] = 1.9
        elif day.month == 7 and 7 <= day.day <= 12 and network == "walmart":
            out[i] = 1.4
    return out


def spend_plan(rng: np.random.Generator, cells: Cells, dates: list[dt.date]) -> np.ndarray:
    """Target spend per cell per day: budget regimes x weekly x events x bursts x pauses x noise."""
    n, d = len(cells), len(dates)
    regime = np.empty((n, d))
    shocks = np.ones((n, d))
    for c in range(n):
        t = 0
        while t < d:
            length = int(rng.integers(21, 75))
            regime[c, t : t + length] = np.exp(rng.normal(0.0, 0.4))
            t += length
        for _ in range(int(rng.integers(0, 3))):  # bursts
            start = int(rng.integers(0, d))
            shocks[c, start : start + int(rng.integers(4, 12))] *= rng.uniform(1.8, 2.8)
        for _ in range(int(rng.integers(0, 3))):  # pauses (budget out, campaign paused)
            start = int(rng.integers(0, d))
            shocks[c, start : start + int(rng.integers(3, 10))] = 0.0
    weekly = np.array(_WEEKLY_SPEND[cells.program.network])[[day.weekday() for day in dates]]
    events = event_multiplier(dates, cells.program.network)
    noise = np.exp(rng.normal(0.0, 0.12, (n, d)))
    return cells.base_spend[:, None] * regime * shocks * (weekly * events)[None, :] * noise


# --- demand -------------------------------------------------------------------------------------------------

WEEKLY_DEMAND = {  # Monday first
    "amazon": (1.02, 1.00, 0.99, 0.98, 0.98, 1.00, 1.03),
    "walmart": (0.92, 0.90, 0.92, 0.96, 1.06, 1.16, 1.08),
    "instacart": (0.90, 0.88, 0.90, 0.95, 1.08, 1.18, 1.11),
    "megamart": (0.93, 0.91, 0.93, 0.97, 1.05, 1.14, 1.07),
}
ANNUAL_DEMAND = {  # amplitude and peak day-of-year of 1 + a*cos(2*pi*(doy - peak)/365.25)
    "cereal": (0.08, 235),
    "snacks": (0.12, 190),
    "beverages": (0.25, 196),
    "frozen": (0.10, 20),
    "pantry": (0.15, 340),
}
HOLIDAY_DEMAND = {"from": "11-20", "to": "12-24", "multiplier": 1.1}


def demand_multiplier(dates: list[dt.date], retailer: str, category: str) -> np.ndarray:
    amplitude, peak = ANNUAL_DEMAND[category]
    doy = np.array([day.timetuple().tm_yday for day in dates])
    annual = 1.0 + amplitude * np.cos(2 * np.pi * (doy - peak) / 365.25)
    weekly = np.array(WEEKLY_DEMAND[retailer])[[day.weekday() for day in dates]]
    holiday = np.array(
        [HOLIDAY_DEMAND["multiplier"] if "11-20" <= day.strftime("%m-%d") <= "12-24" else 1.0 for day in dates]
    )
    return annual * weekly * holiday


def calendar_truth() -> dict:
    return {
        "weekly_demand_monday_first": {k: list(v) for k, v in WEEKLY_DEMAND.items()},
        "annual_demand": {
            cat: {"form": "1 + a*cos(2*pi*(day_of_year - peak)/365.25)", "a": a, "peak": p}
            for cat, (a, p) in ANNUAL_DEMAND.items()
        },
        "holiday_demand": HOLIDAY_DEMAND,
        "weekly_spend_monday_first": {k: list(v) for k, v in _WEEKLY_SPEND.items()},
    }
