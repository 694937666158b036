"""Developmental analyses over an ordered checkpoint series (pure PyTorch)."""

from __future__ import annotations

from analysis_workers.devo.essential_dynamics import EssentialDynamics, essential_dynamics, turning_points

__all__ = ["EssentialDynamics", "essential_dynamics", "turning_points"]
