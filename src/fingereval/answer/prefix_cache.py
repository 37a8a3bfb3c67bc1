"""KV caches that branch many suffixes off one prefilled prefix.

`shared_view` hands the prefix to a single packed row (no copy). `preallocated` is for batched greedy
decoding: DynamicLayer grows by torch.cat, which copies every row's whole cache (the prefix included) at
every step: for 16 suffixes at 7B and 4.2k prefix tokens that is about 3.8 GB of copies. Here each row's
copy of the prefix is written once into a buffer sized for the whole generation, and every new token is
written in place, so memory is fixed up front and bounded by rows x (prefix + suffix + new tokens).
"""
from __future__ import annotations

import torch

from fingereval.answer.hf_compat import DynamicCache, DynamicLayer, cache_from_tensors, cache_layers, set_cache_layers


class PreallocatedLayer(DynamicLayer):
    """A DynamicLayer whose keys and values are views into one buffer filled in place."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, rows: int, capacity: int):
        super().__init__()
        shape = (rows, keys.shape[1], capacity, keys.shape[3])
        self._k, self._v = keys.new_empty(shape), values.new_empty(shape)
        self.length = keys.shape[2]
        self._k[:, :, :self.length] = keys  # broadcast: one copy of the prefix per row, once
        self._v[:, :, :self.length] = values
        self.device, self.is_initialized = keys.device, True
        self._expose()

    def _expose(self) -> None:
        self.keys, self.values = self._k[:, :, :self.length], self._v[:, :, :self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        t = key_states.shape[-2]
        if self.length + t > self._k.shape[2]:
            raise RuntimeError(f"prefix cache buffer of {self._k.shape[2]} tokens is full")
        self._k[:, :, self.length:self.length + t] = key_states
        self._v[:, :, self.length:self.length + t] = value_states
        self.length += t
        self._expose()
        return self.keys, self.values


def shared_view(prefix_cache, rows: int) -> DynamicCache:
    """The prefix expanded to `rows` as views (copied by the first update: use for one forward only)."""
    return cache_from_tensors([(layer.keys.expand(rows, -1, -1, -1), layer.values.expand(rows, -1, -1, -1))
                               for layer in cache_layers(prefix_cache)])


def preallocated(prefix_cache, rows: int, capacity: int) -> DynamicCache:
    """A cache of `rows` copies of the prefix with room for `capacity` tokens in all, filled in place."""
    cache = DynamicCache()
    set_cache_layers(cache, [PreallocatedLayer(layer.keys, layer.values, rows, capacity) for layer in cache_layers(prefix_cache)])
    return cache

