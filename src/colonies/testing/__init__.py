"""Helpers for tests, benchmarks and local drills (throwaway services)."""
