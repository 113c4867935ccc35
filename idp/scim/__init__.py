"""SCIM 2.0 provisioning (RFC 7643, RFC 7644) of parent accounts, for programs holding a
client-credentials token with the ``scim`` scope (idp.oauth.grants.ClientCredentialsGrant).

    auth       the bearer token: ours, a client's own, scope ``scim``, the organisation it is bound to
    errors     RFC 7644 3.12 error bodies, for every refusal
    resources  Account <-> SCIM User (scim2-models), our extension, versions (ETag)
    filter     a SCIM filter -> a SQL condition with bound parameters
    discovery  ServiceProviderConfig, ResourceTypes, Schemas
    users      the operations on /Users, through idp.accounts.actions
    views      the views, the caller checked first; imported on a worker's first SCIM request

The web layer (idp/web/scim.py) is only the URL table.
"""
