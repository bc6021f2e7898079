"""Test helpers shared across test folders (loopback servers, kernel-like processes)."""
