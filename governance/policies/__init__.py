"""Retailer policies: the RMIS policy dimension (public schema, each policy set owned by a retailer tenant).

Public surface: `selectors.creative_check` and `selectors.data_access_rules` (the clean room's terms),
`checker.check_creative` on a `checker.policy_compile`d set, `services.policy_import` / `policy_activate`.
"""
