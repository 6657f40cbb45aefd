"""The brand adapter's compliant-copy data: a product, its claims and a retailer placement in, ad copy as JSON
{"headline", "body"} out that the retailer's own policy checker passes; with DPO pairs (passing vs failing copy).

Copy is written from templates, then run through the real checker (`checker.check_creative`); whatever it flags is
repaired the way the violation's fix says (remove the term, use the replacement, add the disclaimer, shorten, ...) and
checked again, so every completion is copy the checker passes. Failing drafts come from mutations that add what the
rules forbid (superlatives, price and health claims, competitors, links, shouting...), kept only if the checker flags
them. Products, request frames and copy templates are split between training and the held-out set.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from governance.policies.checker import CompiledPolicy, Violation, check_creative, policy_compile
from governance.policies.demo import MEGAMART_POLICY_RULES
from governance.policies.models import RuleKind
from governance.policies.rules import CLAIM_PATTERNS
from inference.training.datasets import DatasetInvalid, ToolCallCase, TrainingData

HEADLINE_MAX, BODY_MAX = 60, 150
FAILING = ("block", "warn")  # an "info" finding is advice; a warning is something a reviewer sends back
COPY_SYSTEM = "Write ad copy that passes the retailer's ad policy. Answer as JSON with headline and body."
NO_ACTIVE_POLICY = "{name} has no active policy set to write copy for."
DEFAULT_RETAILER = "MegaMart"
PLACEMENTS = ("top_of_search", "product_page", "onsite_display", "homepage", "offsite")
DEFAULT_PLACEMENT = "product_page"

COPY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"headline": {"type": "string", "minLength": 1, "maxLength": HEADLINE_MAX},
                   "body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX}},
    "required": ["headline", "body"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Product:
    key: str
    category: str  # as the checker scopes rules: "alcohol/wine" is covered by rules for "alcohol"
    brand: str
    name: str
    size: str
    claims: tuple[str, ...]  # true and sayable
    short: str  # what a tight headline calls it
    noun: str

    @property
    def title(self) -> str:
        return f"{self.brand} {self.name}, {self.size}"


def _products(category: str, noun: str, brand: str, items: list[tuple[str, str, tuple, str]]) -> list[Product]:
    def key(name: str) -> str:
        plain = unicodedata.normalize("NFKD", f"{brand} {name}").encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")

    return [Product(key(name), category, brand, name, size, claims, short, noun) for name, size, claims, short in items]


PRODUCTS: list[Product] = [
    *_products("cereal", "cereal", "Acme Foods", [
        ("Honey Nut Toasted Oats", "12 oz", ("made with whole grain oats", "no artificial flavors"), "Toasted Oats"),
        ("Ancient Grains Granola", "16 oz", ("8g of protein per serving", "baked in small batches"), "Granola"),
        ("Maple Pecan Muesli", "15 oz", ("real maple and toasted pecans", "no added colors"), "Muesli"),
        ("Crème Brûlée Oat Clusters", "11.5 oz", ("caramelized oat clusters", "a dessert-inspired crunch"),
         "Oat Clusters")]),
    *_products("snacks", "snack", "Acme Foods", [
        ("Sea Salt Kettle Potato Chips", "8 oz", ("kettle-cooked for extra crunch", "gluten-free"), "Kettle Chips"),
        ("Cheddar Cheese Crackers", "7 oz", ("made with real aged cheddar", "baked, not fried"), "Cheddar Crackers"),
        ("Chewy Oat Granola Bars", "12 ct", ("individually wrapped", "made with whole grains"), "Granola Bars"),
        ("Sweet & Salty Trail Mix", "26 oz", ("almonds, cashews and chocolate", "a resealable bag"), "Trail Mix")]),
    *_products("beverages", "drink", "Acme Foods", [
        ("Cold Brew Coffee", "48 fl oz", ("steeped for 20 hours", "smooth and ready to pour"), "Cold Brew"),
        ("Lime Sparkling Water 12pk", "12 x 12 fl oz", ("zero calories", "a crisp lime finish"), "Sparkling Water"),
        ("Ginger Kombucha", "16 fl oz", ("naturally fermented", "a bright ginger kick"), "Kombucha"),
        ("Original Oat Milk", "64 fl oz", ("creamy enough for coffee", "plant-based"), "Oat Milk")]),
    *_products("frozen", "freezer favorite", "Acme Foods", [
        ("Margherita Pizza", "17.5 oz", ("stone-baked crust", "whole-milk mozzarella"), "Pizza"),
        ("Veggie Potstickers", "16 oz", ("ready in 8 minutes", "pan-fry or steam"), "Potstickers"),
        ("Homestyle Waffles", "12.3 oz", ("toaster-ready", "a golden, fluffy bite"), "Waffles"),
        ("Mango Sorbet Bars", "6 ct", ("made with real mango", "dairy-free"), "Sorbet Bars")]),
    *_products("pantry", "pantry staple", "Acme Foods", [
        ("Marinara Pasta Sauce", "24 oz", ("slow-simmered tomatoes", "no added sugar"), "Marinara"),
        ("Extra Virgin Olive Oil", "16.9 fl oz", ("cold-pressed", "a peppery finish"), "Olive Oil"),
        ("Pure Maple Syrup", "12 fl oz", ("Grade A amber", "tapped in Vermont"), "Maple Syrup"),
        ("Creamy Peanut Butter", "16 oz", ("just peanuts and salt", "stir-free spread"), "Peanut Butter")]),
    *_products("household", "home essential", "BrightHome", [
        ("Lemon Dish Soap", "24 fl oz", ("cuts through grease", "a fresh lemon scent"), "Dish Soap"),
        ("Lavender Laundry Pods", "42 ct", ("pre-measured pods", "a calming lavender scent"), "Laundry Pods"),
        ("Compostable Trash Bags", "30 ct", ("compostable", "strong drawstring closure"), "Trash Bags"),
        ("Streak-Free Glass Cleaner", "32 fl oz", ("a streak-free shine", "works on mirrors too"), "Glass Cleaner")]),
    *_products("personal_care", "daily essential", "Pure Glow", [
        ("Fresh Mint Toothpaste", "4.8 oz", ("fresh mint flavor", "fluoride toothpaste"), "Toothpaste"),
        ("Oat Milk Body Wash", "18 fl oz", ("a creamy lather", "fragrance-free option"), "Body Wash"),
        ("Charcoal Deodorant", "2.6 oz", ("aluminum-free", "48-hour odor protection"), "Deodorant"),
        ("Coconut Shampoo", "13.5 fl oz", ("smells like a beach day", "sulfate-free"), "Shampoo")]),
    *_products("beauty", "beauty pick", "Pure Glow", [
        ("Hydrating Face Serum", "1 fl oz", ("hyaluronic acid", "lightweight and fast-absorbing"), "Face Serum"),
        ("Volumizing Mascara", "0.3 oz", ("smudge-resistant", "a full-lash look"), "Mascara"),
        ("Mineral Sunscreen SPF 30", "3 fl oz", ("broad spectrum SPF 30", "water-resistant for 40 minutes"),
         "Sunscreen"),
        ("Matte Lipstick", "0.12 oz", ("long-wearing color", "12 shades"), "Lipstick")]),
    *_products("supplements", "supplement", "Vital Roots", [
        ("Vitamin D3 Gummies", "60 ct", ("60 gummies per bottle", "natural berry flavor"), "Vitamin D3"),
        ("Magnesium Glycinate Capsules", "120 ct", ("two capsules a day", "third-party tested"), "Magnesium"),
        ("Elderberry Gummies", "60 ct", ("made with black elderberry", "vegan gummies"), "Elderberry"),
        ("Fish Oil Softgels", "90 ct", ("1,000 mg per softgel", "lemon flavored"), "Fish Oil")]),
    *_products("otc_medicine", "medicine cabinet staple", "CareWell", [
        ("Allergy Relief Tablets", "30 ct", ("non-drowsy formula", "24-hour tablets"), "Allergy Tablets"),
        ("Ibuprofen Tablets 200 mg", "100 ct", ("200 mg tablets", "easy-to-swallow coating"), "Ibuprofen"),
        ("Honey Lemon Cough Drops", "30 ct", ("honey lemon flavor", "individually wrapped"), "Cough Drops"),
        ("Saline Nasal Spray", "1.5 fl oz", ("drug-free saline", "gentle mist"), "Nasal Spray")]),
    *_products("alcohol/wine", "wine", "Hillcrest Cellars", [
        ("Napa Valley Cabernet Sauvignon", "750 ml", ("aged 18 months in oak", "notes of dark cherry"),
         "Napa Cabernet"),
        ("Sonoma Chardonnay", "750 ml", ("crisp and buttery", "pairs with roast chicken"), "Chardonnay"),
        ("Dry Rosé", "750 ml", ("strawberry and citrus notes", "serve chilled"), "Rosé")]),
    *_products("alcohol/beer", "beer", "Old Mill Brewing", [
        ("Hazy IPA 6pk", "6 x 12 fl oz", ("juicy citrus hops", "unfiltered"), "Hazy IPA"),
        ("Light Lager 12pk", "12 x 12 fl oz", ("crisp and clean", "95 calories a can"), "Light Lager")]),
    *_products("infant_formula", "formula", "Little Sprout", [
        ("Infant Formula with Iron", "12.4 oz", ("with DHA", "non-GMO ingredients"), "Infant Formula"),
        ("Gentle Infant Formula", "20 oz", ("easy to digest proteins", "with iron"), "Gentle Formula")]),
    *_products("candy", "treat", "Sweet Street", [
        ("Sour Gummy Worms", "8 oz", ("sweet, then sour", "a resealable pouch"), "Gummy Worms"),
        ("Milk Chocolate Bar", "3.5 oz", ("creamy milk chocolate", "fair trade cocoa"), "Chocolate Bar"),
        ("Peppermint Patties", "12 oz", ("cool peppermint center", "dark chocolate coating"), "Peppermint Patties")]),
]
# Claims brands ask for that the rules forbid or that need more than the copy can hold: requests sometimes carry one,
# and compliant copy leaves it out.
RISKY_CLAIMS = ("the best {noun} you can buy", "boosts your immune system", "lowest price anywhere",
                "cheaper than Walmart", "America's favorite {noun}", "clinically proven", "a miracle in every bottle",
                "supports immune health", "FDA approved", "guaranteed results")


def _held_out_products() -> frozenset[str]:
    """The fourth product of each category (the third of a three-product one): the held-out set's, never trained on."""
    keys = set()
    for category in dict.fromkeys(product.category for product in PRODUCTS):
        products = [product for product in PRODUCTS if product.category == category]
        if len(products) >= 3:
            keys.add(products[min(3, len(products) - 1)].key)
    return frozenset(keys)


HELD_OUT_PRODUCTS = _held_out_products()

TRAIN_FRAMES = {
    "t-fields": "Retailer: {retailer}\nPlacement: {placement}\nProduct: {product}\nCategory: {category}\n"
                "Claims: {claims}",
    "t-sentence": "Write a {retailer} {placement} ad for {product} ({category}). Claims to use: {claims}.",
    "t-brief": "{retailer} {placement} copy. Product: {product}, category {category}. Say: {claims}.",
}
HELD_OUT_FRAMES = {
    "h-question": "Could you draft {placement} copy on {retailer} for {product}? It's {category}; we'd like to "
                  "mention {claims}.",
    "h-terse": "{product} | {category} | {retailer} {placement} | {claims}",
}
FRAMES = {**TRAIN_FRAMES, **HELD_OUT_FRAMES}
FIX_REQUEST = "\nDraft: {draft}\nFix the draft so it passes {retailer}'s ad policy."

# (headline, body) templates; {Claim} is the claim as a sentence start.
TRAIN_COPY = {
    "c-t-brand-name": ("{brand} {name}", "{Claim}. Find it at {retailer}."),
    "c-t-name-claim": ("{name}, {claim}", "{Claim2}. {size} at {retailer}."),
    "c-t-try": ("Try {name}", "{Claim} and {claim2}. Add it to your cart."),
    "c-t-meet": ("Meet {name}", "{brand} {name}: {claim}."),
    "c-t-from": ("{name} from {brand}", "{Claim}. Pick up the {size} size today."),
    "c-t-stock": ("Stock up on {name}", "{Claim}. Now at {retailer}."),
    "c-t-short": ("{short}", "{brand} {name}. {Claim}."),
    "c-t-brand-short": ("{brand} {short}", "{Claim}. {size}."),
}
HELD_OUT_COPY = {
    "c-h-discover": ("Discover {name}", "Made by {brand}. {Claim}."),
    "c-h-hello": ("Say hello to {name}", "{Claim}, {claim2}. Shop it at {retailer}."),
    "c-h-by": ("{name} by {brand}", "Why {brand}? {Claim}."),
    "c-h-short": ("Hello, {short}", "{Claim}. From {brand}."),
}
COPY_TEMPLATES = {**TRAIN_COPY, **HELD_OUT_COPY}


@dataclass(frozen=True)
class Context:
    placement: str
    category: str
    brand: str

    def as_dict(self) -> dict:
        return {"placement": self.placement, "category": self.category, "brand": self.brand}


def copy_violations(policy: CompiledPolicy, context: Context, copy: dict) -> list[Violation]:
    return check_creative(policy, placement=context.placement, category=context.category, brand=context.brand,
                          headline=copy.get("headline", ""), body=copy.get("body", ""))


def copy_passes(policy: CompiledPolicy, context: Context, copy: Any) -> bool:
    """Non-empty copy within the schema's lengths that the checker finds nothing blocking or warning in."""
    if not (isinstance(copy, dict) and isinstance(copy.get("headline"), str) and isinstance(copy.get("body"), str)):
        return False
    if not (0 < len(copy["headline"].strip()) and len(copy["headline"]) <= HEADLINE_MAX
            and 0 < len(copy["body"].strip()) and len(copy["body"]) <= BODY_MAX):
        return False
    return not any(v.severity in FAILING for v in copy_violations(policy, context, copy))


# -- repairing copy the way each violation's fix says --------------------------------------------------------------

_SENTENCE = re.compile(r"\S.*?(?:[.!?]+(?=\s|$)|$)")
_SEPARATORS = (" - ", " – ", " | ", ": ", ", ")
_FOLD = {"’": "'", "‘": "'", "—": "-", "–": "-"}
_KIND_ORDER = {RuleKind.DISALLOWED_TERM: 0, RuleKind.REQUIRED_DISCLAIMER: 1, RuleKind.CREATIVE_SPEC: 2}


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,!?;:])", r"\1", text)
    text = re.sub(r"[,;:]+([.!?])", r"\1", text)
    text = re.sub(r"^[\s,;:.!?|–—-]+", "", text)
    return re.sub(r"[\s,;:|–—-]+$", "", text).strip()


def _limit(policy: CompiledPolicy, placement: str, name: str) -> int:
    """The tightest length the placement's creative specs allow for a field (the schema's, if none is tighter)."""
    limits = [rule.spec[f"{name}_max"] for rule, placements, _ in policy.specs
              if ("*" in placements or placement in placements) and rule.spec.get(f"{name}_max")]
    return min([*limits, HEADLINE_MAX if name == "headline" else BODY_MAX])


def _protected(policy: CompiledPolicy, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in policy.mask.finditer(text)] if policy.mask else []


def _without_sentence(text: str, at: int) -> str:
    """The text without the sentence at `at`: a forbidden claim goes with the sentence that makes it."""
    for match in _SENTENCE.finditer(text):
        if match.start() <= at < match.end():
            return _tidy(text[: match.start()] + text[match.end():])
    return text


def _without_span(text: str, span: tuple[int, int], field: str) -> str:
    if field == "body":
        rest = _without_sentence(text, span[0])
        if rest:
            return rest
    return _tidy(text[: span[0]] + " " + text[span[1]:])


def _shortened(policy: CompiledPolicy, text: str, field: str, limit: int) -> str | None:
    """Drop trailing segments of a headline, or the last sentences of a body (never a disclaimer's), until it fits.
    None if that is not enough: the checker's suggestion cuts mid-phrase ("Stock Up on Infant"), no copy to teach."""
    while len(text) > limit:
        if field == "headline":
            # At the strongest separator that leaves a headline that fits: "Trail Mix - almonds, cashews" → "Trail Mix".
            cuts = [cut for sep in _SEPARATORS for cut in sorted((m.start() for m in re.finditer(re.escape(sep), text)),
                                                                 reverse=True) if 0 < cut <= limit]
            if not cuts:
                break
            text = _tidy(text[: cuts[0]])
        else:
            kept = _protected(policy, text)
            droppable = [m for m in _SENTENCE.finditer(text)
                         if not any(start < m.end() and m.start() < end for start, end in kept)]
            if not droppable or len(list(_SENTENCE.finditer(text))) < 2:
                break
            last = droppable[-1]
            text = _tidy(text[: last.start()] + text[last.end():])
    return text if len(text) <= limit else None


def _folded(text: str, chars: list[str]) -> str:
    for char in chars:
        plain = _FOLD.get(char) or unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        text = text.replace(char, plain if plain.isalnum() or plain in "'-" else "")
    return _tidy(text)


def _with_case(said: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if said[:1].isupper() else replacement


def _repaired(policy: CompiledPolicy, context: Context, copy: dict, v: Violation) -> dict | None:
    """Copy with the fix `v` asks for applied, or None when the fix is not one we can apply."""
    copy = dict(copy)
    if v.kind == RuleKind.DISALLOWED_TERM and v.field in copy and v.span:
        text = copy[v.field]
        if (replace := re.fullmatch(r'Replace "(.*)" with "(.*)"\.', v.fix)) is not None:
            said = text[v.span[0]:v.span[1]]
            copy[v.field] = text[: v.span[0]] + _with_case(said, replace.group(2)) + text[v.span[1]:]
        else:  # "Remove ...", "State the terms or remove it", "cite the ranking": remove it
            copy[v.field] = _without_span(text, v.span, v.field)
        return copy
    if v.kind == RuleKind.REQUIRED_DISCLAIMER and (added := re.fullmatch(r'Add the disclaimer "(.*)"\.', v.fix)):
        disclaimer = added.group(1)
        body = copy["body"].rstrip()
        body = f"{body}{'' if not body or body[-1] in '.!?' else '.'} {disclaimer}".strip()
        claims = re.search(r"\(([\w, ]+) claim\)", v.message)
        if claims and len(body) > _limit(policy, context.placement, "body"):
            # No room for the disclaimer a claim needs: the claim goes instead.
            for name in claims.group(1).split(", "):
                for field in ("body", "headline"):
                    while found := re.search(CLAIM_PATTERNS[name], copy[field], re.IGNORECASE):
                        shorter = _without_span(copy[field], found.span(), field)
                        if shorter == copy[field]:
                            return None
                        copy[field] = shorter
            return copy
        copy["body"] = body
        return copy
    if v.kind != RuleKind.CREATIVE_SPEC:
        return None
    if (too_long := re.search(r"allows at most (\d+)\.", v.message)) and v.field in copy:
        shorter = _shortened(policy, copy[v.field], v.field, int(too_long.group(1)))
        if shorter is None:
            return None
        copy[v.field] = shorter
    elif "does not allow" in v.message and v.field in copy:
        copy[v.field] = _folded(copy[v.field], re.findall(r'"(.)"', v.fix))
    elif (write := re.fullmatch(r'Write "(.*)"\.', v.fix)) and v.field in copy:
        text = copy[v.field]
        copy[v.field] = text[: v.span[0]] + write.group(1) + text[v.span[1]:] if v.span else write.group(1)
    elif v.fix.startswith("Use a single ") and v.field in copy and v.span:
        text = copy[v.field]
        copy[v.field] = text[: v.span[0]] + text[v.span[0]] + text[v.span[1]:]
    elif extra := re.fullmatch(r"Remove (\d+) of them\.", v.fix):
        left = int(extra.group(1))
        for field, mark in (("body", "."), ("headline", "")):
            while left and "!" in copy[field]:
                at = copy[field].rfind("!")
                copy[field] = copy[field][:at] + mark + copy[field][at + 1:]
                left -= 1
    else:
        return None
    return copy


def copy_fixed(policy: CompiledPolicy, context: Context, copy: dict, *, rounds: int = 12) -> dict | None:
    """Apply the fix of one violation at a time, re-checking after each, until the checker finds nothing; None if it
    does not get there (a fix we cannot apply, or copy that empties or loops)."""
    for _ in range(rounds):
        found = sorted(copy_violations(policy, context, copy), key=lambda v: _KIND_ORDER.get(v.kind, 3))
        if not found:
            ok = copy["headline"] and copy["body"] and len(copy["headline"]) <= HEADLINE_MAX \
                and len(copy["body"]) <= BODY_MAX
            return copy if ok else None
        repaired = _repaired(policy, context, copy, found[0])
        if repaired is None or repaired == copy or not repaired["headline"] or not repaired["body"]:
            return None
        copy = repaired
    return None


# -- mutations: what the rules forbid, added to good copy ---------------------------------------------------------

def _prefix(*options: str) -> Callable[[dict, Product, random.Random], dict]:
    return lambda copy, product, rng: {**copy, "headline": rng.choice(options).format(noun=product.noun)
                                       + copy["headline"]}


def _sentence(*options: str) -> Callable[[dict, Product, random.Random], dict]:
    def mutate(copy: dict, product: Product, rng: random.Random) -> dict:
        added = rng.choice(options).format(noun=product.noun, slug=re.sub(r"\W", "", product.brand.lower()))
        return {**copy, "body": f"{copy['body']} {added}"}
    return mutate


def _shouting(copy: dict, product: Product, rng: random.Random) -> dict:
    longest = max(re.findall(r"[^\W\d_]{5,}", copy["headline"]) or [""], key=len)
    if not longest:
        return copy
    return {**copy, "headline": copy["headline"].replace(longest, longest.upper(), 1)}


def _without_disclaimer(policy: CompiledPolicy) -> Callable[[dict, Product, random.Random], dict]:
    def mutate(copy: dict, product: Product, rng: random.Random) -> dict:
        return {**copy, "body": _tidy(policy.mask.sub("", copy["body"])) if policy.mask else copy["body"]}
    return mutate


def _mutations(policy: CompiledPolicy) -> dict[str, Callable[[dict, Product, random.Random], dict]]:
    return {
        "m-superlative": _prefix("#1 ", "America's Favorite ", "Number One "),
        "m-superlative-body": _sentence("Best value in the aisle.", "Everyone's favorite {noun}.",
                                        "The #1 {noun} in America."),
        "m-price": _sentence("Lowest price in town.", "Price match guaranteed.", "Cheapest {noun} around.",
                             "Best price of the year."),
        "m-price-offer": _sentence("Save 20% this week.", "Buy one, get one.", "Now on sale."),
        "m-free": _sentence("Free shipping on every order.", "Get one free."),
        "m-health": _sentence("Boosts your immune system.", "Cures cold symptoms.", "Prevents colds and flu.",
                              "Clinically proven.", "A miracle in every pack.", "FDA approved formula.",
                              "Burn belly fat fast.", "Detox your routine."),
        "m-competitor": _sentence("Cheaper than Walmart.", "Skip the Costco run.", "Better than the Amazon brand.",
                                  "Now at Kroger too.", "Perfect for Prime Day."),
        "m-link": _sentence("Learn more at www.{slug}.com.", "Visit {slug}.com for recipes."),
        "m-cannabis": _sentence("Now with CBD.", "Infused with hemp extract."),
        "m-punctuation": lambda copy, product, rng: {**copy, "headline": copy["headline"] + rng.choice(["!!!", "!!"])},
        "m-exclamations": lambda copy, product, rng: {**copy, "body": copy["body"].replace(".", "!") + " Wow!"},
        "m-shouting": _shouting,
        "m-too-long": lambda copy, product, rng: {**copy, "headline": f"{copy['headline']} - {product.claims[0]}"},
        "m-no-disclaimer": _without_disclaimer(policy),
    }


# -- examples ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CopyCase:
    text: str  # the request: the user message of a plain example
    retailer: str
    context: Context
    product: str
    frame: str
    template: str
    copy: dict  # compliant: the completion, and the chosen side of the DPO pair
    mutation: str | None = None  # (training only) what made the draft fail
    rejected: dict | None = None  # a draft the checker fails: the rejected side, and what a compliance case shows
    fixed: dict | None = None  # that draft repaired by its violations' fixes: a compliance case's completion
    compliance_case: bool = False  # trained as "fix this draft" rather than "write copy"

    @property
    def prompt_text(self) -> str:
        if not self.compliance_case:
            return self.text
        return self.text + FIX_REQUEST.format(draft=copy_json(self.rejected), retailer=self.retailer)

    @property
    def completion(self) -> dict:
        return self.fixed if self.compliance_case else self.copy

    @property
    def templates(self) -> set[str]:
        return {self.frame, self.template, f"product:{self.product}"}


def copy_json(copy: dict) -> str:
    """Copy as the model is taught to write it: compact JSON, headline first."""
    return json.dumps({"headline": copy["headline"], "body": copy["body"]}, separators=(",", ":"), ensure_ascii=False)


def _request(rng: random.Random, frame: str, product: Product, placement: str, retailer: str) -> tuple[str, list]:
    claims = rng.sample(product.claims, rng.choice([1, 2, 2]))
    if rng.random() < 0.3:
        claims.insert(rng.randrange(len(claims) + 1), rng.choice(RISKY_CLAIMS).format(noun=product.noun))
    joined = "; ".join(claims) if frame in ("t-fields", "h-terse") else " and ".join(claims)
    text = FRAMES[frame].format(retailer=retailer, placement=placement, product=product.title,
                                category=product.category, claims=joined)
    return text, claims


def _filled(template: str, product: Product, claims: list[str], retailer: str) -> dict | None:
    headline, body = COPY_TEMPLATES[template]
    fields = {"brand": product.brand, "name": product.name, "short": product.short, "size": product.size,
              "retailer": retailer, "noun": product.noun}
    for index, claim in enumerate(claims[:2]):
        suffix = "" if index == 0 else "2"
        fields[f"claim{suffix}"], fields[f"Claim{suffix}"] = claim, claim[:1].upper() + claim[1:]
    try:
        return {"headline": headline.format(**fields), "body": body.format(**fields)}
    except KeyError:  # the template wants a second claim the request does not have
        return None


def _compliant(policy: CompiledPolicy, context: Context, product: Product, claims: list[str], templates: list[str],
               retailer: str, rng: random.Random) -> tuple[str, dict] | None:
    """Copy from one of `templates`: one the checker passes as written if any does, else one its fixes repair."""
    as_written, repaired = [], []
    for template in templates:
        draft = _filled(template, product, claims, retailer)
        if draft is None:
            continue
        fixed = copy_fixed(policy, context, draft)
        if fixed is not None:
            (as_written if fixed == draft else repaired).append((template, fixed))
    pool = as_written or repaired
    return rng.choice(pool) if pool else None


def _failing_draft(policy: CompiledPolicy, context: Context, product: Product, copy: dict,
                   rng: random.Random) -> tuple[str, dict, dict] | None:
    """A mutation of good copy that the checker fails and whose fixes repair it: (mutation, draft, repaired)."""
    mutations = _mutations(policy)
    for mutation in rng.sample(sorted(mutations), len(mutations)):
        draft = mutations[mutation](copy, product, rng)
        if len(draft["headline"]) > HEADLINE_MAX or len(draft["body"]) > BODY_MAX:
            continue
        if not copy_passes(policy, context, draft) and (fixed := copy_fixed(policy, context, draft)) is not None:
            return mutation, draft, fixed
    return None


def copy_set(*, policy: CompiledPolicy, held_out: bool, n: int, seed: int, retailer: str = DEFAULT_RETAILER,
             avoid: set[str] | frozenset[str] = frozenset()) -> list[CopyCase]:
    """n cases from the training products, frames and copy templates (each with a failing draft; every third one
    trained as a compliance case), or from the held-out ones. Requests in `avoid` and repeats are drawn again."""
    rng = random.Random(seed)  # noqa: S311 (data generation, not security)
    products = [p for p in PRODUCTS if (p.key in HELD_OUT_PRODUCTS) == held_out]
    frames = sorted(HELD_OUT_FRAMES if held_out else TRAIN_FRAMES)
    templates = sorted(HELD_OUT_COPY if held_out else TRAIN_COPY)
    seen, cases = set(avoid), []
    attempts = 0
    while len(cases) < n:
        attempts += 1
        if attempts > 50 * (n + 10):
            raise RuntimeError(f"could not draw {n} distinct copy cases")
        product, placement = rng.choice(products), rng.choice(PLACEMENTS)
        frame = frames[len(cases) % len(frames)]
        text, claims = _request(rng, frame, product, placement, retailer)
        if text in seen:
            continue
        context = Context(placement, product.category, product.brand.lower())
        compliant = _compliant(policy, context, product, claims, rng.sample(templates, len(templates)), retailer, rng)
        if compliant is None:
            continue
        template, copy = compliant
        case = CopyCase(text=text, retailer=retailer, context=context, product=product.key, frame=frame,
                        template=template, copy=copy)
        if not held_out:  # a held-out case is scored on what the model writes; it needs no draft
            failing = _failing_draft(policy, context, product, copy, rng)
            if failing is None:
                continue
            mutation, rejected, fixed = failing
            case = CopyCase(**{**case.__dict__, "mutation": mutation, "rejected": rejected, "fixed": fixed,
                               "compliance_case": len(cases) % 3 == 2})
        seen.add(text)
        cases.append(case)
    return cases


def copy_messages(text: str) -> list[dict]:
    return [{"role": "system", "content": COPY_SYSTEM}, {"role": "user", "content": text}]


def _assistant(copy: dict) -> list[dict]:
    return [{"role": "assistant", "content": copy_json(copy)}]


def copy_sft_examples(cases: list[CopyCase]) -> list[dict]:
    """Conversational prompt/completion pairs: the request (and, in a compliance case, the failing draft) in, copy
    the checker passes out."""
    return [{"prompt": copy_messages(case.prompt_text), "completion": _assistant(case.completion)} for case in cases]


def copy_preference_pairs(cases: list[CopyCase]) -> list[dict]:
    """TRL conversational preference pairs: for each request, copy the checker passes over a draft it fails."""
    return [{"prompt": copy_messages(case.text), "chosen": _assistant(case.copy), "rejected": _assistant(case.rejected)}
            for case in cases if case.rejected is not None]


# -- scoring: "exact match" for copy means "passes the retailer's checker" -----------------------------------------

@dataclass(frozen=True)
class WrittenCopy:
    """The canonical form of decoded copy: its text, judged against a held-out case's context when compared."""

    headline: str
    body: str


@dataclass(frozen=True, eq=False)
class PassingCopy:
    """The canonical form of a held-out case's expected value: "any copy the retailer's checker passes for this
    product and placement". It equals a WrittenCopy exactly when the checker passes that copy here."""

    policy: CompiledPolicy
    context: Context

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WrittenCopy):
            return copy_passes(self.policy, self.context, {"headline": other.headline, "body": other.body})
        if isinstance(other, PassingCopy):
            return self.policy is other.policy and self.context == other.context
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.context)


def copy_canonical(policy: CompiledPolicy) -> Callable[[Any], WrittenCopy | PassingCopy | None]:
    """The canonical form the evaluation harness compares: copy → WrittenCopy (None if it is not copy), a case's
    expected context (or {}: a product page with no category) → PassingCopy. The harness's
    `canonical(answer) == canonical(expected)` is then "the checker passes the answer in the case's context"."""
    def canonical(value: Any) -> WrittenCopy | PassingCopy | None:
        if not isinstance(value, dict):
            return None
        if "headline" in value or "body" in value:
            headline, body = value.get("headline"), value.get("body")
            if not (isinstance(headline, str) and isinstance(body, str) and headline.strip() and body.strip()):
                return None
            return WrittenCopy(headline, body)
        return PassingCopy(policy, Context(value.get("placement", DEFAULT_PLACEMENT), value.get("category", ""),
                                           value.get("brand", "")))
    return canonical


def retailer_policy(retailer: str | None = None) -> tuple[CompiledPolicy, str]:
    """The compiled policy and display name to write for: a retailer's active set by slug, or (None) MegaMart's demo
    set compiled in memory, which needs no database."""
    if retailer is None:
        return policy_compile(MEGAMART_POLICY_RULES, version=1), DEFAULT_RETAILER
    from governance.policies.selectors import policy_compiled, policy_set_active, retailer_by_slug

    tenant = retailer_by_slug(slug=retailer)
    policy_set = policy_set_active(retailer=tenant)
    if policy_set is None:
        raise DatasetInvalid("no_active_policy", NO_ACTIVE_POLICY.format(name=tenant.name))
    return policy_compiled(policy_set=policy_set), tenant.name


def copy_training_data(*, n_train: int, n_held_out: int, seed: int, retailer: str | None = None) -> TrainingData:
    """Compliant-copy training data for `retailer` (a slug; MegaMart's demo policy set by default).

    Exact match for copy means "passes the retailer's checker": a held-out case's expected value is its context
    (placement, category, brand, and a reference copy for people reading failures), and `canonical` makes the
    harness's comparison run the real checker on the decoded copy in that context (see `copy_canonical`)."""
    policy, name = retailer_policy(retailer)
    train = copy_set(policy=policy, held_out=False, n=n_train, seed=seed, retailer=name)
    held_out = copy_set(policy=policy, held_out=True, n=n_held_out, seed=seed + 1, retailer=name,
                        avoid={case.text for case in train})
    return TrainingData(
        train=copy_sft_examples(train),
        held_out=[ToolCallCase(text=case.text, messages=copy_messages(case.text),
                               expected={**case.context.as_dict(), "reference": case.copy}) for case in held_out],
        schema=COPY_SCHEMA, canonical=copy_canonical(policy),
        train_templates=set().union(*(case.templates for case in train)),
        held_out_templates=set().union(*(case.templates for case in held_out)),
        preference_pairs=copy_preference_pairs(train),
    )
