"""The engine dialect's catalog routes (seed 003, `/api/catalog`)."""

from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute

BASE = "/api/catalog"
ENTITY = """
fragment Entity on CatalogEntity {
  id type slug status metadata allowBackorder createdAt updatedAt
  attributes @include(if: $withAttributes) {
    locale title description seoTitle seoDescription
  }
  optionTypes @include(if: $withVariants) { id name position values { id value position } }
  variants @include(if: $withVariants) {
    id sku metadata createdAt updatedAt optionValues { id value optionType optionTypeId }
    price @include(if: $withPricing) { amount currency formatted }
  }
  categories @include(if: $withCategories) { id name slug parentId position }
  brands @include(if: $withBrands) { id name slug }
  price @include(if: $withPricing) { amount currency formatted }
  stock @include(if: $withInventory)
  inventory @include(if: $withInventory) {
    sku variantId warehouseId warehouseName quantity reservedQuantity availableQuantity
  }
  media @include(if: $withMedia) {
    role position mediaAsset {
      id filename kind contentType byteSize alt width height url
      variants { width height contentType url }
    }
  }
}
"""
INCLUDE_VARS = (
    "$withAttributes: Boolean! = false, $withVariants: Boolean! = false, "
    "$withCategories: Boolean! = false, $withBrands: Boolean! = false, "
    "$withInventory: Boolean! = false, $withPricing: Boolean! = false, "
    "$withMedia: Boolean! = false"
)
INCLUDE = {
    "attributes": "withAttributes",
    "variants": "withVariants",
    "categories": "withCategories",
    "brands": "withBrands",
    "inventory": "withInventory",
    "pricing": "withPricing",
    "media": "withMedia",
}
CATEGORY = "id name slug description position parentId createdAt updatedAt"
BRAND = "id name slug description createdAt updatedAt"
ID = (Param("id", "input.id", description="The entity's UUID"),)
# A changed entity is answered with all its own parts (its media are a domain of their own).
ALL_ON = {variable: True for name, variable in INCLUDE.items() if name != "media"}
PLURAL = {"category": "categories", "brand": "brands"}


def entity_mutation(name: str, input_type: str, input_expr: str = "$input") -> str:
    return f"""mutation M($input: {input_type}!, {INCLUDE_VARS}) {{
      {name}(input: {input_expr}) {{ ...Entity }}
    }}{ENTITY}"""


def transition(action: str, summary: str) -> RestRoute:
    name = f"{action}CatalogEntity"
    return RestRoute(
        "POST",
        f"{BASE}/entities/{{id}}/{action}",
        entity_mutation(name, "CatalogEntityIdInput"),
        name,
        ENGINE,
        summary=summary,
        tag="catalog",
        path_params=ID,
        permission="catalog:update",
        extra_responses={409: "Not allowed from the current status"},
        defaults=ALL_ON,
    )


ROUTES = [
    RestRoute(
        "GET",
        f"{BASE}/entities",
        f"""query Entities($filter: CatalogEntityFilter, $sort: String, $page: Int, $limit: Int,
          {INCLUDE_VARS}) {{
          catalogEntities(filter: $filter, sort: $sort, page: $page, limit: $limit) {{
            items {{ ...Entity }} totalCount pageInfo {{ page limit }}
          }}
        }}{ENTITY}""",
        "catalogEntities",
        ENGINE,
        summary="List catalog entities",
        tag="catalog",
        paginated=True,
        include=INCLUDE,
        query=(
            Param("type", "filter.type", description="product, digitalDownload, service, ..."),
            Param("status", "filter.status", description="draft, active, archived, discontinued"),
            Param("category", "filter.category", description="A category id"),
            Param("brand", "filter.brand", description="A brand id"),
            Param("vendor", "filter.vendor", description="A marketplace vendor's id"),
            Param(
                "sort",
                description="field:direction, e.g. createdAt:desc (createdAt, "
                "updatedAt, slug, type, status)",
            ),
        ),
        description="Anonymous callers see active entities only; `catalog:read` sees all.",
    ),
    RestRoute(
        "GET",
        f"{BASE}/entities/{{idOrSlug}}",
        f"""query Entity($idOrSlug: String!, {INCLUDE_VARS}) {{
          catalogEntity(idOrSlug: $idOrSlug) {{ ...Entity }}
        }}{ENTITY}""",
        "catalogEntity",
        ENGINE,
        summary="Get an entity by UUID or slug",
        tag="catalog",
        path_params=(Param("idOrSlug"),),
        include=INCLUDE,
    ),
    RestRoute(
        "POST",
        f"{BASE}/entities",
        entity_mutation("createCatalogEntity", "CreateCatalogEntityInput"),
        "createCatalogEntity",
        ENGINE,
        summary="Create a catalog entity",
        tag="catalog",
        body="input",
        status=201,
        permission="catalog:create",
        defaults=ALL_ON,
        extra_responses={409: "Slug in use"},
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/entities/{{id}}",
        entity_mutation("updateCatalogEntity", "UpdateCatalogEntityInput"),
        "updateCatalogEntity",
        ENGINE,
        summary="Update an entity",
        tag="catalog",
        path_params=ID,
        body="input",
        permission="catalog:update",
        defaults=ALL_ON,
        extra_responses={409: "Slug in use or status change not allowed"},
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/entities/{{id}}",
        entity_mutation("deleteCatalogEntity", "CatalogEntityIdInput"),
        "deleteCatalogEntity",
        ENGINE,
        summary="Delete an entity (answered as it was)",
        tag="catalog",
        path_params=ID,
        permission="catalog:delete",
        defaults=ALL_ON,
    ),
    transition("publish", "Transition to active status"),
    transition("archive", "Transition to archived status"),
    transition("discontinue", "Transition to discontinued status"),
    RestRoute(
        "PUT",
        f"{BASE}/entities/{{id}}/attributes/{{locale}}",
        """mutation M($input: SetCatalogAttributesInput!) {
          setCatalogAttributes(input: $input) { locale title description seoTitle seoDescription }
        }""",
        "setCatalogAttributes",
        ENGINE,
        summary="Set localized attributes",
        tag="catalog",
        path_params=(Param("id", "input.entityId"), Param("locale", "input.locale")),
        body="input",
        permission="catalog:update",
    ),
    RestRoute(
        "GET",
        f"{BASE}/entities/{{id}}/attributes/{{locale}}",
        """query A($id: String!, $locale: String!) {
          catalogAttributes(entityIdOrSlug: $id, locale: $locale) {
            locale title description seoTitle seoDescription
          }
        }""",
        "catalogAttributes",
        ENGINE,
        summary="Get localized attributes (missing ones from the default locale)",
        tag="catalog",
        path_params=(Param("id"), Param("locale")),
    ),
    RestRoute(
        "GET",
        f"{BASE}/categories",
        f"""query C($parentId: String, $page: Int, $limit: Int) {{
          categories(parentId: $parentId, page: $page, limit: $limit) {{
            items {{ {CATEGORY} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "categories",
        ENGINE,
        summary="List categories (by position)",
        tag="catalog",
        paginated=True,
        query=(Param("parentId", description="A category id, or root for the top level"),),
    ),
    RestRoute(
        "POST",
        f"{BASE}/categories",
        f"mutation M($input: CreateCategoryInput!) {{ "
        f"createCategory(input: $input) {{ {CATEGORY} }} }}",
        "createCategory",
        ENGINE,
        summary="Create a category",
        tag="catalog",
        body="input",
        status=201,
        permission="catalog:create",
        extra_responses={409: "Slug in use"},
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/categories/{{categoryId}}",
        f"mutation M($input: UpdateCategoryInput!) {{ "
        f"updateCategory(input: $input) {{ {CATEGORY} }} }}",
        "updateCategory",
        ENGINE,
        summary="Update a category",
        tag="catalog",
        body="input",
        path_params=(Param("categoryId", "input.id"),),
        permission="catalog:update",
        extra_responses={409: "Slug in use, or a cycle"},
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/categories/{{categoryId}}",
        f"mutation M($id: ID!) {{ deleteCategory(input: {{id: $id}}) {{ {CATEGORY} }} }}",
        "deleteCategory",
        ENGINE,
        summary="Delete a category without children",
        tag="catalog",
        path_params=(Param("categoryId", "id"),),
        permission="catalog:delete",
        extra_responses={409: "Has child categories"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/brands",
        f"""query B($page: Int, $limit: Int) {{
          brands(page: $page, limit: $limit) {{
            items {{ {BRAND} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "brands",
        ENGINE,
        summary="List brands (by name)",
        tag="catalog",
        paginated=True,
    ),
    RestRoute(
        "POST",
        f"{BASE}/brands",
        f"mutation M($input: CreateBrandInput!) {{ createBrand(input: $input) {{ {BRAND} }} }}",
        "createBrand",
        ENGINE,
        summary="Create a brand",
        tag="catalog",
        body="input",
        status=201,
        permission="catalog:create",
        extra_responses={409: "Slug in use"},
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/brands/{{brandId}}",
        f"mutation M($input: UpdateBrandInput!) {{ updateBrand(input: $input) {{ {BRAND} }} }}",
        "updateBrand",
        ENGINE,
        summary="Update a brand",
        tag="catalog",
        body="input",
        path_params=(Param("brandId", "input.id"),),
        permission="catalog:update",
        extra_responses={409: "Slug in use"},
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/brands/{{brandId}}",
        f"mutation M($id: ID!) {{ deleteBrand(input: {{id: $id}}) {{ {BRAND} }} }}",
        "deleteBrand",
        ENGINE,
        summary="Delete a brand",
        tag="catalog",
        path_params=(Param("brandId", "id"),),
        permission="catalog:delete",
    ),
    *(
        RestRoute(
            method,
            f"{BASE}/entities/{{id}}/{PLURAL[kind]}/{{{kind}Id}}",
            entity_mutation(mutation, f"Entity{kind.title()}Input"),
            mutation,
            ENGINE,
            summary=summary,
            tag="catalog",
            path_params=(Param("id", "input.entityId"), Param(f"{kind}Id", f"input.{kind}Id")),
            permission="catalog:update",
            defaults=ALL_ON,
        )
        for method, kind, mutation, summary in (
            ("POST", "category", "addEntityToCategory", "Add an entity to a category"),
            ("DELETE", "category", "removeEntityFromCategory", "Remove an entity from a category"),
            ("POST", "brand", "addEntityToBrand", "Add an entity to a brand"),
            ("DELETE", "brand", "removeEntityFromBrand", "Remove an entity from a brand"),
        )
    ),
    RestRoute(
        "POST",
        f"{BASE}/entities/{{id}}/options",
        """mutation M($input: CreateOptionTypeInput!) {
          createOptionType(input: $input) { id name position values { id value position } }
        }""",
        "createOptionType",
        ENGINE,
        summary="Create an option type (with its first values)",
        tag="catalog",
        body="input",
        status=201,
        path_params=(Param("id", "input.entityId"),),
        permission="catalog:update",
        extra_responses={409: "Name in use"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/options/{{optionTypeId}}/values",
        """mutation M($input: CreateOptionValueInput!) {
          createOptionValue(input: $input) { id value position optionTypeId }
        }""",
        "createOptionValue",
        ENGINE,
        summary="Create an option value",
        tag="catalog",
        body="input",
        status=201,
        path_params=(Param("optionTypeId", "input.optionTypeId"),),
        permission="catalog:update",
        extra_responses={409: "Value in use"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/entities/{{id}}/variants",
        """mutation M($input: CreateVariantInput!) {
          createVariant(input: $input) {
            id entityId sku metadata createdAt updatedAt
            optionValues { id value optionType optionTypeId }
          }
        }""",
        "createVariant",
        ENGINE,
        summary="Create a single variant",
        tag="catalog",
        body="input",
        status=201,
        path_params=(Param("id", "input.entityId"),),
        permission="catalog:update",
        extra_responses={409: "SKU or combination in use"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/entities/{{id}}/variants/generate",
        """mutation M($input: GenerateVariantsInput!) {
          generateVariants(input: $input) {
            createdCount existingCount totalCount
            created { id sku optionValues { id value optionType optionTypeId } }
          }
        }""",
        "generateVariants",
        ENGINE,
        summary="Generate variants from the option matrix (safe to repeat)",
        tag="catalog",
        body="input",
        optional_body=True,
        path_params=(Param("id", "input.entityId"),),
        permission="catalog:update",
    ),
]
