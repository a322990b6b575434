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


def test_nexus_async_types_re_exports_every_model_and_params_dict() -> None:
    import importlib
    import pkgutil

    import nexus_async.types as types

    exported: set[str] = set()
    for info in pkgutil.iter_modules(types.__path__):
        module = importlib.import_module(f"nexus_async.types.{info.name}")
        exported.update(module.__all__)
        for name in module.__all__:
            assert getattr(types, name) is getattr(module, name), name
    assert sorted(types.__all__) == types.__all__  # ordered
    assert set(types.__all__) == exported  # complete, nothing extra


def test_public_classes_name_the_public_module() -> None:
    import pickle

    assert repr(nexus_async.AsyncClient) == "<class 'nexus_async.AsyncClient'>"
    error = nexus_async.InvalidInputError("bad")
    assert type(pickle.loads(pickle.dumps(error))) is nexus_async.InvalidInputError
    for name in nexus_async.__all__:
        obj = getattr(nexus_async, name)
        if isinstance(obj, type):
            assert not obj.__module__.startswith("nexus_async._"), name


def test_each_public_name_means_one_thing() -> None:
    """The session you add files to and the server's answer about it have different names, and
    the asset-metadata request (``ApiTypes.AssetMetadata``) is not a response model's name."""
    import nexus_async.types as types
    from nexus_async.types.assets import AssetUpdate
    from nexus_async.uploads.asset_session import UploadSession
    from nexus_async.uploads.import_session import ImportSession

    assert nexus_async.UploadSession is UploadSession
    assert nexus_async.ImportSession is ImportSession
    assert nexus_async.ApiTypes.AssetMetadata is AssetUpdate
    for name in ("UploadSession", "ImportSession", "AssetMetadata"):
        assert name not in types.__all__, name
    clashing = set(types.__all__) & (set(nexus_async.__all__) | set(nexus_async.ApiTypes.__all__))
    for name in clashing:  # a name in two namespaces is the same object in both
        same = getattr(types, name)
        assert getattr(nexus_async, name, same) is same, name
        assert getattr(nexus_async.ApiTypes, name, same) is same, name


def test_old_model_names_still_import_from_their_modules() -> None:
    from nexus_async.types.assets import AssetMetadata, AssetMetadataInfo
    from nexus_async.types.imports import ImportSession, ImportSessionInfo
    from nexus_async.types.uploads import UploadSession, UploadSessionInfo

    assert AssetMetadata is AssetMetadataInfo
    assert ImportSession is ImportSessionInfo
    assert UploadSession is UploadSessionInfo


def test_an_asset_s_metadata_reads_as_the_response_model() -> None:
    from nexus_async.types.assets import Asset
    from tests.unit import payloads

    asset = Asset.model_validate(payloads.asset())
    assert type(asset.metadata).__name__ == "AssetMetadataInfo"
    assert repr(asset.metadata).startswith("AssetMetadataInfo(")
