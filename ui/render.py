"""PDF page images with the cited rows/passages highlighted, rendered once and kept on disk.

Images live under ``index_dir/pages/<doc_id>/`` named by page, resolution and a hash of the boxes,
so the same citation never renders twice, even across restarts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.models import BBox, Citation
from core.settings import Settings

HIGHLIGHT_FILL = (255, 214, 0, 70)
OUTLINE_FILL = (0, 0, 0, 0)  # "outline" style: a frame only, for whole tables
HIGHLIGHT_STROKE = (214, 40, 40, 255)
HIGHLIGHT_WIDTH = 3
PAD = 2.0  # points around a box, so the frame does not cover the text


def pages_dir(settings: Settings) -> Path:
    return settings.index_dir / "pages"


def spans_by_page(page: int, bbox: BBox, spans: Sequence[tuple[int, BBox]]) -> dict[int, list[BBox]]:
    """The boxes to highlight on each page a citation covers (its spans, else its one page and box)."""
    out: dict[int, list[BBox]] = {}
    for p, box in spans or [(page, bbox)]:
        out.setdefault(int(p), []).append(tuple(float(x) for x in box))  # type: ignore[arg-type]
    return dict(sorted(out.items()))


def citation_pages(c: Citation) -> dict[int, list[BBox]]:
    return spans_by_page(c.page, c.bbox, c.spans)


def _is_box(box: BBox) -> bool:
    return box[2] > box[0] and box[3] > box[1]


def _key(boxes: Iterable[BBox]) -> str:
    text = ";".join(",".join(f"{x:.1f}" for x in b) for b in sorted(boxes))
    return hashlib.sha1(text.encode()).hexdigest()[:12] if text else "plain"


def image_path(settings: Settings, doc_id: str, page: int, boxes: Sequence[BBox], resolution: int,
               style: str = "fill") -> Path:
    safe_id = "".join(ch for ch in doc_id if ch.isalnum()) or "doc"
    tag = "" if style == "fill" or not boxes else f"-{style}"
    return pages_dir(settings) / safe_id / f"p{page:04d}-r{resolution}-{_key(boxes)}{tag}.png"


def render_page(
    settings: Settings, pdf_path: str | Path, doc_id: str, page: int, boxes: Sequence[BBox] = (),
    resolution: int | None = None, style: str = "fill",
) -> Path:
    """PNG of one page (1-based) with `boxes` framed; rendered with pdfplumber once, then read from disk.

    style "fill" shades the boxes (cited rows and passages), "outline" only frames them (whole tables).
    """
    import pdfplumber

    res = int(resolution or settings.render_resolution)
    boxes = [b for b in boxes if _is_box(b)]
    out = image_path(settings, doc_id, page, boxes, res, style)
    fill = OUTLINE_FILL if style == "outline" else HIGHLIGHT_FILL
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with pdfplumber.open(str(pdf_path)) as pdf:
        if not 1 <= page <= len(pdf.pages):
            raise ValueError(f"页码 {page} 超出范围（共 {len(pdf.pages)} 页）")
        pg = pdf.pages[page - 1]
        img = pg.to_image(resolution=res)
        for x0, top, x1, bottom in boxes:
            rect = (max(0.0, x0 - PAD), max(0.0, top - PAD), min(float(pg.width), x1 + PAD),
                    min(float(pg.height), bottom + PAD))
            img.draw_rect(rect, fill=fill, stroke=HIGHLIGHT_STROKE, stroke_width=HIGHLIGHT_WIDTH)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        img.save(str(tmp), format="PNG")
    os.replace(tmp, out)
    return out


def remove_page_images(settings: Settings, doc_id: str | None = None) -> None:
    """Forget the rendered images of one document, or of all documents."""
    root = pages_dir(settings)
    target = root if doc_id is None else root / "".join(ch for ch in doc_id if ch.isalnum())
    if target.is_dir() and target.resolve().is_relative_to(root.resolve()):
        shutil.rmtree(target, ignore_errors=True)
