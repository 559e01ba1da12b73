"""Every model module is imported here so that the metadata (and Alembic) sees all tables."""

from app.models.apikeys import ApiKey
from app.models.audit import AuditEntry, Event
from app.models.base import Base
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    Category,
    OptionType,
    OptionValue,
    Variant,
)
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "Brand",
    "CatalogAttributes",
    "CatalogEntity",
    "Category",
    "Event",
    "InventoryLevel",
    "InventoryMovement",
    "OptionType",
    "OptionValue",
    "Reservation",
    "Variant",
    "Warehouse",
]
