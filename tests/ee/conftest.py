"""pytest setup for the execution environment tests (tests/ee)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: boots a QEMU VM (slow; skipped without QEMU with igb)")
