"""pytest fixtures for the bridge simulators, registered as a pytest plugin (entry point ``mcptest_bridges``).

Importing this module must stay cheap and side-effect free: it is loaded by every pytest run in an
environment where mcptest is installed.
"""
