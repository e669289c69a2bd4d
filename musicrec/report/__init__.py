"""The report site (``make report``): executed notebooks as pages and an index of headline results.

See :func:`musicrec.report.site.build_site`; the headline table is declared in
``musicrec/report/headlines.yml`` and resolved by :mod:`musicrec.report.headlines`.
"""

from musicrec.report.headlines import resolve_headlines
from musicrec.report.site import build_site

__all__ = ["build_site", "resolve_headlines"]
