"""The Laplace mechanism the clean room releases aggregates with: its noise is Laplace(Δ/ε) (Kolmogorov–Smirnov),
unbiased, and it refuses a privacy parameter that is not positive."""

import numpy as np
import pytest
from scipy import stats

from governance.cleanroom.privacy import laplace


@pytest.mark.parametrize(("sensitivity", "epsilon"), [(1.0, 0.1), (1.0, 1.0), (25.0, 0.5)])
def test_the_noise_is_laplace_with_scale_sensitivity_over_epsilon(sensitivity, epsilon):
    # given 20,000 releases of the same true value
    true = 1000.0

    # when each is released through the mechanism
    noise = laplace([true] * 20_000, sensitivity=sensitivity, epsilon=epsilon) - true

    # then the noise passes a KS test against Laplace(0, Δ/ε) and fails one against a scale 20% off (OpenDP's
    # noise cannot be seeded: a threshold of 1e-4 makes a false alarm a one-in-ten-thousand event)
    assert stats.kstest(noise, "laplace", args=(0.0, sensitivity / epsilon)).pvalue > 1e-4
    assert stats.kstest(noise, "laplace", args=(0.0, 1.2 * sensitivity / epsilon)).pvalue < 1e-4
    assert abs(np.mean(noise)) < 5 * np.sqrt(2) * sensitivity / epsilon / np.sqrt(noise.size)


def test_each_value_gets_its_own_noise():
    released = laplace([10.0, 10.0, 10.0], sensitivity=1.0, epsilon=1.0)
    assert len(set(released.tolist())) == 3


@pytest.mark.parametrize(("sensitivity", "epsilon", "says"), [(1.0, 0.0, "epsilon"), (0.0, 1.0, "sensitivity"),
                                                              (1.0, -2.0, "epsilon")])
def test_privacy_parameters_must_be_positive(sensitivity, epsilon, says):
    with pytest.raises(ValueError, match=f"^{says}: must be positive"):
        laplace([1.0], sensitivity=sensitivity, epsilon=epsilon)
