"""Scaling laws on any loss data, and the analysis of a grid: fits, comparisons, recommendations, report.

    from curriscale.fit import fit_law, fit_grid, write_report
    fit = fit_law("power", {"n": sizes, "loss": losses}, bootstrap=200)
    fit_grid("runs", "fits"); write_report("runs", "report", fits="fits")

Modules: `laws` (the formulas), `fitting` (Huber + multi-start L-BFGS-B), `bootstrap`, `api`
(`fit_law`), `result` (`FitResult`, fit.json), `runs` (loading a grid), `grid_fit`, `compare`,
`critical`, `recommend` (with `extrapolate`, `progression`, `manifests`), and the `report` package
(the page with its verdict, figures and tables).
"""

from curriscale.lazy import lazy_exports

_EXPORTS = {
    "fit_law": "curriscale.fit.api",
    "FitResult": "curriscale.fit.result",
    "fit_grid": "curriscale.fit.grid_fit",
    "recommend_curriculum": "curriscale.fit.recommend",
    "write_report": "curriscale.fit.report",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
