"""The route table: every documented REST route, one domain module each."""

from app.rest.engine import aftercare as engine_aftercare
from app.rest.engine import analytics as engine_analytics
from app.rest.engine import audit as engine_audit
from app.rest.engine import auth as engine_auth
from app.rest.engine import carts as engine_carts
from app.rest.engine import catalog as engine_catalog
from app.rest.engine import inventory as engine_inventory
from app.rest.engine import jobs as engine_jobs
from app.rest.engine import ledger as engine_ledger
from app.rest.engine import marketplace as engine_marketplace
from app.rest.engine import me as engine_me
from app.rest.engine import media as engine_media
from app.rest.engine import orders as engine_orders
from app.rest.engine import pricing as engine_pricing
from app.rest.engine import promotions as engine_promotions
from app.rest.engine import search as engine_search
from app.rest.engine import webhooks as engine_webhooks
from app.rest.gateway import apikeys as gateway_apikeys
from app.rest.gateway import commissions as gateway_commissions
from app.rest.gateway import inventory as gateway_inventory
from app.rest.gateway import logs as gateway_logs
from app.rest.gateway import notifications as gateway_notifications
from app.rest.gateway import orders as gateway_orders
from app.rest.gateway import products as gateway_products
from app.rest.gateway import users as gateway_users
from app.rest.gateway import webhooks as gateway_webhooks
from app.rest.table import RestRoute

ROUTES: list[RestRoute] = [
    *engine_aftercare.ROUTES,
    *engine_analytics.ROUTES,
    *engine_audit.ROUTES,
    *engine_auth.ROUTES,
    *engine_carts.ROUTES,
    *engine_catalog.ROUTES,
    *engine_inventory.ROUTES,
    *engine_jobs.ROUTES,
    *engine_ledger.ROUTES,
    *engine_marketplace.ROUTES,
    *engine_me.ROUTES,
    *engine_media.ROUTES,
    *engine_orders.ROUTES,
    *engine_pricing.ROUTES,
    *engine_promotions.ROUTES,
    *engine_search.ROUTES,
    *engine_webhooks.ROUTES,
    *gateway_apikeys.ROUTES,
    *gateway_commissions.ROUTES,
    *gateway_inventory.ROUTES,
    *gateway_logs.ROUTES,
    *gateway_notifications.ROUTES,
    *gateway_orders.ROUTES,
    *gateway_products.ROUTES,
    *gateway_users.ROUTES,
    *gateway_webhooks.ROUTES,
]
