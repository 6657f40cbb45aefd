"""Spec suggestions for exports no spec matches: header similarity to every known network's vocabulary, checked
against what the values look like. The draft is for a user to confirm or edit; nothing is written here.
"""

from campaigns.harmonize.suggest.draft import SCOPE_ASSUMED, WHY_RATIO, suggest_spec, suggested_name
from campaigns.harmonize.suggest.profile import profile_column
from campaigns.harmonize.suggest.vocabulary import header_window

__all__ = ["SCOPE_ASSUMED", "WHY_RATIO", "header_window", "profile_column", "suggest_spec", "suggested_name"]
