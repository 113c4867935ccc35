"""RFC 7644 4: what this service provider supports, said truthfully.

ServiceProviderConfig: PATCH, filter (with IDP_SCIM_MAX_RESULTS) and ETags yes; bulk, sort and
changePassword no; authentication by OAuth bearer token (client credentials). Schemas: the core
User schema cut down to the attributes we keep (idp.scim.resources), with userName and
emails.value case-exact as they are here, and our extension. Other User attributes a client
sends (phoneNumbers, title, ...) are accepted and not kept.
"""

from flask import current_app
from scim2_models import (AuthenticationScheme, Bulk, ChangePassword, Context, ETag, Filter,
                          Meta, NotFoundException, Patch, ResourceType, Schema,
                          ServiceProviderConfig, Sort)

from idp.oauth.tokens import SCIM_BASE
from idp.scim.resources import Ouderportaal, ScimUser

#: The User attributes we keep, with the sub-attributes of the complex ones.
KEPT = {
    "userName": None,
    "name": {"formatted", "givenName", "middleName", "familyName"},
    "displayName": None,
    "active": None,
    "emails": {"value", "primary"},
}
CASE_EXACT = {("userName", None), ("emails", "value")}


def _base() -> str:
    return f"{current_app.config['IDP_ISSUER']}{SCIM_BASE}"


def service_provider_config() -> dict:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=current_app.config["IDP_SCIM_MAX_RESULTS"]),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken", name="OAuth Bearer Token", primary=True,
            description="An access token of the client credentials grant (RFC 6749 4.4) with "
                        "the scim scope, from the token endpoint in the OpenID configuration.",
            spec_uri="https://www.rfc-editor.org/rfc/rfc6750")],
        meta=Meta(resource_type="ServiceProviderConfig",
                  location=f"{_base()}/ServiceProviderConfig"),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _user_schema() -> Schema:
    schema = ScimUser.to_schema()
    kept = []
    for attribute in schema.attributes:
        if attribute.name not in KEPT:
            continue
        subs = KEPT[attribute.name]
        if subs is not None:
            attribute.sub_attributes = [s for s in attribute.sub_attributes or [] if s.name in subs]
            for sub in attribute.sub_attributes:
                if (attribute.name, sub.name) in CASE_EXACT:
                    sub.case_exact = True
        elif (attribute.name, None) in CASE_EXACT:
            attribute.case_exact = True
        kept.append(attribute)
    schema.attributes = kept
    return schema


def schemas() -> list[dict]:
    found = []
    for schema in (_user_schema(), Ouderportaal.to_schema()):
        schema.meta = Meta(resource_type="Schema", location=f"{_base()}/Schemas/{schema.id}")
        found.append(schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return found


def resource_types() -> list[dict]:
    user = ResourceType.from_resource(ScimUser)
    user.description = "A parent's sign-in account"
    user.meta = Meta(resource_type="ResourceType", location=f"{_base()}/ResourceTypes/User")
    return [user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)]


def one(items: list[dict], wanted: str) -> dict:
    """RFC 7644 4: /Schemas/{id} and /ResourceTypes/{id}."""
    for item in items:
        if item["id"] == wanted:
            return item
    raise NotFoundException(detail=f"no {wanted!r} here")
