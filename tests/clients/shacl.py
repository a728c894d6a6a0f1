"""Validate DCAT documents with the DCAT-AP SHACL shapes (pyshacl) and compare their syntaxes.

Usage: python shacl.py SHAPES.ttl FILE...

Each FILE is parsed by its extension (.jsonld JSON-LD, .ttl Turtle, .rdf RDF/XML) and validated
on its own. Files that share a name before the extension (`a.jsonld`, `a.ttl`, `a.rdf`) must
hold the same graph (rdflib's isomorphism: blank nodes may differ in name only). Prints one JSON
object: {"violations": {file: count}, "messages": {file: [text]}, "different": [[a, b]],
"triples": {file: count}}.
"""
import json
import os
import sys

import rdflib
from pyshacl import validate
from rdflib.compare import isomorphic

FORMATS = {".jsonld": "json-ld", ".ttl": "turtle", ".rdf": "xml"}
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")

shapes = rdflib.Graph().parse(sys.argv[1], format="turtle")
out = {"violations": {}, "messages": {}, "different": [], "triples": {}}
graphs = {}
for path in sys.argv[2:]:
    stem, ext = os.path.splitext(path)
    g = rdflib.Graph().parse(path, format=FORMATS[ext])
    graphs.setdefault(stem, []).append((path, g))
    _, report, _ = validate(g, shacl_graph=shapes, inference="none")
    results = list(report.subjects(rdflib.RDF.type, SH.ValidationResult))
    violations = [r for r in results if (r, SH.resultSeverity, SH.Violation) in report]
    out["violations"][path] = len(violations)
    out["messages"][path] = sorted(
        {f"{report.value(r, SH.resultPath)}: {report.value(r, SH.resultMessage)}" for r in violations}
    )[:20]
    out["triples"][path] = len(g)
for stem, gs in graphs.items():
    first_path, first = gs[0]
    for path, g in gs[1:]:
        if not isomorphic(first, g):
            out["different"].append([first_path, path])
print(json.dumps(out))
