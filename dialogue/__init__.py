"""Dialogue: the talking tree, its persistence, LLM backends and speech recognition."""
