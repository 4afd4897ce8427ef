"""What the test suites share to drive the lab: running ansible-playbook against a lab (`playbook`).

Import it with tests/ on sys.path (the suites' conftest files put it there)."""
