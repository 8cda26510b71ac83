"""A real report end to end: a CSV in, a pandas summary, a matplotlib chart and an HTML page
out, each fetched back and checked against the Run object's sha256."""

import csv
import hashlib
import io

from run_files import assert_files_fields, by_path, fetch, fetch_zip, utf8_file

SALES = "region,month,sales\n" + "".join(
    f"{region},{month},{(n * 37 + month * 11) % 100}\n"
    for n, region in enumerate(("north", "south", "east", "west"))
    for month in range(1, 13)
)

REPORT = """
import html
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

sales = pd.read_csv("data/sales.csv")
summary = sales.groupby("region", as_index=False)["sales"].sum().sort_values("region")
summary.to_csv("out/summary.csv", index=False)

figure, axes = plt.subplots(figsize=(4, 3))
axes.bar(summary["region"], summary["sales"])
axes.set_title("Sales by region")
figure.savefig("out/chart.png")

with open("out/report.html", "w", encoding="utf-8") as page:
    page.write("<!doctype html><meta charset=utf-8><title>Sales</title>")
    page.write("<h1>Sales by region</h1><img src=chart.png>")
    page.write(summary.to_html(index=False))
print(int(summary["sales"].sum()))
"""
LIMITS = {"wall_time_s": 60, "cpu_time_s": 60, "memory_mb": 1024}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_a_datascience_report_comes_out_whole(server):
    run = server.run(REPORT, environment="datascience", limits=LIMITS, files=[utf8_file("data/sales.csv", SALES)])

    assert run["status"] == "succeeded", run
    totals = {}
    for row in csv.DictReader(io.StringIO(SALES)):
        totals[row["region"]] = totals.get(row["region"], 0) + int(row["sales"])
    assert run["stdout"] == f"{sum(totals.values())}\n", run
    assert_files_fields(run)
    listed = by_path(run)
    assert listed.keys() == {"summary.csv", "chart.png", "report.html"}, listed
    assert {path: entry["media_type"] for path, entry in listed.items()} == {
        "summary.csv": "text/csv", "chart.png": "image/png", "report.html": "text/html"}

    served = {}
    for path, entry in listed.items():
        response = fetch(server, run["id"], path)
        assert response.status_code == 200, response.text[:500]
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"], path
        assert len(response.content) == entry["size"], path
        assert response.headers["ETag"] == f'"{entry["sha256"]}"'
        served[path] = response.content

    summary = list(csv.DictReader(io.StringIO(served["summary.csv"].decode())))
    assert {row["region"]: int(row["sales"]) for row in summary} == totals, summary
    assert served["chart.png"].startswith(PNG_MAGIC) and len(served["chart.png"]) > 1000
    page = served["report.html"].decode()
    assert "<img src=chart.png>" in page and "<table" in page and str(totals["north"]) in page
    assert fetch_zip(server, run["id"]) == served
