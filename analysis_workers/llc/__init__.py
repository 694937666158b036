"""The LLC engine (pure PyTorch): localised SGLD over vectorised chains, its diagnostics,
calibration, restricted LLCs and LLC trajectories over checkpoints."""

from analysis_workers.llc.calibration import CalibrationResult, calibrate
from analysis_workers.llc.restriction import component_masks, head_mask, parse_component
from analysis_workers.llc.sampler import LLCDivergenceError, LLCEstimate, LLCWarning, estimate_llc
from analysis_workers.llc.trajectory import CheckpointLLC, llc_over_checkpoints

__all__ = [
    "CalibrationResult",
    "CheckpointLLC",
    "LLCDivergenceError",
    "LLCEstimate",
    "LLCWarning",
    "calibrate",
    "component_masks",
    "estimate_llc",
    "head_mask",
    "llc_over_checkpoints",
    "parse_component",
]
