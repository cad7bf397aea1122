"""HTML of a report or comparison :class:`~simulator.analysis.report.Document`, from a jinja2 template.

The template (:data:`TEMPLATE`) lays out the title, banner, notes, a table of contents and the
sections; every text is escaped by jinja2's autoescaping. Tables are prepared here:

- a column named ``"<group> | <name>"`` is shown under a spanning ``<group>`` header (the headline
  table's metric over its policies);
- long column names may break after ``_`` and ``-``;
- a table wider than the page is *wrapped*: its value columns are split into several stacked
  tables, each repeating the leading label columns, so nothing is cut at the right edge.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

__all__ = ["TEMPLATE", "render", "cell_text", "column_parts"]

#: px of table width the page holds (max-width 1180 px minus padding).
PAGE_WIDTH_PX = 1060
_CHAR_PX = 7.6  # px per character at the tables' 12.5 px font (digits and lower case, with margin)
_CELL_PAD_PX = 18
_TEXT_WRAP_CHARS = 40  # text cells wrap beyond this width (CSS max-width below)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:1em 2em;
color:#222;line-height:1.45}
h1{margin-bottom:.1em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.subtitle{color:#555;margin-top:0}
#banner{background:#fff3cd;border:1px solid #e0b84c;padding:.7em 1em;border-radius:4px;font-weight:600}
.note{background:#eef4fb;border:1px solid #9ec1e6;padding:.6em 1em;border-radius:4px}
nav ul{columns:3;list-style:none;padding-left:0}
table{border-collapse:collapse;font-size:12.5px;margin:.3em 0 .6em}
th,td{border:1px solid #ddd;padding:2px 7px;text-align:right;white-space:nowrap}
th{background:#f3f3f3;white-space:normal;vertical-align:bottom}td.text,th.text{text-align:left}
td.long{white-space:normal;min-width:18em;max-width:26em}
th.group{text-align:center;background:#e8eef5}
tr:nth-child(even) td{background:#fafafa}
table.headline{font-size:13.5px}table.headline td{padding:3px 9px}
table.headline td.ratio{font-weight:600;background:#f4f8ee}
.scroll{max-height:36em;overflow:auto;max-width:100%}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{color:#555;font-size:13px}
.files{font-size:13px;margin-top:0}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ doc.title }}</title><style>{{ css }}</style></head><body>
<h1>{{ doc.title }}</h1>
<p class="subtitle">{{ doc.subtitle }}</p>
{% if doc.banner %}<p id="banner" role="alert">{{ doc.banner }}</p>{% endif %}
{% for note_id, note in doc.notes %}<p class="note" id="{{ note_id }}">{{ note }}</p>
{% endfor %}
<nav><ul>{% for s in doc.sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}</ul></nav>
{% for s in sections %}
<section id="{{ s.id }}"><h2>{{ s.title }}</h2>
{% if s.intro %}<p>{{ s.intro }}</p>{% endif %}
{% for t in s.tables %}
<h3>{{ t.title }}</h3>
{% if t.caption %}<p class="caption">{{ t.caption }}</p>{% endif %}
{% for part in t.parts %}
<div class="scroll"><table{% if loop.first %} id="table-{{ t.name }}"{% endif %} class="{{ t.css }}">
<thead>{% if part.groups %}<tr>{% for label, span, css in part.groups %}<th colspan="{{ span }}" class="{{ css }}">{{ label }}</th>{% endfor %}</tr>{% endif %}
<tr>{% for label, css in part.head %}<th class="{{ css }}">{{ label }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in part.rows %}<tr>{% for text, css in row %}<td class="{{ css }}">{{ text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
{% endfor %}
<p class="files">CSV: <a href="{{ t.href }}">{{ t.href }}</a></p>
{% endfor %}
{% for f in s.figures %}
<figure id="fig-{{ f.name }}"><img alt="{{ f.title }}" src="data:image/png;base64,{{ f.data }}">
<figcaption>{{ f.title }}{% if f.caption %} — {{ f.caption }}{% endif %}</figcaption></figure>
{% endfor %}
{% if s.links %}<p class="files">{% for text, href in s.links %}<a href="{{ href }}">{{ text }}</a>{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
{% if s.hidden %}<p class="files">More data (CSV):
{% for name in s.hidden %}<a href="{{ csv_folder }}/{{ name }}.csv">{{ name }}.csv</a>{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
</section>
{% endfor %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def cell_text(value: object) -> tuple[str, bool]:
    """Text of one cell and whether it is text (left-aligned): 4 significant digits, n/a for NaN.

    >>> cell_text(0.123456), cell_text(float("nan")), cell_text("x")
    (('0.1235', False), ('n/a', False), ('x', True))
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "", True
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "n/a", False
        return (f"{value:.4g}" if abs(value) < 1e6 else f"{value:.4e}"), False
    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return str(value), False
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], True
    return str(value), True


def _breakable(name: str) -> Markup:
    """A column name that may wrap after each ``_`` and ``-``."""
    return Markup("_<wbr>").join(Markup("-<wbr>").join(escape(q) for q in p.split("-")) for p in name.split("_"))


def _width_px(header: str, cells: list[str], text: bool) -> float:
    longest_word = max((len(w) + 1 for w in header.replace("_", " ").replace("-", " ").split()), default=0)
    widest = max([longest_word, *(len(c) for c in cells)])
    return (min(widest, _TEXT_WRAP_CHARS) if text else widest) * _CHAR_PX + _CELL_PAD_PX


def column_parts(widths: list[float], n_keys: int, budget_px: float = PAGE_WIDTH_PX) -> list[list[int]]:
    """Column indices of each stacked part of a wrapped table: the first ``n_keys`` (label) columns
    in every part, then the value columns in as few parts as fit ``budget_px``, of balanced widths.

    >>> column_parts([100, 400, 400, 400], 1, 1000)
    [[0, 1, 2], [0, 3]]
    >>> column_parts([100, 200, 200, 200, 200, 200], 1, 1000)
    [[0, 1, 2, 3], [0, 4, 5]]
    """
    key_px = sum(widths[:n_keys])
    values = list(range(n_keys, len(widths)))

    def split(cap_px: float) -> list[list[int]]:
        parts: list[list[int]] = [[]]
        used = key_px
        for i in values:
            if parts[-1] and used + widths[i] > cap_px:
                parts.append([])
                used = key_px
            parts[-1].append(i)
            used += widths[i]
        return parts

    parts = split(budget_px)
    if len(parts) > 1:  # same number of parts, value columns spread evenly
        even = key_px + sum(widths[i] for i in values) / len(parts)
        for cap in np.linspace(even, budget_px, 12):
            if len(trial := split(cap)) == len(parts):
                parts = trial
                break
    return [list(range(n_keys)) + p for p in parts]


@dataclass(frozen=True)
class _Part:
    groups: list[tuple[str, int, str]]
    head: list[tuple[Markup, str]]
    rows: list[list[tuple[str, str]]]


def _cell_css(cell: tuple[str, bool], column: str) -> str:
    text, is_text = cell
    css = "text long" if is_text and len(text) > _TEXT_WRAP_CHARS else "text" if is_text else "num"
    return css + (" ratio" if column.endswith(" | ratio") else "")


def _prepare_table(table, csv_folder: str) -> dict:
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    texts = [[cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    is_text = [all(t[j][1] for t in texts) if texts else not pd.api.types.is_numeric_dtype(frame.iloc[:, j])
               for j in range(len(columns))]
    n_keys = 0
    while n_keys < len(columns) and is_text[n_keys] and " | " not in columns[n_keys]:
        n_keys += 1
    n_keys = min(n_keys, max(len(columns) - 1, 0))
    widths = [_width_px(c.split(" | ")[-1], [t[j][0] for t in texts], is_text[j]) for j, c in enumerate(columns)]
    # a group of columns ("<group> | <name>") is never split between two parts
    units = [list(range(n_keys))] if n_keys else []
    for j in range(n_keys, len(columns)):
        group = columns[j].split(" | ")[0] if " | " in columns[j] else None
        if group is not None and len(units) > (1 if n_keys else 0) and units[-1][-1] >= n_keys \
                and columns[units[-1][-1]].split(" | ")[0] == group:
            units[-1].append(j)
        else:
            units.append([j])
    unit_widths = [sum(widths[j] for j in u) for u in units]
    layout = column_parts(unit_widths, 1 if n_keys else 0) if columns else [[]]
    parts = []
    for cols in ([j for u in part for j in units[u]] for part in layout) if columns else [[]]:
        grouped = any(" | " in columns[j] for j in cols)
        groups: list[tuple[str, int, str]] = []
        for j in cols:
            label = columns[j].split(" | ")[0] if " | " in columns[j] else ""
            if groups and groups[-1][0] == label and label:
                groups[-1] = (label, groups[-1][1] + 1, "group")
            else:
                groups.append((label, 1, "group" if label else ""))
        head = [(_breakable(columns[j].split(" | ")[-1]), "text" if is_text[j] else "num") for j in cols]
        rows = [[(t[j][0], _cell_css(t[j], columns[j])) for j in cols] for t in texts]
        parts.append(_Part(groups if grouped else [], head, rows))
    css = "headline" if table.name == "headline" else ""
    return {"name": table.name, "title": table.title, "caption": table.caption, "parts": parts, "css": css,
            "href": f"{csv_folder}/{table.name}.csv"}


def render(doc, csv_folder: str) -> str:
    """The HTML text of ``doc``; CSV links point to ``csv_folder/<name>.csv`` (relative)."""
    sections = [{
        "id": s.id, "title": s.title, "intro": s.intro,
        "tables": [_prepare_table(t, csv_folder) for t in s.tables if t.shown],
        "figures": [{"name": f.name, "title": f.title, "caption": f.caption,
                     "data": base64.b64encode(f.png).decode("ascii")} for f in s.figures],
        "hidden": [t.name for t in s.tables if not t.shown],
        "links": list(getattr(s, "links", ())),
    } for s in doc.sections]
    return _ENV.from_string(TEMPLATE).render(doc=doc, sections=sections, css=Markup(_CSS), csv_folder=csv_folder)
