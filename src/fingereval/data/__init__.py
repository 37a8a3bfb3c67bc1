"""Dataset records and loaders (the FingER-Instruct layout)."""
from fingereval.data.instruct import (
    InstructRecord,
    group_by_video,
    load_instruct,
    split_by_video,
    write_instruct,
)

__all__ = ["InstructRecord", "group_by_video", "load_instruct", "split_by_video", "write_instruct"]
