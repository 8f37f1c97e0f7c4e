"""Next-experiment planning: batch Bayesian optimisation of the Pareto front, and the loop back to the lab."""
