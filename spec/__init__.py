"""Executable acceptance tests of exercise 3 and the foundation layers it builds on."""
