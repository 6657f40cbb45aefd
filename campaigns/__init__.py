"""Retail media data (RMIS), harmonization, optimization, measurement and the domain agents."""
