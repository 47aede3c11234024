"""pytest setup for the QEMU testbed tests (tests/vm)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # import testbed, image


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: boots a QEMU VM (slow; skipped without QEMU with igb)")
