"""Send each video to an engine server once: content-derived uuids on the media parts of chat requests.

Every request of a video carries the same video. vLLM fetches, decodes and hashes a media item before any cache
lookup (vLLM RFC #22044), so sending it with each of a video's ~50 requests costs ~50x its size on the wire and
~50 decodes. vLLM >= 0.10.2 takes a `uuid` on a content part as the item's cache key (PR #23449) and, for an item
it has cached, a part with the uuid and no media (PR #23950). The wire format, from vLLM's
docs/features/multimodal_inputs.md ("skip sending media if you expect cache hits") and
vllm/entrypoints/chat_utils.py (`_parse_chat_message_content_mm_part`: a part with a `uuid` is read by key, and
its `video_url` may be None, a dict `{"url": ...}` or a string):

    {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,..."}, "uuid": "<id>"}   # the first time
    {"type": "video_url", "video_url": None, "uuid": "<id>"}                                  # afterwards

A uuid-only part the server no longer holds (its processor cache is bounded) is refused with HTTP 400: vLLM's
vllm/multimodal/processing.py (`_get_cache_missing_items`) raises
`ValueError(f"Cache miss for {modality} at index {idx} but data is not provided.")`, which its OpenAI server
answers as a 400 BadRequestError carrying that text (serving_chat: `except ValueError as e: return
self.create_error_response(str(e))`). Servers without the feature (SGLang, vLLM < 0.10.2) ignore the `uuid` key
beside media and refuse a part without media with a 4xx (request validation).

So, per server (`MediaOnce`): each media item goes with its uuid until a request carrying it has succeeded, then
the uuid alone. The first uuid-only request is a probe, sent while the other uuid-only requests wait: success
means the server keeps media by uuid; a 4xx that is not a cache miss means it does not, and from then on every
request carries the media without a uuid, exactly as before (confirmed by that resend succeeding). A cache miss
re-sends the media with its uuid for that request only.
"""
from __future__ import annotations

import collections
import hashlib
import re
import threading
from dataclasses import dataclass
from functools import cached_property

UUID_NAMESPACE = "fingereval-media-v1"  # part of every uuid: a change in how media is built changes it here
CACHE_MISS = re.compile(r"cache miss", re.IGNORECASE)  # vLLM's text for an evicted uuid (see the module doc)

PLAIN, WITH_UUID, UUID_ONLY = "plain", "with_uuid", "uuid_only"  # how a request carries its media
UNKNOWN, YES, NO = "unknown", "yes", "no"  # whether the server takes uuid-only parts


def media_uuid(url: str) -> str:
    """The uuid of one media item: sha256 of the data URL sent (its MIME type and every byte of the media).

    The bytes are what the server decodes, so two different media never share a uuid and the same bytes always
    do; in frames mode each JPEG already encodes the frame sampling and quality settings that made it."""
    return "fe-" + hashlib.sha256(f"{UUID_NAMESPACE}\n{url}".encode()).hexdigest()


@dataclass(frozen=True)
class Media:
    """The media parts of a clip's user message: `kind` is the part type ("video_url" or "image_url"); `images` are
    image_url parts that go before them (an image-to-video clip's conditioning image), each with its own uuid."""
    kind: str
    urls: tuple[str, ...]
    images: tuple[str, ...] = ()

    @cached_property
    def items(self) -> tuple[tuple[str, str], ...]:
        """(part type, data URL) of every part, in the order they are sent."""
        return tuple(("image_url", u) for u in self.images) + tuple((self.kind, u) for u in self.urls)

    @cached_property
    def uuids(self) -> tuple[str, ...]:
        return tuple(media_uuid(u) for _, u in self.items)

    @cached_property
    def key(self) -> str:
        """One key for all the items, to remember whether the server has been sent them."""
        return hashlib.sha256("\n".join(self.uuids).encode()).hexdigest()

    def parts(self, how: str) -> list[dict]:
        if how == PLAIN:
            return [{"type": k, k: {"url": u}} for k, u in self.items]
        if how == WITH_UUID:
            return [{"type": k, k: {"url": u}, "uuid": i} for (k, u), i in zip(self.items, self.uuids)]
        return [{"type": k, k: None, "uuid": i} for (k, _), i in zip(self.items, self.uuids)]


@dataclass(frozen=True)
class Ticket:
    """How one request carries its media, and whether it is the server's uuid-only probe."""
    media: Media
    how: str
    probe: bool = False


class MediaOnce:
    """One server's answer to uuid-only parts, and which media it has been sent (thread-safe)."""

    def __init__(self, enabled: bool = True, remember: int = 4096):
        self.support = UNKNOWN if enabled else NO
        self.refusals = 0  # uuid-only (or uuid-bearing) requests the server refused as such: 1 at most per server
        self.misses = 0  # uuid-only requests for media the server no longer held (re-sent with the media)
        self._sent: collections.OrderedDict[str, None] = collections.OrderedDict()  # keys acknowledged, LRU
        self._remember = int(remember)  # forgetting a key only costs sending that media once more
        self._probing = False
        self._cond = threading.Condition()

    def ticket(self, media: Media) -> Ticket:
        """How the next request for `media` goes out; waits while another request probes the server."""
        with self._cond:
            while True:
                if self.support == NO:
                    return Ticket(media, PLAIN)
                if media.key not in self._sent:
                    return Ticket(media, WITH_UUID)
                if self.support == YES:
                    return Ticket(media, UUID_ONLY)
                if not self._probing:
                    self._probing = True
                    return Ticket(media, UUID_ONLY, probe=True)
                self._cond.wait()

    def succeeded(self, t: Ticket) -> None:
        with self._cond:
            if t.how == WITH_UUID:
                self._sent[t.media.key] = None
                self._sent.move_to_end(t.media.key)
                while len(self._sent) > self._remember:
                    self._sent.popitem(last=False)
            if t.probe:
                self.support = YES if t.how == UUID_ONLY else NO if t.how == PLAIN else self.support
            self._release(t)

    def refused(self, t: Ticket, message: str) -> Ticket | None:
        """The request to send instead after the server refused `t` with a 4xx, or None: the refusal stands."""
        with self._cond:
            if t.how == UUID_ONLY:
                if CACHE_MISS.search(message) or self.support == YES:  # evicted: this request carries the media
                    self._sent.pop(t.media.key, None)
                    self.misses += 1
                    self._release(t)
                    return Ticket(t.media, WITH_UUID)
                self.refusals += 1  # the probe was refused: confirmed by the plain resend succeeding
                return Ticket(t.media, PLAIN, probe=True)
            if t.how == WITH_UUID and self.support == UNKNOWN and "uuid" in message.lower():
                self.refusals += 1  # a server that rejects the uuid key itself
                self.support = NO
                self._cond.notify_all()
                return Ticket(t.media, PLAIN)
            if t.probe:  # the probe's plain resend was refused too: the refusal was not about uuids
                self.refusals -= 1
            self._release(t)
            return None

    def abandoned(self, t: Ticket) -> None:
        """`t` failed otherwise (timeouts, connection): nothing learnt."""
        with self._cond:
            self._release(t)

    def _release(self, t: Ticket) -> None:
        if t.probe:
            self._probing = False
            self._cond.notify_all()
