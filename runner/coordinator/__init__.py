"""Coordinators: the servers an agent takes jobs from, each behind one adapter."""
