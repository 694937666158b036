"""Helpers the tests share: builders of real objects and real processes, never stubs.

Test modules import from here, never from one another."""
