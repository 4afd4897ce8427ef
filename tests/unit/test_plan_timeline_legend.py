"""The plan's SVG timeline has a legend: each wave's colour with its name."""

import xml.dom.minidom

from ansible_collections.azmigrate.hyperv.plugins.filter.plan_timeline_svg import render_timeline


def plan_of(wave_count):
    waves = [{"name": "wave-%02d" % number, "host_parts": [{"host": "HV01", "vms": ["vm%d" % number],
                                                            "start_s": 3600.0 * (number - 1), "finish_s": 3600.0 * number}]}
             for number in range(1, wave_count + 1)]
    return {"waves": waves, "makespan_s": 3600.0 * wave_count, "start": None}


def legend_entries(svg):
    document = xml.dom.minidom.parseString(svg)
    bars = {rect.getAttribute("fill") for rect in document.getElementsByTagName("rect") if rect.getElementsByTagName("title")}
    swatches = [(circle.getAttribute("fill"), circle.getAttribute("cy")) for circle in document.getElementsByTagName("circle")]
    texts = [node.firstChild.data for node in document.getElementsByTagName("text") if node.firstChild]
    return bars, swatches, texts, int(document.documentElement.getAttribute("height"))


def test_each_wave_has_a_swatch_of_its_bars_colour_and_its_name():
    bars, swatches, texts, _height = legend_entries(render_timeline(plan_of(3)))
    assert len(swatches) == 3
    assert {fill for fill, _y in swatches} == bars
    assert "Waves" in texts and {"wave-01", "wave-02", "wave-03"} <= set(texts)


def test_a_long_legend_wraps_and_the_image_grows_to_hold_it():
    _bars, swatches, _texts, height_3 = legend_entries(render_timeline(plan_of(3)))
    _bars, swatches_12, _texts, height_12 = legend_entries(render_timeline(plan_of(12)))
    assert len(swatches_12) == 12
    assert len({y for _fill, y in swatches_12}) == 2
    assert height_12 > height_3
