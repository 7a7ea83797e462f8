import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import html
    import json

    import marimo as mo
    import pandas as pd

    return html, json, mo, pd


@app.cell
def _():
    TITLE = "Azimuth and tilt estimation"
    METRICS = ["absolute_error_azimuth", "absolute_error_tilt", "error_azimuth", "error_tilt"]
    UNIT = "degrees"
    return METRICS, TITLE, UNIT


@app.cell
def _(METRICS, json, mo, pd):
    def results_from_cli_args():
        raw = mo.cli_args().to_dict().get("results_df", [])
        # One file arrives as a single string, several as a list.
        items = raw if isinstance(raw, list) else [raw]
        rows = [item if isinstance(item, dict) else json.loads(item) for item in items if item != ""]
        return pd.DataFrame.from_records(rows)

    results_df = results_from_cli_args()
    metrics = [name for name in METRICS if name in results_df.columns]
    for name in metrics + ["runtime"]:
        if name in results_df.columns:
            results_df[name] = pd.to_numeric(results_df[name], errors="coerce")
    return metrics, results_df


@app.cell
def _(TITLE, UNIT, metrics, mo, results_df):
    mo.md(
        f"# {TITLE}: private results\n\n"
        f"{len(results_df)} scored files; metrics in {UNIT}, runtime in seconds. "
        + ("" if metrics else "**No metric columns were passed to the report.**")
    )
    return


@app.cell
def _(metrics, mo, pd, results_df):
    def summary():
        columns = metrics + [name for name in ["runtime"] if name in results_df.columns]
        if results_df.empty or not columns:
            return mo.md("_No results._")
        stats = pd.DataFrame(
            {
                "metric": columns,
                "mean": [results_df[c].mean() for c in columns],
                "median": [results_df[c].median() for c in columns],
                "min": [results_df[c].min() for c in columns],
                "max": [results_df[c].max() for c in columns],
            }
        ).round(4)
        return mo.vstack([mo.md("## Summary"), mo.ui.table(stats, selection=None, label="")])

    summary()
    return


@app.cell
def _(UNIT, html, metrics, mo, results_df):
    def bar_chart(metric):
        """Horizontal bars, one per file, as inline SVG: no plotting package needed."""
        frame = results_df.dropna(subset=[metric]).sort_values(metric, key=lambda s: s.abs())
        if frame.empty:
            return mo.md(f"_No values of {metric}._")
        width, bar, label_width = 640, 18, 260
        largest = max(float(frame[metric].abs().max()), 1e-9)
        parts = []
        for i, (_, row) in enumerate(frame.iterrows()):
            value = float(row[metric])
            length = (width - label_width - 80) * abs(value) / largest
            y = i * (bar + 4)
            colour = "#c0392b" if value < 0 else "#2e86c1"
            parts.append(
                f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
                f"{html.escape(str(row.get('file_name', i)))}</text>"
                f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>'
                f'<text x="{label_width + length + 4:.1f}" y="{y + 13}" font-size="12">{value:.3f}</text>'
            )
        height = len(frame) * (bar + 4)
        svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{"".join(parts)}</svg>'
        return mo.vstack([mo.md(f"## {metric} per file ({UNIT})"), mo.Html(svg)])

    mo.vstack([bar_chart(metric) for metric in metrics]) if metrics else None
    return


@app.cell
def _(metrics, mo, results_df):
    def by_issue():
        if "issue" not in results_df.columns or not metrics:
            return None
        grouped = results_df.groupby("issue")[metrics].mean().round(4).reset_index()
        return mo.vstack([mo.md("## Mean by issue"), mo.ui.table(grouped, selection=None, label="")])

    by_issue()
    return


@app.cell
def _(mo, results_df):
    mo.vstack([mo.md("## All files"), mo.ui.table(results_df, selection=None, label="")]) if not results_df.empty else None
    return


if __name__ == "__main__":
    app.run()
