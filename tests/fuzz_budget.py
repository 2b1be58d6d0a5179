"""The budget every property-based test runs with.

CI runs a fixed, derandomised set of 60 examples per property, the same every run. Set
RECRUIT_FUZZ_EXAMPLES to run more, with fresh random examples each time.
"""

import os

from hypothesis import HealthCheck, settings

BUDGET = os.environ.get("RECRUIT_FUZZ_EXAMPLES")
EXAMPLES = int(BUDGET or 60)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=BUDGET is None,
    database=None,  # no .hypothesis/ directory in the tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
