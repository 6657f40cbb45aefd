"""The canonical placement taxonomy and each network's names for it (data, extended by a spec's own map)."""

from __future__ import annotations

from campaigns.models import Placement

# Raw names are matched case-insensitively after trimming.
NETWORK_PLACEMENTS: dict[str, dict[str, str]] = {
    "amazon": {
        "top of search on-amazon": Placement.TOP_OF_SEARCH,
        "top of search (first page)": Placement.TOP_OF_SEARCH,
        "other on-amazon": Placement.REST_OF_SEARCH,
        "rest of search": Placement.REST_OF_SEARCH,
        "detail page on-amazon": Placement.PRODUCT_PAGE,
        "product pages": Placement.PRODUCT_PAGE,
        "off amazon": Placement.OFFSITE,
        "homepage on-amazon": Placement.HOMEPAGE,
    },
    "walmart": {
        "buy-box": Placement.BUY_BOX,
        "item buybox": Placement.BUY_BOX,
        "search ingrid": Placement.IN_GRID,  # sic: Walmart's own spelling
        "search in-grid": Placement.IN_GRID,
        "home page": Placement.HOMEPAGE,
        "stock up": Placement.BROWSE,
        "search carousel": Placement.CAROUSEL,
        "item carousel": Placement.CAROUSEL,
    },
    "instacart": {
        "ingrid": Placement.IN_GRID,
        "incarousel": Placement.CAROUSEL,
        "mixedadscarousel": Placement.CAROUSEL,
        "search": Placement.IN_GRID,
        "browse": Placement.BROWSE,
        "buy it again": Placement.BROWSE,
    },
    "criteo": {
        "search": Placement.IN_GRID,
        "category": Placement.BROWSE,
        "browse": Placement.BROWSE,
        "productdetail": Placement.PRODUCT_PAGE,
        "product detail": Placement.PRODUCT_PAGE,
        "home": Placement.HOMEPAGE,
        "homepage": Placement.HOMEPAGE,
        "checkout": Placement.OTHER,
        "confirmation": Placement.OTHER,
        "merchandising": Placement.ONSITE_DISPLAY,
        "deals": Placement.BROWSE,
        "offsite": Placement.OFFSITE,
    },
}


def placement_map_for(*, network: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Raw (lower-cased) → canonical for one network, with a spec's own entries taking precedence."""
    mapping = dict(NETWORK_PLACEMENTS.get(network, {}))
    for raw, canonical in (extra or {}).items():
        if canonical not in Placement.values:
            raise ValueError(f"placement {canonical!r} is not one of {', '.join(Placement.values)}")
        mapping[raw.strip().lower()] = canonical
    return mapping
