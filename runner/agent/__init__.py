"""runner agent: takes jobs from a coordinator and runs them like runner exec."""
