"""A local OpenAI-compatible server for the tests and benchmarks of the 'openai' answerer.

It speaks GET /v1/models and POST /v1/chat/completions (logprobs, top_logprobs, stop, and the vLLM / SGLang
`continue_final_message` / `add_generation_prompt` fields) on 127.0.0.1, in a thread, with the standard
library's HTTP server. What it answers is a `reply` function of the request body:

- `FixedReply`: fixed top-logprob lists after "<answer" and "<answer>" (optionally after a sleep), no model;
- `ModelReply`: a tiny Qwen2.5-VL run for real through TransformersAnswerer's own pieces: the video data URL
  is decoded with PyAV (fingereval.video.load_video), an image_url part before it (an image-to-video clip's
  conditioning image) with Pillow, the prompt is the model's chat template with the final assistant message
  continued (as vLLM renders it), and the reply holds the top-k log-probs of the next token, or a greedy
  continuation up to a stop string.

Media parts go through the server first, as through vLLM's frontend: each part that carries media is decoded
(`reply.decode(url)` when the reply has one, else the data URL's bytes), and the decoded items reach the reply
as `body["_media"]`. `uuids` sets how the server treats a part's `uuid` (vLLM PRs #23449, #23950):

- "honour" (vLLM >= 0.10.2, the default): a part with media and a uuid is decoded and kept under its uuid in a
  bounded LRU cache (`media_cache` items, as vLLM's processor cache is bounded); a part with a uuid and no media
  is looked up there, and a miss is HTTP 400 with vLLM's text ("Cache miss for video at index 0 but data is not
  provided.");
- "refuse" (SGLang, vLLM < 0.10.2): the uuid key is ignored beside media; a part without media is HTTP 400.

Counters: `bytes_received` (chat request bodies), `media_decoded` (media items decoded), `cache_hits`,
`cache_misses` and `uuid_refused` (uuid-only parts refused in "refuse" mode). An error raised in a request
handler is kept in `errors`, not printed (LoopbackHTTPServer).

Faults can be queued for the next chat requests, one each: ("status", code), ("sleep", seconds), ("drop",)
(close the connection without a reply), ("no_logprobs",).
"""
from __future__ import annotations

import base64
import collections
import json
import math
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable


class LoopbackHTTPServer(ThreadingHTTPServer):
    """The standard library's threaded server, bound by the caller to loopback, that keeps handler errors.

    socketserver prints a request's traceback to sys.stderr; from a request thread that outlives its test (a
    client that gave up on a slow reply) that text lands in whatever a later test captures there, such as
    click's CliRunner output. The errors are kept in `errors` instead, for a test that wants to see them.
    """

    daemon_threads = True

    def __init__(self, address, handler):
        super().__init__(address, handler)
        self.errors: list[str] = []

    def handle_error(self, request, client_address) -> None:
        self.errors.append(f"{client_address}: {sys.exc_info()[1]!r}")


class BadRequest(Exception):
    """A request the server refuses with HTTP 400 and this message."""


def completion(model: str, content: str, finish_reason: str, top: list[tuple[str, float]] | None = None,
               stop_reason: str | None = None) -> dict:
    """A chat.completion object as vLLM returns it; `top` gives one logprobs position."""
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason,
              "stop_reason": stop_reason, "logprobs": None}
    if top is not None:
        chosen = max(top, key=lambda e: e[1]) if top else (content, 0.0)
        choice["logprobs"] = {"content": [{"token": chosen[0], "logprob": chosen[1],
                                           "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]}
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [choice], "usage": {"prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 0}}


def assistant_text(body: dict) -> str | None:
    """The final assistant message being continued, or None."""
    last = body["messages"][-1]
    if last["role"] != "assistant" or not body.get("continue_final_message"):
        return None
    return last["content"] if isinstance(last["content"], str) else "".join(p.get("text", "") for p in last["content"])


# P(>) = 0.6, P(>No) = 0.35 after "<answer"; P(Yes | >) = 0.6, P(No | >) = 0.35: p_yes = 0.36 / 0.92
FIXED_BEFORE = [(">", math.log(0.6)), (">No", math.log(0.35)), ("answer", math.log(0.01)), (" >", math.log(0.01))]
FIXED_AT = [("Yes", math.log(0.6)), ("No", math.log(0.35)), ("\n", math.log(0.01)), ("Maybe", math.log(0.01))]
FIXED_P_YES = 0.36 / 0.92


class FixedReply:
    """Fixed next-token lists after "<answer" (`before`) and "<answer>" (`at`), after `latency` seconds."""

    def __init__(self, model: str = "served", before=FIXED_BEFORE, at=FIXED_AT, latency: float = 0.0,
                 reason: str = "<think>It is red.</think>"):
        self.model, self.before, self.at, self.latency, self.reason = model, list(before), list(at), latency, reason

    def __call__(self, body: dict) -> dict:
        if self.latency:
            time.sleep(self.latency)
        text = assistant_text(body)
        if text is None:  # reason generation: the reason, then the stop string
            return completion(self.model, self.reason, "stop", stop_reason=(body.get("stop") or [None])[0])
        top = self.before if text.endswith("<answer") else self.at if text.endswith("<answer>") else []
        return completion(self.model, top[0][0] if top else "", "length", top=top[: body.get("top_logprobs") or 0])


class ModelReply:
    """Runs a TransformersAnswerer's model for each request (one at a time: the model is not thread-safe)."""

    def __init__(self, answerer, video_config, model: str = "tiny"):
        self.answerer, self.video_config, self.model = answerer, video_config, model
        self.lock = threading.Lock()
        self._texts: list[str] | None = None
        self.prompts: list[str] = []  # the chat-templated prompts, as rendered
        self._tensors: collections.OrderedDict = collections.OrderedDict()  # (video, image) items -> model tensors

    def __call__(self, body: dict) -> dict:
        import torch

        a = self.answerer
        chat = []
        for m in body["messages"]:
            content = m["content"]
            if isinstance(content, str):
                chat.append({"role": m["role"], "content": content})
                continue
            parts = []
            for p in content:
                if p["type"] == "video_url":
                    parts.append({"type": "video"})
                elif p["type"] == "image_url" and not parts:  # the conditioning image, before the video
                    parts.append({"type": "image"})
                elif p["type"] == "text":
                    parts.append({"type": "text", "text": p["text"]})
                else:
                    raise BadRequest(f"this server takes video_url and text parts (and one image_url part before "
                                     f"the video), not {p['type']} here")
            chat.append({"role": m["role"], "content": parts})
        media = body.get("_media") or []
        kinds = [type(item).__name__ for item in media]
        if kinds not in (["VideoClip"], ["ConditioningImage", "VideoClip"]):
            raise BadRequest("this server takes one video per request (and one image before it)")
        cont = bool(body.get("continue_final_message"))
        text = a.processor.apply_chat_template(chat, tokenize=False, continue_final_message=cont,
                                               add_generation_prompt=body.get("add_generation_prompt", not cont))
        with self.lock:
            self.prompts.append(text)
            video = self._model_inputs(media)
            rows = a._token_rows([text], video["n_video_tokens"], video["n_image_tokens"])
            max_tokens = int(body.get("max_tokens") or 16)
            if max_tokens == 1:
                at = a._last_two_logprobs(video, rows)[1][0]
                k = min(int(body.get("top_logprobs") or 0), at.numel())
                values, ids = torch.topk(at, max(k, 1))
                texts = self._token_texts(ids.tolist())
                top = [(t, float(v)) for t, v in zip(texts, values.tolist())]
                return completion(self.model, top[0][0], "length", top=top[:k] if body.get("logprobs") else None)
            stop = (body.get("stop") or [None])[0]
            saved, a.max_new_tokens = a.max_new_tokens, max_tokens
            try:
                ids = a._generate_ids(video, rows, stop or "\x00never")[0]
            finally:
                a.max_new_tokens = saved
        out = a.tokenizer.decode(ids, skip_special_tokens=True)
        if stop and stop in out:  # vLLM leaves the stop string out of the text
            return completion(self.model, out[: out.index(stop)], "stop", stop_reason=stop)
        return completion(self.model, out, "stop" if len(ids) < max_tokens else "length")

    def _token_texts(self, ids: list[int]) -> list[str]:
        tok = self.answerer.tokenizer
        if len(ids) <= 1000:
            return tok.batch_decode([[i] for i in ids])
        if self._texts is None:
            self._texts = tok.batch_decode([[i] for i in range(len(tok))])
        return [self._texts[i] for i in ids]

    def _model_inputs(self, media: list):
        """The model's tensors of a request's video (and image), made once per pair of decoded items (under the
        lock): the prefix prefilled for one request serves the next ones, as a server's prefix cache does."""
        import dataclasses

        key = tuple(id(item) for item in media)
        if key not in self._tensors:
            clip = media[-1] if len(media) == 1 else dataclasses.replace(media[-1], image=media[0])
            self._tensors[key] = (media, self.answerer._video_inputs(clip))  # the items kept: their ids stay theirs
            while len(self._tensors) > 8:
                self._tensors.popitem(last=False)
        return self._tensors[key][1]

    def decode(self, url: str):
        """A video data URL decoded with PyAV into a clip, an image data URL with Pillow into a conditioning image
        (fingereval.image, the frames' size); the server caches them by uuid, not here."""
        from fingereval.image import load_image
        from fingereval.video import load_video

        image = str(url).startswith("data:image/")
        data = data_url_bytes(url, "image/" if image else "video/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / ("image" if image else "video.mp4")
            path.write_bytes(data)
            if image:
                try:
                    return load_image(path, self.video_config.frame_shape)
                except Exception as e:  # a server answers an unreadable image with a 400
                    raise BadRequest(str(e).replace(str(path), "image_url")) from None
            return load_video(path, self.video_config)


def data_url_bytes(url, kind: str = "") -> bytes:
    """The bytes of a base64 data URL whose MIME type starts with `kind`; BadRequest otherwise."""
    head, _, data = str(url).partition(",")
    if not head.startswith("data:" + kind) or not head.endswith(";base64"):
        raise BadRequest(f"expected a base64 {kind or 'media'} data URL, got {head[:40]!r}")
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        raise BadRequest("the data URL is not valid base64") from None


UUID_MODES = ("honour", "refuse")


class MediaParts:
    """The server's media handling (see the module doc): decodes parts, keeps them by uuid in "honour" mode."""

    def __init__(self, uuids: str = "honour", cache_items: int = 64):
        if uuids not in UUID_MODES:
            raise ValueError(f"uuids {uuids!r}: use one of {UUID_MODES}")
        self.uuids, self.cache_items = uuids, int(cache_items)
        self.cache: collections.OrderedDict[str, object] = collections.OrderedDict()
        self.decoded = self.hits = self.misses = self.refused = 0
        self.lock = threading.Lock()

    def clear(self, cache: bool = True) -> None:
        """Zero the counters and, with `cache`, forget the media kept by uuid."""
        with self.lock:
            if cache:
                self.cache.clear()
            self.decoded = self.hits = self.misses = self.refused = 0

    def resolve(self, body: dict, decode: Callable[[str], object]) -> list:
        """The decoded media items of a request's messages, in order; BadRequest as the server would refuse."""
        items, index = [], collections.Counter()
        for m in body.get("messages") or []:
            for p in m["content"] if isinstance(m.get("content"), list) else []:
                kind = p.get("type")
                if kind not in ("video_url", "image_url"):
                    continue
                modality = kind.split("_")[0]
                items.append(self._item(p, kind, modality, index[modality], decode))
                index[modality] += 1
        return items

    def _item(self, part: dict, kind: str, modality: str, idx: int, decode: Callable[[str], object]):
        media, uuid = part.get(kind), part.get("uuid")
        url = media.get("url") if isinstance(media, dict) else media
        honour = self.uuids == "honour" and uuid is not None
        if url is None:
            with self.lock:
                if honour and str(uuid) in self.cache:
                    self.hits += 1
                    self.cache.move_to_end(str(uuid))
                    return self.cache[str(uuid)]
                if honour:
                    self.misses += 1  # vLLM's text: vllm/multimodal/processing.py, _get_cache_missing_items
                    raise BadRequest(f"Cache miss for {modality} at index {idx} but data is not provided.")
                self.refused += uuid is not None
            raise BadRequest(f"1 validation error for ChatCompletionRequest: messages.0.content.{idx}.{kind}: "
                             "Input should be a valid dictionary or object to extract fields from")
        item = decode(url)
        with self.lock:
            self.decoded += 1
            if honour:
                self.cache[str(uuid)] = item
                self.cache.move_to_end(str(uuid))
                while len(self.cache) > self.cache_items:
                    self.cache.popitem(last=False)
        return item


class ChatServer:
    """The server, in a thread: `with ChatServer(reply) as server: server.url` ("http://127.0.0.1:PORT/v1")."""

    def __init__(self, reply: Callable[[dict], dict], *, served: tuple[str, ...] = ("served",),
                 api_key: str | None = None, uuids: str = "honour", media_cache: int = 64):
        self.media = MediaParts(uuids, media_cache)
        self.reply, self.served, self.api_key = reply, served, api_key
        self.faults: collections.deque = collections.deque()
        self.bodies: list[dict] = []  # every chat request body received
        self.raw_bodies: list[bytes] = []
        self.model_list_calls = 0
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd: LoopbackHTTPServer | None = None

    @property
    def errors(self) -> list[str]:
        """Errors raised in request handlers (socketserver's handle_error), oldest first."""
        return list(self._httpd.errors)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def reply(self) -> Callable[[dict], dict]:
        return self._reply

    @reply.setter
    def reply(self, reply: Callable[[dict], dict]) -> None:
        self._reply = reply
        self.media.clear()  # items decoded for another reply (another model) are not this one's

    @property
    def bytes_received(self) -> int:
        with self._lock:
            return sum(len(r) for r in self.raw_bodies)

    @property
    def media_decoded(self) -> int:
        return self.media.decoded

    @property
    def cache_hits(self) -> int:
        return self.media.hits

    @property
    def cache_misses(self) -> int:
        return self.media.misses

    @property
    def uuid_refused(self) -> int:
        return self.media.refused

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.bodies.clear()
            self.raw_bodies.clear()
            self.model_list_calls = 0
            self.max_in_flight = 0
        self.media.clear(cache=False)  # counters only: an engine does not forget its cache when we look away

    def __enter__(self) -> "ChatServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                    self.close_connection = True

            def _error(self, code: int, message: str) -> None:
                self._send(code, {"error": {"message": message, "type": "error", "code": code}})

            def _authorised(self) -> bool:
                if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                    return True
                self._error(401, "Unauthorized: invalid API key")
                return False

            def do_GET(self):
                if self.path.rstrip("/") != "/v1/models":
                    return self._error(404, f"no route {self.path}")
                with server._lock:
                    server.model_list_calls += 1
                if self._authorised():
                    self._send(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"}
                                                                for m in server.served]})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._error(404, f"no route {self.path}")
                if not self._authorised():
                    return
                body = json.loads(raw)
                with server._lock:
                    server.bodies.append(body)
                    server.raw_bodies.append(raw)
                    fault = server.faults.popleft() if server.faults else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if fault and fault[0] == "drop":
                        self.close_connection = True  # no reply at all: the client sees the connection close
                        return
                    if fault and fault[0] == "status":
                        return self._error(fault[1], fault[2] if len(fault) > 2 else "Service Unavailable")
                    if fault and fault[0] == "sleep":
                        time.sleep(fault[1])
                    if body.get("model") not in server.served:
                        return self._error(404, f"The model `{body.get('model')}` does not exist.")
                    try:
                        decode = getattr(server.reply, "decode", data_url_bytes)
                        reply = server.reply({**body, "_media": server.media.resolve(body, decode)})
                    except BadRequest as e:
                        return self._error(400, str(e))
                    if fault and fault[0] == "no_logprobs":
                        for c in reply["choices"]:
                            c["logprobs"] = None
                    self._send(200, reply)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._httpd = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
