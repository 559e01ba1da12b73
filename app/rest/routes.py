"""The route table: every documented REST route, one domain module each."""

from app.rest.engine import audit as engine_audit
from app.rest.engine import catalog as engine_catalog
from app.rest.gateway import apikeys as gateway_apikeys
from app.rest.gateway import products as gateway_products
from app.rest.table import RestRoute

ROUTES: list[RestRoute] = [
    *engine_audit.ROUTES,
    *engine_catalog.ROUTES,
    *gateway_apikeys.ROUTES,
    *gateway_products.ROUTES,
]
