"""Annotation file formats: CSV four-corner and COCO JSON (import parsing and export writing)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

CSV_HEADER = ["filename", "xmin", "ymin", "xmax", "ymax", "label"]


@dataclass(frozen=True)
class AssetInfo:
    """What an import or export needs to know about an asset."""

    id: str
    filename: str
    width: int
    height: int


@dataclass(frozen=True)
class ParsedAnnotation:
    """An annotation read from an import file (bound normalised to [0, 1])."""

    asset_id: str
    tag: str
    bound_type: str
    bound: list[list[float]]


@dataclass
class ParseResult:
    """Annotations found in a file, and line-level errors."""

    annotations: list[ParsedAnnotation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    found: int = 0


@dataclass(frozen=True)
class ExportAnnotation:
    """An annotation to export."""

    tag: str
    bound_type: str
    bound: list[Any]


AssetLookup = Callable[[str], AssetInfo | None]


def rectangle(xmin: float, ymin: float, xmax: float, ymax: float) -> list[list[float]]:
    """Four-corner bound ``[[x1,y1],[x1,y2],[x2,y2],[x2,y1]]``."""
    return [[xmin, ymin], [xmin, ymax], [xmax, ymax], [xmax, ymin]]


def _fmt(value: float) -> str:
    return repr(float(value))


def _out_of_bounds(where: str, x: float, y: float, asset: AssetInfo) -> str:
    return (
        f"{where}: Point {_fmt(x)}, {_fmt(y)} is out of bounds.\n\n"
        f"Hint: The asset for this annotation has dimensions {asset.width} x {asset.height} pixels."
    )


def _normalise_box(
    where: str, box: Sequence[float], asset: AssetInfo, pixels: bool
) -> tuple[list[list[float]] | None, str | None]:
    xmin, ymin, xmax, ymax = box
    if pixels:
        for x, y in ((xmin, ymin), (xmax, ymax)):
            if not (0 <= x <= asset.width and 0 <= y <= asset.height):
                return None, _out_of_bounds(where, x, y, asset)
        if asset.width == 0 or asset.height == 0:
            return None, f"{where}: The asset {asset.filename} has unknown dimensions."
        xmin, xmax = xmin / asset.width, xmax / asset.width
        ymin, ymax = ymin / asset.height, ymax / asset.height
    elif not all(0 <= v <= 1 for v in box):
        return None, f"{where}: Normalised coordinates must be within [0, 1]."
    if xmin > xmax or ymin > ymax:
        return None, f"{where}: xmin/ymin must not exceed xmax/ymax."
    return rectangle(xmin, ymin, xmax, ymax), None


def parse_csv_fourcorner(name: str, data: bytes, lookup: AssetLookup) -> ParseResult:
    """Parse ``filename,xmin,ymin,xmax,ymax,label`` rows (pixel or normalised coordinates)."""
    result = ParseResult()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.errors.append(f"At {name}: the file is not UTF-8 text.")
        return result
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0]] != CSV_HEADER:
        result.errors.append(f"At {name}:1: expected the header {','.join(CSV_HEADER)}.")
        return result
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        result.found += 1
        where = f"At {name}:{line}"
        if len(row) != 6:
            result.errors.append(f"{where}: expected 6 columns, got {len(row)}.")
            continue
        filename, label = row[0].strip(), row[5].strip()
        try:
            box = [float(v) for v in row[1:5]]
        except ValueError:
            result.errors.append(f"{where}: coordinates must be numbers.")
            continue
        asset = lookup(filename)
        if asset is None:
            result.errors.append(f"{where}: Asset {filename} not found in the project.")
            continue
        if not label:
            result.errors.append(f"{where}: the label is empty.")
            continue
        bound, error = _normalise_box(where, box, asset, any(v > 1 for v in box))
        if error is not None or bound is None:
            result.errors.append(error or where)
            continue
        result.annotations.append(ParsedAnnotation(asset.id, label, "Rectangle", bound))
    return result


def parse_coco(name: str, data: bytes, lookup: AssetLookup) -> ParseResult:
    """Parse a COCO JSON document's ``bbox`` annotations (pixel coordinates)."""
    result = ParseResult()
    try:
        document = json.loads(data)
        images = {int(i["id"]): str(i["file_name"]) for i in document["images"]}
        categories = {int(c["id"]): str(c["name"]) for c in document["categories"]}
        annotations = list(document["annotations"])
    except (ValueError, KeyError, TypeError):
        result.errors.append(f"At {name}: not a COCO JSON document.")
        return result
    for position, entry in enumerate(annotations):
        result.found += 1
        where = f"At {name}:annotations[{position}]"
        try:
            filename = images[int(entry["image_id"])]
            label = categories[int(entry["category_id"])]
            x, y, w, h = (float(v) for v in entry["bbox"])
        except (KeyError, TypeError, ValueError):
            result.errors.append(f"{where}: invalid image_id, category_id or bbox.")
            continue
        asset = lookup(filename)
        if asset is None:
            result.errors.append(f"{where}: Asset {filename} not found in the project.")
            continue
        bound, error = _normalise_box(where, [x, y, x + w, y + h], asset, True)
        if error is not None or bound is None:
            result.errors.append(error or where)
            continue
        result.annotations.append(ParsedAnnotation(asset.id, label, "Rectangle", bound))
    return result


def parse_import_file(name: str, data: bytes, lookup: AssetLookup) -> ParseResult | None:
    """Dispatch on the extension; None when the format is not supported."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return parse_csv_fourcorner(name, data, lookup)
    if lowered.endswith(".json"):
        return parse_coco(name, data, lookup)
    return None


# -- export ------------------------------------------------------------------------------

ExportRows = list[tuple[AssetInfo, list[ExportAnnotation]]]


def _box(bound: list[Any]) -> tuple[float, float, float, float] | None:
    points = [p for p in bound if isinstance(p, list) and len(p) >= 2]
    if not points:
        return None
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _scale(asset: AssetInfo, normalized: bool) -> tuple[float, float]:
    if normalized or not asset.width or not asset.height:
        return 1.0, 1.0
    return float(asset.width), float(asset.height)


def write_csv_fourcorner(rows: ExportRows, normalized: bool) -> bytes:
    """A CSV four-corner file of every annotation with a bound."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for asset, items in rows:
        sx, sy = _scale(asset, normalized)
        for annotation in items:
            box = _box(annotation.bound)
            if box is None:
                continue
            xmin, ymin, xmax, ymax = box
            writer.writerow(
                [asset.filename, xmin * sx, ymin * sy, xmax * sx, ymax * sy, annotation.tag]
            )
    return out.getvalue().encode("utf-8")


def write_coco(rows: ExportRows, normalized: bool, tags: list[str]) -> bytes:
    """A COCO JSON document (boxes, plus polygon segmentations)."""
    categories = [{"id": i + 1, "name": tag} for i, tag in enumerate(tags)]
    category_ids = {tag: i + 1 for i, tag in enumerate(tags)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, (asset, items) in enumerate(rows, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": asset.filename,
                "width": asset.width,
                "height": asset.height,
            }
        )
        sx, sy = _scale(asset, normalized)
        for annotation in items:
            box = _box(annotation.bound)
            if box is None:
                continue
            xmin, ymin, xmax, ymax = box
            entry: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": category_ids.get(annotation.tag, 0),
                "bbox": [xmin * sx, ymin * sy, (xmax - xmin) * sx, (ymax - ymin) * sy],
                "area": (xmax - xmin) * sx * (ymax - ymin) * sy,
                "iscrowd": 0,
            }
            if annotation.bound_type == "Polygon":
                entry["segmentation"] = [
                    [v for p in annotation.bound for v in (p[0] * sx, p[1] * sy)]
                ]
            annotations.append(entry)
    document = {"images": images, "annotations": annotations, "categories": categories}
    return json.dumps(document, indent=1).encode("utf-8")
