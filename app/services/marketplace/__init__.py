"""The marketplace (issue 14): vendors (`vendors`), and the sub-orders checkout splits an order
into (`sub_orders`, `split`).

Who reaches what: `marketplace:admin` reaches every vendor and sub-order; a vendor's signed-in
user (`Actor.vendor_id`, from `users.vendor_id`) reaches its own vendor's, and another
vendor's records are NOT_FOUND to it, as missing ones, never FORBIDDEN.
"""

ADMIN = "marketplace:admin"
