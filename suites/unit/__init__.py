"""Unit suites: every bridge call goes through the requests-mock simulators."""
