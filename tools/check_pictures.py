"""Checks the pictures onnxtrain draws, as pictures: the SVG parses (xml.etree), it holds the
expected curves or graph nodes, and Chromium's screenshot of it (taken by the test) is not blank.
  check_pictures.py curves SVG SCREENSHOT.png LOG.csv...   (plot: one polyline per series,
      through every epoch's point: x follows the epochs and y the log's values, affinely)
  check_pictures.py graph SVG SCREENSHOT.png INFO.json     (info --graph: one node per layer of
      `info --json`, frozen layers styled frozen, the rest not)
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
    """{layer name: the node's <g> class and its shape's style} from Graphviz's SVG."""
    nodes = {}
    for g in ET.parse(svg).getroot().iter(f"{SVG}g"):
        if g.get("class") == "node":
            title = g.find(f"{SVG}title").text
            shape = g.find(f"{SVG}polygon")
            if shape is None:
                shape = g.find(f"{SVG}path")
            nodes[title] = (g.get("id", ""), shape.get("fill", "") if shape is not None else "",
                            shape.get("stroke-dasharray", "") if shape is not None else "")
    return nodes


def check_graph(svg, info_json):
    info = json.load(open(info_json))
    nodes = node_styles(svg)
    layers = {l["name"]: l for l in info["layers"]}
    if len(nodes) != len(layers) or set(nodes) != set(layers):
        missing, extra = set(layers) - set(nodes), set(nodes) - set(layers)
        fail(f"{svg}: {len(nodes)} nodes for {len(layers)} layers (missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]})")
    frozen_fill = {nodes[n][1] for n, l in layers.items() if l["frozen"]}
    trained_fill = {nodes[n][1] for n, l in layers.items() if not l["frozen"]}
    if frozen_fill & trained_fill or len(frozen_fill) > 1:
        fail(f"{svg}: frozen layers filled {frozen_fill}, the others {trained_fill}: frozen ones should share one fill of their own")
    return len(nodes), sum(l["frozen"] for l in layers.values())


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "curves":
        n = check_curves(sys.argv[2], sys.argv[4:])
        print(f"{n} curves match the logs; screenshot {not_blank(sys.argv[3]):.1%} drawn")
    elif len(sys.argv) == 5 and sys.argv[1] == "graph":
        n, frozen = check_graph(sys.argv[2], sys.argv[4])
        print(f"{n} nodes, one per layer, {frozen} frozen styled frozen; screenshot {not_blank(sys.argv[3]):.1%} drawn")
    elif len(sys.argv) == 3 and sys.argv[1] == "screenshot":
        print(f"screenshot {not_blank(sys.argv[2]):.1%} drawn")
    else:
        sys.exit(__doc__)
