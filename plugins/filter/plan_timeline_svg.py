# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter plan_timeline_svg: an SVG timeline of a replication_plan result (pure Python, no libraries)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
---
name: plan_timeline_svg
short_description: Draw the waves of a replication plan as an SVG timeline
version_added: 0.1.0
description:
  - Turns the result of M(azmigrate.hyperv.replication_plan) into an SVG image - one row per host (one row per
    wave when the plan has more than O(max_rows) hosts), a bar per wave from its start to its finish, a time
    axis in hours from the plan start, and a legend of the waves' colours.
  - Pure Python; write the result with M(ansible.builtin.copy) and open it in a browser or embed it in a report.
author:
  - azmigrate.hyperv developers (@azmigrate)
positional: max_rows
options:
  _input:
    description: The registered result of M(azmigrate.hyperv.replication_plan).
    type: dict
    required: true
  max_rows:
    description: Most host rows; larger plans are drawn one row per wave.
    type: int
    default: 40
"""

EXAMPLES = r"""
- name: Write the timeline chart
  ansible.builtin.copy:
    content: "{{ plan | azmigrate.hyperv.plan_timeline_svg }}"
    dest: plan-output/plan-timeline.svg
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The SVG document.
  type: str
"""

_PALETTE = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf')
_ROW_HEIGHT = 22
_LABEL_WIDTH = 150
_CHART_WIDTH = 900
_TOP = 40
_AXIS_STEPS_H = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)


def _tick_step_hours(span_s):
    """The smallest of the usual hour steps that gives at most 12 ticks."""
    hours = span_s / 3600.0
    for step in _AXIS_STEPS_H:
        if hours / step <= 12:
            return step
    return _AXIS_STEPS_H[-1] * max(1, int(hours / 12 / _AXIS_STEPS_H[-1]) + 1)


def _rows(plan, max_rows):
    """[(label, [(start_s, finish_s, wave_index, title)])] by host, or by wave for large plans."""
    waves = plan.get('waves') or []
    hosts = sorted({part['host'] for wave in waves for part in wave['host_parts']})
    if len(hosts) <= max_rows:
        bars = {host: [] for host in hosts}
        for index, wave in enumerate(waves):
            for part in wave['host_parts']:
                title = '%s on %s: %s' % (wave['name'], part['host'], ', '.join(part['vms']))
                bars[part['host']].append((part['start_s'], part['finish_s'], index, title))
        return [(host, bars[host]) for host in hosts]
    return [(wave['name'], [(part['start_s'], part['finish_s'], index, '%s on %s' % (wave['name'], part['host']))
                            for part in wave['host_parts']])
            for index, wave in enumerate(waves)]


def render_timeline(plan, max_rows=40):
    """The SVG text for a plan (the replication_plan result or the planner's dict)."""
    if not isinstance(plan, dict) or 'waves' not in plan:
        raise AnsibleFilterError('plan_timeline_svg: the input must be the result of azmigrate.hyperv.replication_plan')
    rows = _rows(plan, max_rows)
    span = max([plan.get('makespan_s') or 0.0] + [finish for _label, bars in rows for _start, finish, _i, _t in bars]) or 1.0
    scale = _CHART_WIDTH / span
    legend = _legend(plan.get('waves') or [], _TOP + _ROW_HEIGHT * max(1, len(rows)) + 32)
    height = _TOP + _ROW_HEIGHT * max(1, len(rows)) + 40 + _LEGEND_ROW_HEIGHT * _legend_rows(plan.get('waves') or [])
    width = _LABEL_WIDTH + _CHART_WIDTH + 20
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">'
             % (width, height, width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="20" font-size="14" font-weight="bold">Initial replication timeline%s</text>'
             % (_LABEL_WIDTH, escape(' from ' + plan['start']) if plan.get('start') else ' (hours from the start)')]
    parts.extend(_axis(span, scale, len(rows)))
    for row, (label, bars) in enumerate(rows):
        y = _TOP + row * _ROW_HEIGHT
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (_LABEL_WIDTH - 6, y + 15, escape(str(label))))
        for start, finish, index, title in bars:
            bar_width = max(1.0, (finish - start) * scale)
            parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="0.75" stroke="white"><title>%s</title></rect>'
                         % (_LABEL_WIDTH + start * scale, y + 3, bar_width, _ROW_HEIGHT - 6, _PALETTE[index % len(_PALETTE)],
                            escape(title)))
    parts.extend(legend)
    parts.append('</svg>')
    return '\n'.join(parts) + '\n'


_LEGEND_PER_ROW = 8
_LEGEND_ROW_HEIGHT = 18


def _legend_rows(waves):
    return (len(waves) + _LEGEND_PER_ROW - 1) // _LEGEND_PER_ROW


def _legend(waves, top):
    """A swatch of each wave's colour with its name, under the axis (the bars' colour says which wave they are)."""
    lines = []
    entry_width = _CHART_WIDTH // _LEGEND_PER_ROW
    for index, wave in enumerate(waves):
        x = _LABEL_WIDTH + (index % _LEGEND_PER_ROW) * entry_width
        y = top + (index // _LEGEND_PER_ROW) * _LEGEND_ROW_HEIGHT
        lines.append('<circle cx="%d" cy="%d" r="6" fill="%s" fill-opacity="0.75"/>'
                     % (x + 6, y + 6, _PALETTE[index % len(_PALETTE)]))
        lines.append('<text x="%d" y="%d">%s</text>' % (x + 16, y + 10, escape(str(wave.get('name', index + 1)))))
    if lines:
        lines.insert(0, '<text x="%d" y="%d" text-anchor="end">Waves</text>' % (_LABEL_WIDTH - 6, top + 10))
    return lines


def _axis(span, scale, row_count):
    bottom = _TOP + _ROW_HEIGHT * max(1, row_count)
    step = _tick_step_hours(span) * 3600
    lines = ['<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (_LABEL_WIDTH, bottom, _LABEL_WIDTH + _CHART_WIDTH, bottom)]
    tick = 0
    while tick <= span + 1e-6:
        x = _LABEL_WIDTH + tick * scale
        lines.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, _TOP, x, bottom))
        lines.append('<text x="%.1f" y="%d" text-anchor="middle">%dh</text>' % (x, bottom + 15, round(tick / 3600)))
        tick += step
    return lines


class FilterModule:
    """azmigrate.hyperv's replication plan filters."""

    def filters(self):
        return {'plan_timeline_svg': render_timeline}
