"""The report's blessing section: the verdict and a table of every check in `blessing.json`.

`blessing.json` (`tfx_heads.components.evaluator.validations.blessing_document`) holds the
verdict, the thresholds and `checks`: one entry per threshold, slice and condition (`value`
for a threshold's `lower_bound` and `upper_bound`, `max_decrease`, `max_increase`) with its
outcome (`pass`, `fail`, `skipped`), the candidate's value and, for a change condition, the
baseline's. The table has one row per check: metric, slice, bound (`value ≥ 0.6`, `value ≤ 0.9`,
`change ≥ -0.05` for `max_decrease`, `change ≤ 0.01` for `max_increase`), value, baseline,
change (value - baseline), outcome and reason. A `blessing.json` written before checks were
recorded, or one without thresholds, is shown as before: the thresholds as written, the failed
conditions and the skipped ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tfx_heads.components.report.sections import delta_span, esc, format_number

_OUTCOME_BADGES = {"pass": "blessed", "fail": "not-blessed", "skipped": "unknown"}
"""The badge class (`assets.STYLE`) of each outcome: green, red, grey."""
CHECK_COLUMNS = (
    "metric",
    "slice",
    "bound",
    "value",
    "baseline",
    "change",
    "outcome",
    "reason",
)
_TEXT_COLUMNS = ("metric", "slice", "bound", "outcome", "reason")


def blessing_section(blessing: Mapping[str, Any] | None) -> str:
    """The verdict and its checks (`blessing.json`); a note without one.

    Args:
        blessing: the `blessing.json` document, or None where the evaluation has none.
    """
    if blessing is None:
        return (
            '<section id="blessing"><h2>Blessing</h2><p><span class="badge unknown">no verdict'
            '</span> <span class="note">No blessing.json: the blessing was not decided by this '
            "evaluation (the TFX component writes it).</span></p></section>"
        )
    blessed = bool(blessing.get("blessed"))
    badge = (
        '<span class="badge blessed" data-blessed="true">BLESSED</span>'
        if blessed
        else '<span class="badge not-blessed" data-blessed="false">NOT BLESSED</span>'
    )
    parts = [
        f'<section id="blessing"><h2>Blessing</h2><p>{badge} '
        f"{int(blessing.get('checked', 0))} condition(s) checked, "
        f"{len(blessing.get('failures', []))} failed.</p>"
    ]
    checks = blessing.get("checks")
    if isinstance(checks, list) and checks:
        parts.append(checks_table(checks, blessing.get("thresholds")))
    else:
        parts.append(_recorded_conditions(blessing))
    parts.append("</section>")
    return "".join(parts)


def checks_table(
    checks: Sequence[Mapping[str, Any]], thresholds: Sequence[Mapping[str, Any]] | None
) -> str:
    """One row per check (`blessing.json`'s `checks`), its bound taken from `thresholds` (the
    document's thresholds; without them the bound is shown as not recorded)."""
    header = "".join(
        f"<th{' class=name' if name in _TEXT_COLUMNS else ''}>{name}</th>" for name in CHECK_COLUMNS
    )
    rows = []
    for check in checks:
        threshold = _threshold(check, thresholds)
        outcome = str(check.get("outcome", ""))
        value, baseline = check.get("value"), check.get("baseline")
        badge = _OUTCOME_BADGES.get(outcome, "unknown")
        cells = (
            f'<td class="name">{esc(check.get("metric", ""))}</td>'
            f'<td class="name">{esc(check.get("slice", ""))}</td>'
            f'<td class="name">{_bound(check, threshold)}</td>'
            f"<td>{format_number(value) if value is not None else ''}</td>"
            f"<td>{format_number(baseline) if baseline is not None else ''}</td>"
            f"<td>{delta_span(value, baseline)}</td>"
            f'<td class="name"><span class="badge {badge}">{esc(outcome)}</span></td>'
            f'<td class="name">{esc(check.get("reason", ""))}</td>'
        )
        rows.append(
            f'<tr data-outcome="{esc(outcome)}" data-condition="{esc(check.get("condition", ""))}"'
            f">{cells}</tr>"
        )
    return (
        f"<h3>Checks ({len(rows)})</h3><table class=checks><tr>{header}</tr>{''.join(rows)}</table>"
    )


def _threshold(
    check: Mapping[str, Any], thresholds: Sequence[Mapping[str, Any]] | None
) -> Mapping[str, Any] | None:
    """The threshold a check comes from, or None where the document does not record it."""
    index = check.get("threshold")
    if not isinstance(thresholds, list) or not isinstance(index, int):
        return None
    return thresholds[index] if 0 <= index < len(thresholds) else None


def _bound(check: Mapping[str, Any], threshold: Mapping[str, Any] | None) -> str:
    """The bound the check tested, e.g. `value ≥ 0.6` or `change ≥ -0.05` (max_decrease),
    without line breaks inside a bound."""
    condition = check.get("condition")
    if threshold is None:
        return f'{esc(condition or "")} <span class="note">(bound not recorded)</span>'
    if condition == "value":
        lower, upper = threshold.get("lower_bound"), threshold.get("upper_bound")
        bounds = [f"\u2265\u00a0{format_number(lower)}"] if lower is not None else []
        bounds += [f"\u2264\u00a0{format_number(upper)}"] if upper is not None else []
        return f"value\u00a0{', '.join(bounds)}"
    if condition == "max_decrease" and threshold.get("max_decrease") is not None:
        return f"change\u00a0\u2265\u00a0{format_number(0.0 - threshold['max_decrease'])}"
    if condition == "max_increase" and threshold.get("max_increase") is not None:
        return f"change\u00a0\u2264\u00a0{format_number(threshold['max_increase'])}"
    bound = threshold.get(condition) if condition else None
    if condition == "max_relative_decrease" and bound is not None:
        return f"relative\u00a0change\u00a0\u2265\u00a0{format_number(0.0 - bound)}"
    if condition == "max_relative_increase" and bound is not None:
        return f"relative\u00a0change\u00a0\u2264\u00a0{format_number(bound)}"
    return ""


def _recorded_conditions(blessing: Mapping[str, Any]) -> str:
    """Without checks: the thresholds as written, the failed conditions and those skipped."""
    parts = []
    thresholds = blessing.get("thresholds")
    if thresholds:
        parts.append("<h3>Thresholds</h3><table><tr><th class=name>condition</th></tr>")
        parts.extend(
            f'<tr><td class="name">{esc(json.dumps(t, sort_keys=True))}</td></tr>'
            for t in thresholds
        )
        parts.append("</table>")
    failures = blessing.get("failures", [])
    if failures:
        parts.append(
            "<h3>Failed conditions</h3><table class=failures><tr><th class=name>metric</th>"
            "<th class=name>slice</th><th class=name>reason (the threshold that decided)</th></tr>"
        )
        parts.extend(
            f'<tr><td class="name">{esc(f["metric"])}</td><td class="name">{esc(f["slice"])}'
            f'</td><td class="name">{esc(f["reason"])}</td></tr>'
            for f in failures
        )
        parts.append("</table>")
    for skipped in blessing.get("skipped", []):
        parts.append(f'<p class="note">Skipped: {esc(skipped)}</p>')
    if "checks" not in blessing and not thresholds:
        parts.append(
            '<p class="note">blessing.json records the failed conditions (with the bound each '
            "broke) but not the conditions that held.</p>"
        )
    elif "checks" not in blessing:
        parts.append(
            '<p class="note">This blessing.json was written before the checks were recorded: '
            "the values checked and the conditions that held are not in it.</p>"
        )
    return "".join(parts)
