"""The video route: only a playable item's video, only while it is still an allowed video container, with
the media type of its container (never the file name's), and Range requests for seeking."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from fingereval.annotate.context import AppContext
from fingereval.annotate.replies import ApiError, documented
from fingereval.errors import VideoError
from fingereval.image import ImageError, read_image_file
from fingereval.video import check_video_container

# the container's format (the name fingereval.video.check_video_container returns) -> the media type the browser is told
MEDIA_TYPES = {"mov,mp4,m4a,3gp,3g2,mj2": "video/mp4", "matroska,webm": "video/webm", "avi": "video/x-msvideo",
               "gif": "image/gif", "mpegts": "video/mp2t"}


def videos_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(prefix="/api", responses=documented(401, 413, 429))

    @router.get("/videos/{item_id:path}", response_class=FileResponse, responses={
        **documented(400, 404, 416), 200: {"content": {"video/*": {}}, "description": "the whole video"},
        206: {"content": {"video/*": {}}, "description": "the bytes a Range header asked for"}})
    def video(item_id: str, request: Request):
        """The item's video (the id URL-quoted whole). Starlette's FileResponse answers Range requests with 206,
        so the player can seek. An item skipped as unplayable, or whose file stopped being a video, is 404."""
        item = ctx.store.item(item_id)
        if item is None:
            raise ApiError(404, f"no item {item_id!r}")
        if not item.playable:
            raise ApiError(404, f"item {item_id!r} is skipped, its video is not served: {ctx.note(item)}")
        path = Path(item.record.video)
        try:
            media_type = MEDIA_TYPES.get(check_video_container(path), "application/octet-stream")
        except VideoError as e:
            message = str(e).replace(str(path), ctx.video_name(item))
            raise ApiError(404, f"the video of item {item_id!r} is no longer a playable video ({message}); "
                                "restore the file and reload the page") from None
        _check_range(request, path)
        return FileResponse(path, media_type=media_type,
                            headers={"Cache-Control": "private, no-cache", "Content-Disposition": "inline"})

    @router.get("/images/{item_id:path}", response_class=Response, responses={
        **documented(404), 200: {"content": {"image/*": {}}, "description": "the conditioning image"}})
    def image(item_id: str):
        """An image-to-video item's conditioning image (the id URL-quoted whole), checked as scoring checks it
        (PNG, JPEG or WebP within 8K UHD) and sent with its format's media type. No such item, no image, or a
        file that is not such an image: 404."""
        item = ctx.store.item(item_id)
        if item is None:
            raise ApiError(404, f"no item {item_id!r}")
        if item.record.image is None:
            raise ApiError(404, f"item {item_id!r} has no conditioning image (its record names no `image`)")
        try:
            data, media_type = read_image_file(item.record.image)
        except ImageError as e:
            message = str(e).replace(item.record.image, ctx.shown_path(item.record.image))
            raise ApiError(404, ctx.scrub(f"the image of item {item_id!r} cannot be shown ({message}); restore the "
                                          "file and reload the page")) from None
        return Response(data, media_type=media_type,
                        headers={"Cache-Control": "private, no-cache", "Content-Disposition": "inline"})

    return router


def _check_range(request: Request, path: Path) -> None:
    """A Range header FileResponse would refuse in plain text, refused here in the one error shape."""
    header = request.headers.get("range")
    if header is None:
        return
    try:
        FileResponse._parse_range_header(header, path.stat().st_size)  # Starlette's own parser, so both agree
    except MalformedRangeHeader as e:
        raise ApiError(400, f"the Range header is malformed ({e.content}); send e.g. `Range: bytes=0-1023`") from None
    except RangeNotSatisfiable as e:
        raise ApiError(416, "the Range header asks for bytes past the end of the video",
                       headers={"Content-Range": f"bytes */{e.max_size}"}) from None


__all__ = ["MEDIA_TYPES", "videos_router"]
