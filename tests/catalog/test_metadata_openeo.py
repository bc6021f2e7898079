"""Collection documents as read by pystac and by the openeo client's metadata model (no server)."""
from __future__ import annotations

import pystac
from openeo.internal.graph_building import PGNode
from openeo.metadata import CollectionMetadata
from openeo.rest.datacube import DataCube


def _cube(doc: dict) -> DataCube:
    node = PGNode("load_collection", id=doc["id"], spatial_extent=None, temporal_extent=None)
    return DataCube(node, connection=None, metadata=CollectionMetadata(doc))


def test_openeo_client_finds_bands_by_name_and_common_name(catalog):
    doc = catalog.get("SENTINEL2_L2A").metadata()
    meta = CollectionMetadata(doc)
    assert meta.band_names[:4] == ["B01", "B02", "B03", "B04"]
    assert meta.band_dimension.band_index("red") == meta.band_names.index("B04")
    assert meta.band_dimension.band_index("nir") == meta.band_names.index("B08")
    cube = _cube(doc)
    graph = cube.band("B08").flat_graph()
    reducer = graph["reducedimension1"]["arguments"]["reducer"]["process_graph"]
    assert reducer["arrayelement1"]["arguments"]["index"] == meta.band_names.index("B08")
    assert any(n["process_id"] == "ndvi" for n in cube.ndvi().flat_graph().values())
    assert meta.temporal_dimension.extent[0].startswith("2017")


def test_every_collection_document_is_valid(catalog):
    for cid in catalog.ids():
        doc = catalog.get(cid).metadata()
        coll = pystac.Collection.from_dict(doc)
        assert coll.id == cid == doc["id"]
        assert doc["stac_version"] == "1.0.0" and doc["type"] == "Collection"
        assert doc["license"] and doc["providers"] and doc["keywords"] and doc["links"] == []
        dims = doc["cube:dimensions"]
        assert dims["x"]["type"] == dims["y"]["type"] == "spatial" and dims["t"]["type"] == "temporal"
        assert dims["bands"]["values"] == [b["name"] for b in doc["summaries"]["eo:bands"]]
        assert CollectionMetadata(doc).band_names == dims["bands"]["values"]
        q = catalog.get(cid).queryables()
        assert q["type"] == "object" and isinstance(q["properties"], dict)


def test_s1_bands_for_the_client(catalog):
    meta = CollectionMetadata(catalog.get("SENTINEL1_GRD").metadata())
    assert meta.band_names == ["VV", "VH"]
