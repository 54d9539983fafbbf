"""A description of the host, for the pages that benchmarks write."""

import platform
from pathlib import Path


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo, or what the platform module reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
