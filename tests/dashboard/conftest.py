from typing import Any

import pytest

from tests.dashboard.builders import Data, data_make


@pytest.fixture
def data(db: Any) -> Data:
    """North (30 answers, the minimum sample) and South (10) on DAY, rollups rebuilt."""
    return data_make()
