"""Budget plans built from a tenant's own RMIS history: response curves fitted per cell (network × placement × SKU),
incrementality factors, stock-out forecasts, the allocation, its monitoring plan and rationale, and the daily
follow-up that refits the curves and records realized vs expected (regret)."""
