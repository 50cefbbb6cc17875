"""Checks the pictures onnxtrain draws, as pictures: the SVG parses (xml.etree), it holds the
expected curves or graph nodes, and Chromium's screenshot of it (taken by the test) is not blank.
  check_pictures.py curves SVG SCREENSHOT.png LOG.csv...   (plot: one polyline per series,
      through every epoch's point: x follows the epochs and y the log's values, affinely)
  check_pictures.py graph SVG SCREENSHOT.png INFO.json MODEL.onnx  (info --graph: one node per
      layer of `info --json` and of the ONNX file, frozen layers styled frozen, the rest not)
  check_pictures.py head SVG INFO.json CUT_NODE_ID         (head_* layers styled apart, only
      the cut point double-bordered)
  check_pictures.py screenshot SCREENSHOT.png              (not blank)"""
import csv
import json
import math
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

SVG = "{http://www.w3.org/2000/svg}"
SERIES = ["train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr"]


def fail(message):
    sys.exit(f"check_pictures: {message}")


def not_blank(png):
    """At least 1% of the pixels are not the background, and several colours are there."""
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    background = np.all(pixels >= 250, axis=1)
    colours = len(np.unique(pixels[~background], axis=0))
    share = 1 - background.mean()
    if share < 0.01 or colours < 3:
        fail(f"{png}: the screenshot looks blank ({share:.2%} drawn, {colours} colours)")
    return share


def polylines(svg, width="2"):
    """The paths stroked `width` wide made only of straight segments (M x y L x y ...): the
    curves and the legend's samples (grid lines and frames are 1 wide)."""
    found = []
    for path in ET.parse(svg).getroot().iter(f"{SVG}path"):
        style, d = path.get("style", ""), path.get("d", "")
        if f"stroke-width:{width};" not in style or not re.fullmatch(r"M [-\d. ]+(L [-\d. ]+)*", d.strip()):
            continue
        numbers = [float(v) for v in re.findall(r"-?[\d.]+", d)]
        found.append(np.array(numbers).reshape(-1, 2))
    return found


def follows(line, epochs, values, span):
    """Whether polyline `line` is the series (epochs, values) drawn with x affine in the epoch
    and y affine (decreasing) in the value. Cairo merges collinear points, so a curve keeps
    only its bends: its ends fix x's map, its bends y's map, and then the curve must pass
    within 0.05 points of every epoch's point."""
    if len(line) < 2 or not np.all(np.diff(line[:, 0]) > 0):
        return False
    scale = (line[-1, 0] - line[0, 0]) / (epochs[-1] - epochs[0])
    at = np.rint((line[:, 0] - line[0, 0]) / scale).astype(int)  # the epoch index of each vertex
    if np.abs(at * scale + line[0, 0] - line[:, 0]).max() > 0.05 or at[-1] != len(epochs) - 1:
        return False
    xs = line[0, 0] + scale * (epochs - epochs[0])
    if np.ptp(values) == 0:  # a flat line as wide as the log's other curves
        return np.ptp(line[:, 1]) < 0.05 and span is not None and np.abs(line[[0, -1], 0] - span).max() < 0.05
    if np.ptp(values[at]) == 0:
        return False
    a, b = np.polyfit(values[at], line[:, 1], 1)
    return a * np.ptp(values) < -1 and np.abs(np.interp(xs, line[:, 0], line[:, 1]) - (a * values + b)).max() < 0.05


def check_curves(svg, logs):
    lines = [p for p in polylines(svg) if len(p) >= 2 and np.all(np.diff(p[:, 0]) > 0)]
    expected = 0
    for log in logs:
        rows = list(csv.DictReader(open(log)))
        epochs = np.array([float(r["epoch"]) for r in rows])
        span = None  # the x range of the log's curves, once one is found
        columns = {c: np.array([float(r[c]) for r in rows]) for c in SERIES}
        for column in sorted(SERIES, key=lambda c: np.ptp(columns[c]) == 0):  # flat ones last
            values = columns[column]
            if not np.all(np.isfinite(values)):
                continue
            expected += 1
            scales = [values, np.log10(values)] if column == "lr" and np.all(values > 0) else [values]
            match = [p for p in lines if any(follows(p, epochs, v, span) for v in scales)]
            if not match:
                fail(f"{svg}: no curve through the {len(rows)} epochs of {column} of {log}")
            span = match[0][[0, -1], 0]
            lines = [p for p in lines if p is not match[0]]
    stray = [p for p in lines if len(p) > 2]
    if stray:
        fail(f"{svg}: {len(stray)} curves more than the logs' {expected} series")
    return expected


def node_styles(svg):
    """{node id: (fill, border polygons)} of Graphviz's SVG nodes (<g id=... class="node">)."""
    nodes = {}
    for g in ET.parse(svg).getroot().iter(f"{SVG}g"):
        if g.get("class") == "node":
            shapes = g.findall(f"{SVG}polygon")
            nodes[g.get("id")] = (shapes[0].get("fill", "") if shapes else "", len(shapes))
    return nodes


def check_graph(svg, info_json, onnx_file):
    """One node per layer (ids layer0..layerN-1; N from `info --json` and from the onnx
    package's count of the file's nodes), frozen ones sharing one fill no other node has."""
    import onnx
    info = json.load(open(info_json))
    nodes = node_styles(svg)
    layers = {f"layer{l['index']}": l for l in info["layers"]}
    in_file = len(onnx.load(onnx_file, load_external_data=False).graph.node)
    drawn = {k: v for k, v in nodes.items() if k.startswith("layer")}
    if set(drawn) != set(layers) or len(layers) != in_file:
        fail(f"{svg}: {len(drawn)} layer nodes, info lists {len(layers)} layers, the ONNX file has {in_file} nodes")
    frozen_fill = {drawn[k][0] for k, l in layers.items() if l["frozen"]}
    other_fill = {drawn[k][0] for k, l in layers.items() if not l["frozen"]}
    if len(frozen_fill) != 1 or frozen_fill & other_fill:
        fail(f"{svg}: frozen layers filled {frozen_fill}, the others {other_fill}: frozen ones need a fill of their own")
    return len(drawn), sum(l["frozen"] for l in layers.values())


def check_head(svg, info_json):
    """head_* layers share a fill no other layer has; exactly one layer (the cut point, which
    feeds the first head layer) has a double border."""
    info = json.load(open(info_json))
    nodes = node_styles(svg)
    head = {nodes[f"layer{l['index']}"][0] for l in info["layers"] if l["name"].startswith("head_")}
    rest = {nodes[f"layer{l['index']}"][0] for l in info["layers"] if not l["name"].startswith("head_")}
    double = [k for k, v in nodes.items() if v[1] == 2]
    if len(head) != 1 or head & rest:
        fail(f"{svg}: head layers filled {head}, the others {rest}")
    return double


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "curves":
        n = check_curves(sys.argv[2], sys.argv[4:])
        print(f"{n} curves match the logs; screenshot {not_blank(sys.argv[3]):.1%} drawn")
    elif len(sys.argv) == 6 and sys.argv[1] == "graph":
        n, frozen = check_graph(sys.argv[2], sys.argv[4], sys.argv[5])
        print(f"{n} nodes, one per layer, {frozen} frozen styled frozen; screenshot {not_blank(sys.argv[3]):.1%} drawn")
    elif len(sys.argv) == 5 and sys.argv[1] == "head":
        double = check_head(sys.argv[2], sys.argv[3])
        if double != [sys.argv[4]]:
            fail(f"{sys.argv[2]}: double borders on {double}, expected only the cut point {sys.argv[4]}")
        print(f"head styled apart, cut point {sys.argv[4]} double-bordered")
    elif len(sys.argv) == 3 and sys.argv[1] == "screenshot":
        print(f"screenshot {not_blank(sys.argv[2]):.1%} drawn")
    else:
        sys.exit(__doc__)
