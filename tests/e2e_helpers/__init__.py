"""Offline tests of the e2e suite's helpers, compose file, run_e2e.sh and CI workflow."""
