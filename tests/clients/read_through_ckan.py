"""Read a dataset through frictionless's CKAN adapter and write each resource's cells as CSV.

(Not named frictionless_*: frictionless imports any module so named as a plugin.)

Usage: python read_through_ckan.py BASE_URL DATASET

frictionless asks the server for `package_show`, then downloads each resource's `url` as a client
of any CKAN would. The cells are written back unchanged (no type inference: `read_cells`), one
resource after the other, so the caller can compare them with the CSV it uploaded, byte for byte.
"""
import csv
import sys

from frictionless import Package

base, name = sys.argv[1], sys.argv[2]
package = Package(f"{base}/dataset/{name}")
out = csv.writer(sys.stdout, lineterminator="\n")
for resource in package.resources:
    with resource:
        for row in resource.read_cells():
            out.writerow(["" if c is None else c for c in row])
