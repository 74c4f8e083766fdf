import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/reference.py and friends

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder with the real MNIST files: $TINYCNN_DATA, else ../shared/data/mnist beside the checkout."""
    for candidate in (os.environ.get("TINYCNN_DATA"), SHARED_MNIST):
        if candidate and (Path(candidate) / "t10k-labels-idx1-ubyte.gz").exists():
            return Path(candidate)
    pytest.skip(f"MNIST is not available: set TINYCNN_DATA or put the files in {SHARED_MNIST}")


@pytest.fixture(scope="session")
def mnist_data(mnist_dir):
    from tinycnn.datasets import mnist
    return mnist.load_data(mnist_dir, download=False)
