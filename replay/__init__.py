"""Replays: the recording format, folding a recording into frames, export."""
