"""What plugin authors import in their tests: the backend conformance suite and fixtures.

Usage in a plugin's ``tests/test_conformance.py``::

    from casman.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        backend_name = "mine"

        @pytest.fixture
        def backend(self, tmp_path):
            return MyBackend(tmp_path)

Nothing here imports boto3 or fsspec; a backend's own SDK is its tests' business.
"""

from casman.testing.conformance import BackendConformance
from casman.testing.fixtures import temp_database_dir

__all__ = ["BackendConformance", "temp_database_dir"]
