"""End-to-end suites: hybrid workflows across both live bridge simulators."""
