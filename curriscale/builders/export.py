"""Kept for imports written before the exporters became a package: see `curriscale.builders.exports`."""

from curriscale.builders.exports import FORMATS, TOKEN_FORMATS, check_format, export_curriculum

__all__ = ["FORMATS", "TOKEN_FORMATS", "check_format", "export_curriculum"]
