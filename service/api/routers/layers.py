"""Layers: admins upload GeoJSON, CSV or GeoPackage files; every signed-in user reads them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from service.api.deps import Admin, SignedIn, StoreDep
from service.api.errors import responses
from service.api.ops.analyses import geojson
from service.api.uploads import UploadKind, read_upload_layer
from service.store.base import LayerRecord

router = APIRouter(prefix="/layers", tags=["layers"])


class LayerOut(BaseModel):
    """A stored layer's metadata (its features: ``GET /layers/{id}/geojson``)."""

    id: str
    name: str
    kind: str
    source: str = Field(description="the uploaded file's name, sanitised")
    features: int
    columns: list[str]
    bbox: list[float] | None = Field(description="WGS84 west, south, east, north")
    created: str
    created_by: str
    href: str


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection in WGS84."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


def layer_out(r: LayerRecord) -> LayerOut:
    """Return the schema of a layer record."""
    return LayerOut(
        id=r.id,
        name=r.name,
        kind=r.kind,
        source=r.source,
        features=r.features,
        columns=list(r.columns),
        bbox=list(r.bbox) if r.bbox is not None else None,
        created=r.created,
        created_by=r.created_by,
        href=f"/layers/{r.id}",
    )


@router.post(
    "",
    status_code=201,
    response_model=LayerOut,
    responses=responses(400, 401, 403, 409, 413, 422),
    summary="Upload a layer (GeoJSON, CSV or GeoPackage)",
)
def upload(
    user: Admin,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="GeoJSON, CSV (UTF-8 or GBK) or GeoPackage")],
    name: Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f/\\]+$")],
    kind: Annotated[UploadKind, Form()],
    crs: Annotated[
        str | None,
        Form(max_length=40, description="the coordinates' CRS: wgs84, cgcs2000, gcj02, bd09, EPSG"),
    ] = None,
    layer: Annotated[str | None, Form(max_length=100, description="layer in a GeoPackage")] = None,
) -> LayerOut:
    """Validate the file with the readers of its kind and store it; 409 on a taken name."""
    data = file.file.read()
    frame, shown, ftype = read_upload_layer(data, file.filename, kind, crs=crs, layer=layer)
    rec = store.put_layer(name, kind, frame, source=shown, user_id=user.id)
    store.audit(
        user, "layer.upload", f"layer:{rec.id}", {"name": name, "kind": kind, "format": ftype}
    )
    return layer_out(rec)


@router.get(
    "", response_model=list[LayerOut], responses=responses(401, 403), summary="List the layers"
)
def list_layers(_: SignedIn, store: StoreDep) -> list[LayerOut]:
    """Return every stored layer, oldest first."""
    return [layer_out(r) for r in store.list_layers()]


@router.get(
    "/{layer_id}",
    response_model=LayerOut,
    responses=responses(401, 403, 404, 422),
    summary="A layer's metadata",
)
def get_layer(layer_id: str, _: SignedIn, store: StoreDep) -> LayerOut:
    """Return one layer's metadata."""
    return layer_out(store.get_layer(layer_id))


@router.get(
    "/{layer_id}/geojson",
    response_model=FeatureCollection,
    responses=responses(401, 403, 404, 422),
    summary="A layer's features as GeoJSON",
)
def layer_geojson(layer_id: str, _: SignedIn, store: StoreDep) -> FeatureCollection:
    """Return the features in WGS84 with their attributes."""
    return FeatureCollection(features=geojson(store.read_layer(layer_id))["features"])


@router.delete(
    "/{layer_id}",
    status_code=204,
    responses=responses(401, 403, 404, 422),
    summary="Delete a layer",
)
def delete_layer(layer_id: str, user: Admin, store: StoreDep) -> None:
    """Delete a layer (admins)."""
    rec = store.get_layer(layer_id)
    store.delete_layer(layer_id)
    store.audit(user, "layer.delete", f"layer:{layer_id}", {"name": rec.name})
