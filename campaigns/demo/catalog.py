"""Acme Foods' products for the demo data: names, sizes, prices, costs and every id a retailer keys them by.

GS1 check digits are computed here so the catalog and the tests agree on one implementation.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

BRAND = "Acme Foods"
CATEGORIES = ("cereal", "snacks", "beverages", "frozen", "pantry")
RETAILERS = ("amazon", "walmart", "instacart", "megamart")
REGIONS = ("US-NE", "US-SE", "US-MW", "US-SW", "US-W", "US-NW", "US-MA", "US-TX")
# MegaMart is a regional chain: it has no stores (and no sales rows) outside these regions.
RETAILER_REGIONS = {
    "amazon": REGIONS,
    "walmart": REGIONS,
    "instacart": REGIONS,
    "megamart": ("US-NE", "US-SE", "US-MW", "US-MA", "US-TX"),
}
# Shelf price relative to list price; Instacart marks up, Walmart undercuts.
RETAIL_PRICE_FACTOR = {"amazon": 1.0, "walmart": 0.96, "instacart": 1.12, "megamart": 0.99}

# (product name without brand, size, list price). The accented and (R) names make encodings matter.
_POOL: dict[str, list[tuple[str, str, str]]] = {
    "cereal": [
        ("Crème Brûlée Oat Clusters Cereal", "11.5 oz", "5.49"),
        ("Honey Nut Toasted Oats", "12 oz", "4.79"),
        ("Frosted Wheat Squares", "18 oz", "5.29"),
        ("Cinnamon Crunch Bites", "14 oz", "4.99"),
        ("Berry Blast Puffs", "10.5 oz", "4.49"),
        ("Ancient Grains Granola", "16 oz", "6.99"),
        ("Chocolate Cocoa Rounds", "13 oz", "4.99"),
        ("Bran Flakes with Raisins", "17 oz", "4.29"),
        ("Maple Pecan Muesli", "15 oz", "6.49"),
        ("Peanut Butter Pillows", "12.2 oz", "5.19"),
    ],
    "snacks": [
        ("Fiesta® Lime Tortilla Chips", "11 oz", "4.29"),
        ("Sea Salt Kettle Potato Chips", "8 oz", "3.99"),
        ("Cheddar Cheese Crackers", "7 oz", "3.49"),
        ("Chewy Oat Granola Bars", "12 ct", "5.99"),
        ("Pretzel Twists", "16 oz", "3.79"),
        ("Dark Chocolate Almond Bars", "6 ct", "6.49"),
        ("White Cheddar Popcorn", "6 oz", "3.99"),
        ("Sweet & Salty Trail Mix", "26 oz", "9.99"),
        ("Sea Salt Rice Crisps", "3.5 oz", "3.29"),
        ("Garden Veggie Straws", "7 oz", "3.99"),
    ],
    "beverages": [
        ("Lime Sparkling Water 12pk", "12 x 12 fl oz", "5.99"),
        ("Cold Brew Coffee", "48 fl oz", "6.99"),
        ("Orange Mango Juice", "52 fl oz", "4.49"),
        ("Honey Ginseng Green Tea 6pk", "6 x 16.9 fl oz", "7.49"),
        ("Berry Electrolyte Drink 8pk", "8 x 20 fl oz", "9.99"),
        ("Original Oat Milk", "64 fl oz", "4.99"),
        ("Classic Lemonade", "59 fl oz", "3.99"),
        ("Pure Coconut Water", "33.8 fl oz", "4.79"),
        ("Ginger Kombucha", "16 fl oz", "3.49"),
        ("Chocolate Protein Shake 4pk", "4 x 11 fl oz", "8.99"),
    ],
    "frozen": [
        ("Margherita Pizza", "17.5 oz", "7.49"),
        ("Chicken Teriyaki Bowl", "10 oz", "4.29"),
        ("Vanilla Bean Ice Cream", "48 fl oz", "5.99"),
        ("Mixed Berry Blend", "32 oz", "8.99"),
        ("Breaded Chicken Nuggets", "29 oz", "9.49"),
        ("Veggie Potstickers", "16 oz", "5.49"),
        ("Homestyle Waffles", "12.3 oz", "3.79"),
        ("Mac & Cheese Bowl", "8 oz", "3.29"),
        ("Riced Cauliflower", "12 oz", "3.49"),
        ("Mango Sorbet Bars", "6 ct", "4.99"),
    ],
    "pantry": [
        ("Marinara Pasta Sauce", "24 oz", "3.99"),
        ("Extra Virgin Olive Oil", "16.9 fl oz", "9.99"),
        ("Penne Rigate", "16 oz", "1.99"),
        ("Creamy Peanut Butter", "16 oz", "3.49"),
        ("Chicken Noodle Soup", "18.6 oz", "2.99"),
        ("Low Sodium Black Beans", "15 oz", "1.49"),
        ("Basmati Rice", "32 oz", "5.49"),
        ("Pure Maple Syrup", "12 fl oz", "10.99"),
        ("Wildflower Honey", "12 oz", "6.99"),
        ("Sea Salt Grinder", "3.5 oz", "3.29"),
    ],
}
MAX_SKUS = sum(len(items) for items in _POOL.values())

# GS1 company prefixes; the first starts with 0, so its UPCs lose a digit wherever a tool reads them as numbers.
_PREFIX_LEADING_ZERO = "041235"
_PREFIXES = ("736210", "850034")


@dataclass(frozen=True)
class Sku:
    index: int
    name: str
    short_name: str
    category: str
    size: str
    list_price_cents: int
    unit_cost_cents: int
    upc: str
    asin: str
    walmart_item_id: str
    megamart_product_id: str
    instacart_product_id: str
    amazon_account: str  # "seller" (3P) or "vendor" (1P); a SKU is sold on Amazon through exactly one
    popularity: float

    @property
    def gtin(self) -> str:
        return self.upc.zfill(14)

    def retail_price_cents(self, retailer: str) -> int:
        cents = round(self.list_price_cents * RETAIL_PRICE_FACTOR[retailer])
        return cents // 10 * 10 + 9  # shelf prices end in 9

    def on_network(self, network: str) -> bool:
        # Not every SKU is advertised everywhere; the pattern keeps the accented SKUs (0 and 1) on Instacart.
        if network == "instacart":
            return self.index % 5 != 3
        if network == "megamart":
            return self.index % 2 == 0
        return True


def upc_check_digit(body: str) -> int:
    """GS1 check digit: weights 3,1,3,... from the rightmost body digit."""
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def cents_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _unique(rng: np.random.Generator, draw, n: int) -> list:
    seen: dict = {}
    while len(seen) < n:
        value = draw()
        seen.setdefault(value, None)
    return list(seen)


def build_skus(rng: np.random.Generator, count: int) -> list[Sku]:
    """`count` SKUs taken round-robin over the categories, so any prefix of the list covers all five."""
    if not 5 <= count <= MAX_SKUS:
        raise ValueError(f"skus must be between 5 and {MAX_SKUS}")
    picks = [(CATEGORIES[i % 5], i // 5) for i in range(count)]
    alnum = np.array(list(string.ascii_uppercase + string.digits))
    item_refs = _unique(rng, lambda: f"{int(rng.integers(0, 100_000)):05d}", count)
    asins = _unique(rng, lambda: "B0" + "".join(rng.choice(alnum, 8)), count)
    walmart_ids = _unique(rng, lambda: str(int(rng.integers(100_000_000, 1_000_000_000))), count)
    megamart_ids = _unique(rng, lambda: f"MM-{int(rng.integers(100_000, 1_000_000))}", count)
    instacart_ids = _unique(rng, lambda: str(int(rng.integers(10_000_000, 100_000_000))), count)
    popularity = np.exp(rng.normal(0.0, 0.45, count))
    cost_share = rng.uniform(0.42, 0.62, count)
    skus = []
    for i, (category, item) in enumerate(picks):
        name, size, price = _POOL[category][item]
        prefix = _PREFIX_LEADING_ZERO if i % 6 == 0 else _PREFIXES[i % 2]
        body = prefix + item_refs[i]
        price_cents = int(Decimal(price) * 100)
        skus.append(
            Sku(
                index=i,
                name=f"Acme {name}",
                short_name=name,
                category=category,
                size=size,
                list_price_cents=price_cents,
                unit_cost_cents=round(price_cents * float(cost_share[i])),
                upc=body + str(upc_check_digit(body)),
                asin=asins[i],
                walmart_item_id=walmart_ids[i],
                megamart_product_id=megamart_ids[i],
                instacart_product_id=instacart_ids[i],
                amazon_account="vendor" if i % 3 == 2 else "seller",
                popularity=float(popularity[i]),
            )
        )
    return skus


def sku_truth(sku: Sku) -> dict:
    return {
        "index": sku.index,
        "name": sku.name,
        "category": sku.category,
        "size": sku.size,
        "gtin": sku.gtin,
        "upc": sku.upc,
        "asin": sku.asin,
        "walmart_item_id": sku.walmart_item_id,
        "megamart_product_id": sku.megamart_product_id,
        "instacart_product_id": sku.instacart_product_id,
        "list_price": cents_text(sku.list_price_cents),
        "unit_cost": cents_text(sku.unit_cost_cents),
        "retail_prices": {r: cents_text(sku.retail_price_cents(r)) for r in RETAILERS},
        "amazon_account": sku.amazon_account,
        "advertised_on": [n for n in ("amazon", "walmart", "instacart", "megamart") if sku.on_network(n)],
    }
