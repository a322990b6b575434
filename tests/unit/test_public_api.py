"""The public namespace: sorted, complete, and every name importable."""

import nexus_async


def test_all_is_sorted_and_unique() -> None:
    names = nexus_async.__all__
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    assert len(names) == len(set(names))


def test_every_public_name_resolves() -> None:
    for name in nexus_async.__all__:
        assert getattr(nexus_async, name) is not None, name


def test_every_exception_derives_from_the_root() -> None:
    for name in nexus_async.__all__:
        obj = getattr(nexus_async, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, nexus_async.NexusError), name
