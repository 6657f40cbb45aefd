"""The measurement engine: power, designs, readouts. How big a test must be to see an effect (power, sample size and
minimum detectable effect for conversion rates, means and geo-level lift from pre-period sales, in `power`), which
regions and periods make the test (designs), and what the finished test says (readouts). The statistics are pure
functions on numbers and arrays, with no Django and no database, so the planner, the API and the workers share them.
"""
