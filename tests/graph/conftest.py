"""The graph tests share the resolved city of tests/resolve."""

from tests.resolve.conftest import city_copy, resolved_city

__all__ = ["city_copy", "resolved_city"]
