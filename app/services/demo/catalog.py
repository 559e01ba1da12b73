"""The demo catalog: a believable taxonomy and products, generated deterministically and
inserted in bulk.

Product `i` is always the same product (it draws from its own `random.Random(i)`), so a rerun
finds what it made by slug and makes only the missing indexes. Rows go in with Core bulk
inserts, one transaction per chunk of products (`app.services.demo.seed_demo`): the ORM unit
of work would spend minutes on 100,000 products and their ~2 million rows.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import uuid7
from app.models.base import utcnow
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    Category,
    OptionType,
    OptionValue,
    Variant,
    entity_brands,
    entity_categories,
    variant_option_values,
)
from app.search.index import reindex
from app.services.demo.report import SeedReport

# Products per transaction, and rows per INSERT statement: large enough to keep round trips
# few, small enough that a chunk's rows and a statement's parameters stay modest.
PRODUCTS_PER_TRANSACTION = 1000
ROWS_PER_STATEMENT = 5000
DEMO_METADATA = {"demo": True}

# --- the vocabulary -------------------------------------------------------------------------

Phrase = tuple[str, str]  # (English, German)


@dataclass(frozen=True, slots=True)
class Axis:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Leaf:
    name: str
    slug: str
    nouns: tuple[Phrase, ...]


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    slug: str
    leaves: tuple[Leaf, ...]
    axes: tuple[Axis, Axis]
    features: tuple[Phrase, ...]
    download: Phrase
    service: Phrase


DEPARTMENTS: tuple[Department, ...] = (
    Department(
        name="Apparel",
        slug="apparel",
        leaves=(
            Leaf(
                "T-Shirts",
                "t-shirts",
                (
                    ("Crew Tee", "Rundhals-Shirt"),
                    ("V-Neck Tee", "V-Ausschnitt-Shirt"),
                    ("Pocket Tee", "Taschen-Shirt"),
                    ("Long-Sleeve Tee", "Langarmshirt"),
                    ("Graphic Tee", "Print-Shirt"),
                ),
            ),
            Leaf(
                "Hoodies",
                "hoodies",
                (
                    ("Pullover Hoodie", "Kapuzenpullover"),
                    ("Zip Hoodie", "Zip-Hoodie"),
                    ("Fleece Hoodie", "Fleece-Hoodie"),
                    ("Crewneck Sweatshirt", "Sweatshirt"),
                ),
            ),
        ),
        axes=(Axis("Size", ("S", "M", "L", "XL")), Axis("Colour", ("Black", "Navy", "Red"))),
        features=(
            ("soft organic cotton", "weiche Bio-Baumwolle"),
            ("a relaxed fit", "eine lockere Passform"),
            ("reinforced seams", "verstärkte Nähte"),
            ("pre-shrunk fabric", "vorgewaschener Stoff"),
        ),
        download=("Sewing Pattern", "Schnittmuster"),
        service=("Tailoring Service", "Änderungsservice"),
    ),
    Department(
        name="Home",
        slug="home",
        leaves=(
            Leaf(
                "Kitchen",
                "kitchen",
                (
                    ("Chef's Knife", "Kochmesser"),
                    ("Cutting Board", "Schneidebrett"),
                    ("Cast-Iron Pan", "Gusseisenpfanne"),
                    ("Pour-Over Kettle", "Wasserkessel"),
                    ("Mixing Bowl Set", "Rührschüssel-Set"),
                ),
            ),
            Leaf(
                "Decor",
                "decor",
                (
                    ("Throw Pillow", "Zierkissen"),
                    ("Table Lamp", "Tischlampe"),
                    ("Ceramic Vase", "Keramikvase"),
                    ("Wall Clock", "Wanduhr"),
                    ("Woven Throw", "Wolldecke"),
                ),
            ),
        ),
        axes=(
            Axis("Size", ("Small", "Medium", "Large")),
            Axis("Colour", ("Sand", "Sage", "Charcoal")),
        ),
        features=(
            ("solid, long-lasting materials", "solide, langlebige Materialien"),
            ("a timeless design", "ein zeitloses Design"),
            ("easy care", "einfache Pflege"),
            ("a handmade finish", "eine handgefertigte Oberfläche"),
        ),
        download=("Recipe E-Book", "Rezept-E-Book"),
        service=("Knife Sharpening", "Messerschleifservice"),
    ),
    Department(
        name="Electronics",
        slug="electronics",
        leaves=(
            Leaf(
                "Audio",
                "audio",
                (
                    ("Wireless Headphones", "Kabellose Kopfhörer"),
                    ("Bluetooth Speaker", "Bluetooth-Lautsprecher"),
                    ("Earbuds", "Ohrhörer"),
                    ("Soundbar", "Soundbar"),
                ),
            ),
            Leaf(
                "Accessories",
                "accessories",
                (
                    ("Charging Cable", "Ladekabel"),
                    ("Phone Case", "Handyhülle"),
                    ("Power Bank", "Powerbank"),
                    ("Laptop Sleeve", "Laptophülle"),
                    ("Wireless Charger", "Kabelloses Ladegerät"),
                ),
            ),
        ),
        axes=(
            Axis("Colour", ("Black", "White", "Silver")),
            Axis("Edition", ("Standard", "Plus", "Pro")),
        ),
        features=(
            ("a two-year warranty", "zwei Jahre Garantie"),
            ("USB-C charging", "Laden über USB-C"),
            ("all-day battery life", "einen Akku für den ganzen Tag"),
            ("a recycled aluminium shell", "ein Gehäuse aus recyceltem Aluminium"),
        ),
        download=("Audio Editing Course", "Audiobearbeitungskurs"),
        service=("Home Setup Service", "Einrichtungsservice"),
    ),
    Department(
        name="Outdoors",
        slug="outdoors",
        leaves=(
            Leaf(
                "Camping",
                "camping",
                (
                    ("Two-Person Tent", "Zweipersonenzelt"),
                    ("Sleeping Bag", "Schlafsack"),
                    ("Camp Stove", "Campingkocher"),
                    ("Headlamp", "Stirnlampe"),
                    ("Camp Chair", "Campingstuhl"),
                ),
            ),
            Leaf(
                "Cycling",
                "cycling",
                (
                    ("Bike Helmet", "Fahrradhelm"),
                    ("Saddle Bag", "Satteltasche"),
                    ("Bike Light Set", "Fahrradlicht-Set"),
                    ("Cycling Gloves", "Radhandschuhe"),
                    ("Water Bottle", "Trinkflasche"),
                ),
            ),
        ),
        axes=(
            Axis("Size", ("Small", "Regular", "Large")),
            Axis("Colour", ("Olive", "Orange", "Blue")),
        ),
        features=(
            ("a weatherproof build", "eine wetterfeste Bauweise"),
            ("a low packed weight", "ein geringes Packmaß"),
            ("reflective details", "reflektierende Details"),
            ("field-repairable parts", "unterwegs reparierbare Teile"),
        ),
        download=("Trail Map Pack", "Wanderkarten-Paket"),
        service=("Bike Tune-Up", "Fahrradinspektion"),
    ),
)

# Each brand sells in the departments named beside it.
BRANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Northwind", ("apparel", "outdoors")),
    ("Loom & Thread", ("apparel",)),
    ("Fieldhouse", ("apparel",)),
    ("Kestrel", ("apparel", "outdoors")),
    ("Hearth & Oak", ("home",)),
    ("Maison Lumen", ("home",)),
    ("Copperleaf", ("home",)),
    ("Kiln Studio", ("home",)),
    ("Voltline", ("electronics",)),
    ("Auralis", ("electronics",)),
    ("Pixelwave", ("electronics",)),
    ("Ohmwerk", ("electronics", "home")),
    ("Ridgeback", ("outdoors",)),
    ("Alpenglow", ("outdoors",)),
    ("Velo & Co", ("outdoors",)),
)

PRODUCT_LINES = ("Aurora", "Summit", "Harbor", "Everyday", "Classic", "Studio", "Trail", "Nordic")
CLOSINGS: tuple[Phrase, ...] = (
    ("Made to be used every day.", "Für den täglichen Gebrauch gemacht."),
    ("Ships in recycled packaging.", "Versand in recycelter Verpackung."),
    ("Backed by a 30-day return policy.", "Mit 30 Tagen Rückgaberecht."),
)
GIFT_CARD_AMOUNTS = ("25", "50", "100")
# What a download, a service or a gift card is praised for (a product: its department's).
KIND_FEATURES: dict[str, tuple[Phrase, ...]] = {
    "digitalDownload": (
        ("an instant download", "einen sofortigen Download"),
        ("free lifetime updates", "kostenlose Updates"),
        ("a printable PDF", "ein druckbares PDF"),
    ),
    "service": (
        ("online booking", "Online-Buchung"),
        ("certified technicians", "zertifizierte Fachleute"),
        ("a same-week appointment", "einen Termin in derselben Woche"),
    ),
    "giftCard": (
        ("no expiry date", "kein Ablaufdatum"),
        ("redemption online and in store", "Einlösung online und im Laden"),
        ("a personal message", "eine persönliche Nachricht"),
    ),
}
BRANDS_BY_DEPARTMENT = {
    department.slug: [name for name, sells_in in BRANDS if department.slug in sells_in]
    for department in DEPARTMENTS
}

# The mix is fixed by the index's place in each run of 20, so even a small seed has every
# type and status: 80% product, 10% digitalDownload, 5% service, 5% giftCard; 85% active.
TYPE_BY_RESIDUE = {0: "giftCard", 5: "digitalDownload", 10: "service", 15: "digitalDownload"}
STATUS_BY_RESIDUE = {3: "draft", 11: "archived", 17: "discontinued"}


def demo_slug(index: int) -> str:
    return f"demo-{index:06d}"


def demo_type(index: int) -> str:
    return TYPE_BY_RESIDUE.get(index % 20, "product")


def demo_status(index: int) -> str:
    return STATUS_BY_RESIDUE.get(index % 20, "active")


def demo_index(slug: str) -> int:
    """The index `demo_slug` made `slug` from."""
    return int(slug.removeprefix("demo-"))


def department_of(index: int) -> Department:
    """Product `index`'s department: the first draw `_build_product` makes."""
    return random.Random(index).choice(DEPARTMENTS)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def sku_part(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "", value.upper())


# --- seeding --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Taxonomy:
    category_ids: dict[str, uuid.UUID]
    brand_ids: dict[str, uuid.UUID]


async def ensure_taxonomy(session: AsyncSession, report: SeedReport) -> Taxonomy:
    """The departments, their leaves and the brands, found by slug or created."""
    return Taxonomy(
        await _ensure_categories(session, report), await _ensure_brands(session, report)
    )


async def _existing_by_slug(
    session: AsyncSession, model: type[Category] | type[Brand], slugs: Iterable[str]
) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(model.slug, model.id).where(model.slug.in_(list(slugs))))
    return {slug: id for slug, id in rows.all()}


async def _ensure_categories(session: AsyncSession, report: SeedReport) -> dict[str, uuid.UUID]:
    """Each department and its leaves, by slug; missing ones are created under their parent."""
    wanted = [d.slug for d in DEPARTMENTS] + [leaf.slug for d in DEPARTMENTS for leaf in d.leaves]
    ids = await _existing_by_slug(session, Category, wanted)
    report.categories_skipped = len(ids)
    now = utcnow()
    rows: list[dict[str, Any]] = []

    def add(name: str, slug: str, parent_id: uuid.UUID | None, position: int) -> None:
        if slug in ids:
            return
        ids[slug] = uuid7()
        rows.append(
            {
                "id": ids[slug],
                "parent_id": parent_id,
                "name": name,
                "slug": slug,
                "description": f"Demo category: {name}.",
                "position": position,
                "created_at": now,
                "updated_at": now,
            }
        )

    for position, department in enumerate(DEPARTMENTS):
        add(department.name, department.slug, None, position)
        for leaf_position, leaf in enumerate(department.leaves):
            add(leaf.name, leaf.slug, ids[department.slug], leaf_position)
    # Parents precede their children in `rows`, which is all the foreign key needs.
    await insert_rows(session, Category.__table__, rows)
    report.categories_created = len(rows)
    return ids


async def _ensure_brands(session: AsyncSession, report: SeedReport) -> dict[str, uuid.UUID]:
    ids = await _existing_by_slug(session, Brand, (slugify(name) for name, _ in BRANDS))
    report.brands_skipped = len(ids)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for name, departments in BRANDS:
        slug = slugify(name)
        if slug in ids:
            continue
        ids[slug] = uuid7()
        rows.append(
            {
                "id": ids[slug],
                "name": name,
                "slug": slug,
                "description": f"{name} makes things for {' and '.join(departments)}.",
                "created_at": now,
                "updated_at": now,
            }
        )
    await insert_rows(session, Brand.__table__, rows)
    report.brands_created = len(rows)
    return ids


@dataclass(slots=True)
class _Rows:
    """The rows of one chunk, table by table, in foreign-key order."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    entity_categories: list[dict[str, Any]] = field(default_factory=list)
    entity_brands: list[dict[str, Any]] = field(default_factory=list)
    option_types: list[dict[str, Any]] = field(default_factory=list)
    option_values: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    variant_option_values: list[dict[str, Any]] = field(default_factory=list)
    # Each new entity's index, for what is built on the products (prices, stock).
    index_of: dict[uuid.UUID, int] = field(default_factory=dict)

    def by_table(self) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
        yield CatalogEntity.__table__, self.entities
        yield CatalogAttributes.__table__, self.attributes
        yield entity_categories, self.entity_categories
        yield entity_brands, self.entity_brands
        yield OptionType.__table__, self.option_types
        yield OptionValue.__table__, self.option_values
        yield Variant.__table__, self.variants
        yield variant_option_values, self.variant_option_values


@dataclass(frozen=True, slots=True)
class NewVariant:
    index: int
    entity_id: uuid.UUID
    id: uuid.UUID
    sku: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """What `seed_products` did with a chunk of indexes: the variants it made, and the
    slugs it found there already (whose products it left alone)."""

    new_variants: list[NewVariant]
    existing_slugs: list[str]


async def seed_products(
    session: AsyncSession, indexes: range, taxonomy: Taxonomy, report: SeedReport
) -> Chunk:
    """Insert the products of `indexes` that are not there yet (found by slug)."""
    slugs = [demo_slug(index) for index in indexes]
    existing = set(
        await session.scalars(select(CatalogEntity.slug).where(CatalogEntity.slug.in_(slugs)))
    )
    rows = _Rows()
    now = utcnow()
    for index in indexes:
        if demo_slug(index) in existing:
            continue
        _build_product(index, taxonomy, rows, now)
    for table, table_rows in rows.by_table():
        await insert_rows(session, table, table_rows)
    await reindex(session, [entity["id"] for entity in rows.entities])
    report.entities_skipped += len(existing)
    report.entities_created += len(rows.entities)
    report.attributes_created += len(rows.attributes)
    report.variants_created += len(rows.variants)
    new = [
        NewVariant(rows.index_of[v["entity_id"]], v["entity_id"], v["id"], v["sku"])
        for v in rows.variants
    ]
    return Chunk(new, sorted(existing))


def _build_product(index: int, taxonomy: Taxonomy, rows: _Rows, now: datetime) -> None:
    """Append product `index`'s rows; every choice comes from its own seeded generator."""
    rng = random.Random(index)
    department = rng.choice(DEPARTMENTS)
    leaf = rng.choice(department.leaves)
    brand = rng.choice(BRANDS_BY_DEPARTMENT[department.slug])
    line = rng.choice(PRODUCT_LINES)
    kind = demo_type(index)
    entity_id = uuid7()
    rows.index_of[entity_id] = index
    rows.entities.append(
        {
            "id": entity_id,
            "type": kind,
            "slug": demo_slug(index),
            "status": demo_status(index),
            "metadata": DEMO_METADATA,
            "created_at": now,
            "updated_at": now,
        }
    )
    category_slugs = [leaf.slug] + ([department.slug] if rng.random() < 0.35 else [])
    rows.entity_categories += [
        {"entity_id": entity_id, "category_id": taxonomy.category_ids[slug]}
        for slug in category_slugs
    ]
    rows.entity_brands.append(
        {"entity_id": entity_id, "brand_id": taxonomy.brand_ids[slugify(brand)]}
    )
    name = _name(kind, rng, department, leaf)
    features = rng.sample(KIND_FEATURES.get(kind, department.features), 2)
    closing = rng.choice(CLOSINGS)
    locales = ("en", "de") if index % 3 == 0 else ("en",)
    for locale in locales:
        rows.attributes.append(
            _attributes(entity_id, locale, brand, line, name, features, closing, now)
        )
    axes = _axes(kind, rng, department)
    _add_variants(rows, entity_id, index, axes, rng, now)


def _name(kind: str, rng: random.Random, department: Department, leaf: Leaf) -> Phrase:
    if kind == "digitalDownload":
        return department.download
    if kind == "service":
        return department.service
    if kind == "giftCard":
        return ("Gift Card", "Geschenkkarte")
    return rng.choice(leaf.nouns)


def _attributes(
    entity_id: uuid.UUID,
    locale: str,
    brand: str,
    line: str,
    name: Phrase,
    features: Sequence[Phrase],
    closing: Phrase,
    now: datetime,
) -> dict[str, Any]:
    german = locale == "de"
    noun = name[german]
    title = f"{brand} {line} {noun}"
    first, second = (feature[german] for feature in features)
    if german:
        description = f"{title} von {brand}: {first} und {second}. {closing[1]}"
        seo_description = f"Jetzt {title} entdecken: {first} und {second}."
    else:
        description = f"The {title} by {brand}: {first} and {second}. {closing[0]}"
        seo_description = f"Shop the {title}: {first} and {second}."
    return {
        "id": uuid7(),
        "entity_id": entity_id,
        "locale": locale,
        "title": title,
        "description": description,
        "seo_title": f"{title} | {brand}",
        "seo_description": seo_description,
        "updated_at": now,
    }


def _axes(kind: str, rng: random.Random, department: Department) -> list[Axis]:
    """The option types this entity varies by: two for a physical product (2-3 values each),
    the amounts of a gift card, none for a download or a service (one plain variant)."""
    if kind == "product":
        axes = []
        for axis in department.axes:
            picked = set(rng.sample(axis.values, rng.choice((2, 3))))
            axes.append(Axis(axis.name, tuple(v for v in axis.values if v in picked)))
        return axes
    if kind == "giftCard":
        return [Axis("Amount", GIFT_CARD_AMOUNTS)]
    return []


def _add_variants(
    rows: _Rows,
    entity_id: uuid.UUID,
    index: int,
    axes: Sequence[Axis],
    rng: random.Random,
    now: datetime,
) -> None:
    value_ids: list[list[tuple[str, uuid.UUID]]] = []
    for position, axis in enumerate(axes):
        type_id = uuid7()
        rows.option_types.append(
            {"id": type_id, "entity_id": entity_id, "name": axis.name, "position": position}
        )
        values = [(value, uuid7()) for value in axis.values]
        rows.option_values += [
            {"id": value_id, "option_type_id": type_id, "value": value, "position": position}
            for position, (value, value_id) in enumerate(values)
        ]
        value_ids.append(values)
    matrix = list(itertools.product(*value_ids))
    if len(axes) == 2:
        count = min(rng.randint(3, 6), len(matrix))
        matrix = [matrix[i] for i in sorted(rng.sample(range(len(matrix)), count))]
    for combination in matrix:
        variant_id = uuid7()
        rows.variants.append(
            {
                "id": variant_id,
                "entity_id": entity_id,
                "sku": "-".join(["DEMO", f"{index:06d}", *(sku_part(v) for v, _ in combination)]),
                "option_key": ",".join(sorted(str(value_id) for _, value_id in combination)),
                "metadata": DEMO_METADATA,
                "created_at": now,
                "updated_at": now,
            }
        )
        rows.variant_option_values += [
            {"variant_id": variant_id, "option_value_id": value_id} for _, value_id in combination
        ]


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        await session.execute(insert(table), rows[start : start + ROWS_PER_STATEMENT])
