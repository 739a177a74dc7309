"""End-to-end suite against the dockerized Splunk of docker-compose.yml (run ./run_e2e.sh).

The helper modules here (settings, stack, splunk_client, checks, scenario_runner,
dashboard_runner) hold everything that does not need Splunk; tests/e2e_helpers/ unit-tests
them offline. The test_e2e_*.py files need the running stack and skip without it.
"""
