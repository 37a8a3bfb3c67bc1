"""Answerer on an engine server (vLLM, SGLang) through the OpenAI chat API with logprobs.

    vllm serve Qwen/Qwen2.5-VL-7B-Instruct --enable-prefix-caching
    fingereval score clip.mp4 -p "..." --answerer openai --base-url http://localhost:8000/v1

p_yes is the same exact marginal as the in-process backend reads (fingereval.answer.tokens.AnswerSlot): on
Qwen's vocabulary `<answer>No` is tokenised `<` `answer` `>No` while `<answer>Yes` is `<` `answer` `>` `Yes`,
so each question asks the server for two next-token distributions, continuing the assistant text
"<answer" (where `>` competes with the merged `>No` / `>Yes`) and "<answer>" (the word after `>`):

    p_yes = (P(>) P(yes set | >) + P(merged yes)) / (that + P(>) P(no set | >) + P(merged no))

Only the top `top_logprobs` tokens come back (20 on OpenAI-style servers); a token outside them counts as 0.
A question whose two lists hold no yes and no no token is marked answer_unreadable, with p_yes 0.5.
This reading assumes the slot's last token is `>` (Qwen's vocabulary; the server tokenises the text itself).

Speed: every request of a video carries the same video (its bytes, or their uuid) and instruction, so the
server renders the same prompt prefix and its prefix cache encodes the video once. The first request of a video
goes out alone (`prime_prefix`), so the video is in the server's cache before the rest of its requests arrive
together; `concurrency` bounds the requests in flight for this answerer, across all the videos it is given at once.

Each video goes over the wire once (fingereval.answer.openai_media): its first request carries the media with a
uuid derived from its bytes, the others the uuid alone, on servers that keep media by uuid (vLLM >= 0.10.2);
a server that refuses uuid-only parts (SGLang, older vLLM) is detected on its first such request and gets the
media in every request from then on; an evicted uuid re-sends the media for that request. `media_uuids=False`
sends the media in every request.

With `video_as="video"` the file itself is sent and the server samples its frames (vLLM: `--media-io-kwargs`,
the model's processor settings); with `video_as="frames"` the frames sampled here (video_config) go as JPEG
images, for servers without video input (the model then sees images, not a video: scores differ).

An image-to-video clip's conditioning image goes as an image_url part before the video's, as PNG of the pixels
decoded and resized here (fingereval.image, the frames' size): lossless, so the server's model sees what the
in-process one sees, and a 4K photo costs the server no more tokens than a frame. It has its own uuid, sent once.
"""
from __future__ import annotations

import base64
import io
import json
import math
import mimetypes
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from fingereval.answer.base import DEFAULT_MODEL, Answerer
from fingereval.answer.format import ANSWER_OPEN, parse_output, user_text
from fingereval.answer.openai_media import Media, MediaOnce
from fingereval.answer.tokens import normalize_token_text
from fingereval.errors import ConfigError, ModelOutputError
from fingereval.schema import Question, RawAnswer
from fingereval.video import VideoClip, VideoConfig

ENV_API_KEY = "FINGEREVAL_ANSWER_API_KEY"
ENV_BASE_URL = "FINGEREVAL_ANSWER_BASE_URL"
SLOT_LAST = ">"  # the slot's last token on Qwen's vocabulary
SLOT_HEAD = ANSWER_OPEN[: -len(SLOT_LAST)]  # "<answer"
CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}  # the vLLM / SGLang extension
VIDEO_AS = ("video", "frames")


class ServerRefused(ModelOutputError):
    """The server answered a request with a 4xx other than 401/403/408/429; `detail` is its message."""

    def __init__(self, message: str, status: int, detail: str):
        super().__init__(message)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class SlotReading:
    p_yes: float
    unreadable: bool  # no yes and no no token among the tokens returned


def _logsumexp(xs: Sequence[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def slot_p_yes(before: Sequence[tuple[str, float]], at: Sequence[tuple[str, float]]) -> SlotReading:
    """p_yes from the (token text, log-prob) lists after "<answer" (`before`) and after "<answer>" (`at`).

    The yes / no sets are the tokens whose text normalises to yes / no (normalize_token_text, as in-process);
    the merged tokens are those in `before` that start with `>` and whose rest normalises to yes / no."""
    p_last = [lp for t, lp in before if t == SLOT_LAST]
    words = {"yes": ([], []), "no": ([], [])}  # word -> (merged log-probs, split log-probs)
    for t, lp in before:
        if len(t) > len(SLOT_LAST) and t.startswith(SLOT_LAST):
            w = normalize_token_text(t[len(SLOT_LAST):])
            if w in words:
                words[w][0].append(lp)
    for t, lp in at:
        w = normalize_token_text(t)
        if w in words:
            words[w][1].append(lp)
    terms = {}
    for w, (merged, split) in words.items():
        terms[w] = list(merged)
        if p_last and split:
            terms[w].append(_logsumexp(p_last) + _logsumexp(split))
    if not terms["yes"] and not terms["no"]:
        return SlotReading(0.5, True)
    if not terms["no"]:
        return SlotReading(1.0, False)
    if not terms["yes"]:
        return SlotReading(0.0, False)
    d = _logsumexp(terms["no"]) - _logsumexp(terms["yes"])
    return SlotReading(1.0 / (1.0 + math.exp(d)) if d < 700 else 0.0, False)


class OpenAIAnswerer(Answerer):
    name = "openai"
    takes_image = True  # an image-to-video clip's image: an image_url part before the video's

    def __init__(self, model: str = DEFAULT_MODEL, *, base_url: str | None = None, api_key: str | None = None,
                 video_config: VideoConfig = VideoConfig(), concurrency: int = 8, video_as: str = "video",
                 timeout: float = 120.0, max_retries: int = 4, max_new_tokens: int = 128, top_logprobs: int = 20,
                 retry_backoff: float = 0.5, prime_prefix: bool = True, jpeg_quality: int = 90,
                 media_uuids: bool = True):
        self.model_id = str(model)
        self.base_url = (base_url or os.environ.get(ENV_BASE_URL, "")).strip().rstrip("/")
        if not self.base_url:
            raise ConfigError(f"the 'openai' answerer needs the server's URL: pass --base-url "
                              f"(e.g. http://localhost:8000/v1) or set {ENV_BASE_URL}")
        if video_as not in VIDEO_AS:
            raise ConfigError(f"video_as {video_as!r}: use one of {', '.join(VIDEO_AS)}")
        if int(concurrency) < 1 or int(top_logprobs) < 1 or int(max_retries) < 0 or float(timeout) <= 0:
            raise ConfigError("the 'openai' answerer needs concurrency >= 1, top_logprobs >= 1, max_retries >= 0 "
                              "and timeout > 0")
        self.video_config = video_config
        self.concurrency = int(concurrency)
        self.video_as = video_as
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.max_new_tokens = int(max_new_tokens)
        self.top_logprobs = int(top_logprobs)
        self.retry_backoff = float(retry_backoff)
        self.prime_prefix = bool(prime_prefix)
        self.jpeg_quality = int(jpeg_quality)
        self.media_once = MediaOnce(enabled=bool(media_uuids))  # this server's answer to uuid-only media parts
        key = api_key or os.environ.get(ENV_API_KEY, "").strip() or "EMPTY"  # vLLM's "no key" convention
        # The openai SDK rather than bare httpx: it is already a dependency, pools connections across threads and
        # maps each HTTP status to a typed error. Its own retries are off (max_retries=0) so that the policy below
        # (429, 5xx, timeouts and dropped connections only) is the one tested; replies are read as plain JSON
        # (with_raw_response) so engine extensions (stop_reason, matched_stop) and long top-k lists need no models.
        import openai

        self._openai = openai
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="fingereval-openai")
        self._in_flight = threading.BoundedSemaphore(self.concurrency)  # the bound, priming requests included
        self._media_lock = threading.Lock()
        self._check_server()

    # ---- public API -------------------------------------------------------------------------

    def answer(self, clip: VideoClip, questions: Sequence[Question], reason: bool = False) -> list[RawAnswer]:
        if not questions:
            return []
        media = self._media(clip)
        users = [self._user_message(media, user_text(q.text)) for q in questions]
        if not reason:
            readings = self._read_slots(users, [""] * len(users))
            return [RawAnswer(q.id, r.p_yes, answer_unreadable=r.unreadable) for q, r in zip(questions, readings)]
        generated = self._map([lambda u=u: self._generate(u, None, SLOT_HEAD) for u in users])
        readings = self._read_slots(users, [text for text, _ in generated])
        out = []
        for q, (text, forced), r in zip(questions, generated, readings):
            output = text if forced else text + ANSWER_OPEN  # what the in-process backend reports
            out.append(RawAnswer(q.id, r.p_yes, reason=parse_output(output).reason or output.strip(), forced=forced,
                                 output=output, answer_unreadable=r.unreadable))
        return out

    def explain(self, clip: VideoClip, questions: Sequence[Question], answers: Sequence[str]) -> list[str]:
        media = self._media(clip)
        users = [self._user_message(media, user_text(q.text) + f"\nThe correct answer is {a.capitalize()}. "
                                    "Explain why in one sentence.") for q, a in zip(questions, answers)]
        done = self._map([lambda u=u: self._generate(u, "<think>", "</think>") for u in users])
        return [text.strip() for text, _ in done]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    # ---- requests ---------------------------------------------------------------------------

    def _read_slots(self, users: list[tuple[Media, str]], texts: list[str]) -> list[SlotReading]:
        """Two one-token requests per question: the distributions after `text`+"<answer" and `text`+"<answer>"."""
        calls: list[Callable[[], list[tuple[str, float]]]] = []
        for u, text in zip(users, texts):
            calls += [lambda u=u, a=text + SLOT_HEAD: self._top_tokens(u, a),
                      lambda u=u, a=text + ANSWER_OPEN: self._top_tokens(u, a)]
        lists = self._map(calls)
        return [slot_p_yes(lists[2 * i], lists[2 * i + 1]) for i in range(len(users))]

    def _map(self, calls: list[Callable]) -> list:
        """Run `calls` on the bounded pool, in order; the first alone when priming the server's prefix cache."""
        first = []
        if self.prime_prefix and len(calls) > 1:
            first, calls = [calls[0]()], calls[1:]
        futures = [self._pool.submit(c) for c in calls]
        try:
            return first + [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def _top_tokens(self, user: tuple[Media, str], assistant: str) -> list[tuple[str, float]]:
        reply = self._chat(user, [{"role": "assistant", "content": assistant}], max_tokens=1,
                           temperature=0.0, logprobs=True, top_logprobs=self.top_logprobs, extra_body=CONTINUE)
        choice = (reply.get("choices") or [{}])[0]
        content = (choice.get("logprobs") or {}).get("content") or []
        if not content or content[0].get("top_logprobs") is None:
            raise ModelOutputError(f"the answer server {self.base_url} sent no logprobs: fingereval reads p_yes off "
                                   "the next-token log-probabilities; use a server that returns logprobs and "
                                   f"top_logprobs (vLLM, SGLang; vLLM: --max-logprobs {self.top_logprobs} or more)")
        first = content[0]
        tokens = [(str(e["token"]), float(e["logprob"])) for e in first["top_logprobs"]]
        if "token" in first and all(t != first["token"] for t, _ in tokens):  # the chosen token, when not listed
            tokens.append((str(first["token"]), float(first["logprob"])))
        return tokens

    def _generate(self, user: tuple[Media, str], start: str | None, stop: str) -> tuple[str, bool]:
        """Greedy text up to (without) `stop`, continuing the assistant text `start`; and whether it never wrote it."""
        after = [{"role": "assistant", "content": start}] if start else []
        reply = self._chat(user, after, max_tokens=self.max_new_tokens, temperature=0.0, stop=[stop],
                           **({"extra_body": CONTINUE} if start else {}))
        choice = (reply.get("choices") or [{}])[0]
        text = (choice.get("message") or {}).get("content") or ""
        matched = choice.get("stop_reason", choice.get("matched_stop"))  # vLLM / SGLang: the stop string hit
        if stop in text:  # a server that keeps the stop string in the output
            return text[: text.index(stop)], False
        wrote_stop = choice.get("finish_reason") == "stop" and (matched is None or matched == stop)
        return text, not wrote_stop

    def _chat(self, user: tuple[Media, str], after: list[dict], **body) -> dict:
        """One chat request: the user turn (its media carried as `media_once` says), then `after`."""
        media, text = user
        ticket = self.media_once.ticket(media)
        while True:
            messages = [{"role": "user", "content": [*media.parts(ticket.how), {"type": "text", "text": text}]},
                        *after]

            def attempt(messages=messages):
                with self._in_flight:  # held per attempt, not during a backoff
                    return self._client.chat.completions.with_raw_response.create(model=self.model_id,
                                                                                  messages=messages, **body)
            try:
                raw = self._retrying(attempt, "a chat request")
            except ServerRefused as e:
                ticket = self.media_once.refused(ticket, e.detail)  # a uuid refused or evicted: send the media
                if ticket is None:
                    raise
                continue
            except BaseException:
                self.media_once.abandoned(ticket)
                raise
            self.media_once.succeeded(ticket)
            break
        try:
            return json.loads(raw.content)
        except ValueError:
            raise ModelOutputError(f"the answer server {self.base_url} sent a reply that is not JSON: "
                                   f"{raw.text[:120]!r}") from None

    def _retrying(self, call: Callable, what: str, *, retry_connection: bool = True):
        """`call()`, retried with exponential backoff on 408, 429, 5xx, timeouts and dropped connections."""
        openai = self._openai
        why = ""
        for attempt in range(self.max_retries + 1):
            wait = self.retry_backoff * (2 ** attempt) * random.uniform(0.75, 1.25)
            try:
                return call()
            except openai.APITimeoutError:
                why = f"did not answer within {self.timeout:g} s"
            except openai.APIConnectionError as e:
                if not retry_connection:
                    raise ConfigError(f"cannot reach the answer server {self.base_url}: is it running? "
                                      f"({_cause(e)})") from None
                why = f"dropped the connection ({_cause(e)})"
            except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
                raise ConfigError(f"the answer server {self.base_url} refused the API key (HTTP {e.status_code}): "
                                  f"pass --api-key or set {ENV_API_KEY}") from None
            except openai.APIStatusError as e:
                if e.status_code not in (408, 429) and e.status_code < 500:
                    raise ServerRefused(f"the answer server {self.base_url} refused {what} for model "
                                        f"{self.model_id!r} (HTTP {e.status_code}): {_message(e)}",
                                        e.status_code, _message(e)) from None
                why = f"answered HTTP {e.status_code}: {_message(e)}"
                after = e.response.headers.get("retry-after")
                if after and after.replace(".", "", 1).isdigit():
                    wait = max(wait, min(float(after), 60.0))
            if attempt < self.max_retries:
                time.sleep(min(wait, 60.0))
        raise ConfigError(f"the answer server {self.base_url} {why}, {self.max_retries + 1} tries for {what}: "
                          "check the server, or raise the timeout / max_retries answerer options")

    def _check_server(self) -> None:
        """GET /v1/models once, before any work: a wrong key, URL or model name fails here in one line."""
        try:
            page = self._retrying(lambda: self._client.models.list(), "the model list", retry_connection=False)
        except ModelOutputError as e:  # e.g. 404: no OpenAI API at that URL
            raise ConfigError(f"{e} (does the URL end in /v1?)") from None
        served = [m.id for m in page.data]
        if served and self.model_id not in served:
            raise ConfigError(f"the answer server {self.base_url} serves {', '.join(served)}, not {self.model_id!r}: "
                              "pass --model with one of those names")

    # ---- the user message -------------------------------------------------------------------

    def _user_message(self, media: Media, text: str) -> tuple[Media, str]:
        return media, text  # the message itself is built per request: how it carries the media can change

    def _media(self, clip: VideoClip) -> Media:
        """The video parts of a clip's user message, built once per clip so every request carries the same bytes."""
        how = (self.video_as, None if clip.image is None else clip.image.sha256)
        with self._media_lock:
            cached = getattr(clip, "_openai_media", None)
        if cached is not None and cached[0] == how:
            return cached[1]
        images = () if clip.image is None else (self._image_data_url(clip.image.pixels),)
        if self.video_as == "video":
            media = Media("video_url", (self._video_data_url(clip),), images)
        else:
            media = Media("image_url", tuple(self._frame_data_urls(clip)), images)
        media.key  # hashed here, once, rather than by the first requests together
        with self._media_lock:
            object.__setattr__(clip, "_openai_media", (how, media))  # VideoClip is frozen
        return media

    @staticmethod
    def _image_data_url(pixels) -> str:
        """The conditioning image as a PNG data URL (lossless: the server's model sees the pixels decoded here)."""
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    @staticmethod
    def _video_data_url(clip: VideoClip) -> str:
        path = Path(clip.path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the video file to send it ({e.strerror}); "
                              "or use video_as='frames'") from None
        kind = mimetypes.guess_type(path.name)[0] or ""
        kind = kind if kind.startswith("video/") else "video/mp4"
        return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"

    def _frame_data_urls(self, clip: VideoClip) -> list[str]:
        from PIL import Image

        urls = []
        for frame in clip.frames:
            buf = io.BytesIO()
            Image.fromarray(frame).save(buf, format="JPEG", quality=self.jpeg_quality)
            urls.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
        return urls


def _message(e) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        text = text or body.get("detail") or json.dumps(body)
    else:
        text = body or getattr(e, "message", "") or str(e)
    return " ".join(str(text).split())[:300]


def _cause(e: BaseException) -> str:
    while e.__cause__ is not None and e.__cause__ is not e:
        e = e.__cause__
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}"[:160] if text else type(e).__name__
