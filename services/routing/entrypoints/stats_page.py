"""The public statistics page: server-rendered SVG charts (no JavaScript) of the figures
`adapters.views.statistics` collects."""

from __future__ import annotations

from html import escape
from typing import Any


def bar_chart(title: str, values: dict[str, int], *, width: int = 640) -> str:
    """A horizontal bar chart as an SVG string."""
    rows = list(values.items())[:15]
    bar_height, label_width, top = 22, 230, 30
    height = top + bar_height * max(len(rows), 1) + 10
    biggest = max((n for _, n in rows), default=0) or 1
    scale = (width - label_width - 60) / biggest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (label, count) in enumerate(rows):
        y = top + index * bar_height
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{escape(str(label)[:34])}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{max(count * scale, 1):.1f}"'
            f' height="{bar_height - 6}" fill="#2b6cb0"><title>{escape(str(label))}: {count}'
            f"</title></rect>"
            f'<text x="{label_width + count * scale + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{count}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(title: str, points: list[dict[str, Any]], *, width: int = 640) -> str:
    """Daily new cases as vertical bars, an SVG string."""
    height, bottom, left = 200, 30, 30
    biggest = max((p["cases"] for p in points), default=0) or 1
    step = (width - left) / max(len(points), 1)
    scale = (height - bottom - 30) / biggest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}"'
        ' stroke="#444"/>',
    ]
    for index, point in enumerate(points):
        bar = point["cases"] * scale
        x = left + index * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - bar:.1f}" width="{step - 2:.1f}"'
            f' height="{bar:.1f}" fill="#dd6b20"><title>{point["day"]}: {point["cases"]}'
            "</title></rect>"
        )
        if index % 7 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 10}" font-size="11">{point["day"][5:]}</text>'
            )
    parts.append(f'<text x="0" y="{height - bottom}" font-size="11">0</text>')
    parts.append(f'<text x="0" y="40" font-size="11">{biggest}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def satisfaction_table(satisfaction: dict[str, dict[str, Any]]) -> str:
    """The citizens' answers per agency: satisfied, not satisfied, re-opened, response rate."""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{v['satisfied']}</td><td>{v['not_satisfied']}</td>"
        f"<td>{v['reopened']}</td><td>{v['answered_cases']}/{v['closed_cases']}</td>"
        f"<td>{_rate(v['response_rate'])}</td></tr>"
        for name, v in satisfaction.items()
    )
    return (
        "<h2>Kepuasan pelapor</h2><table id='satisfaction'><tr><th>Instansi</th><th>Puas</th>"
        "<th>Tidak puas</th><th>Dibuka kembali</th><th>Kasus dinilai / selesai</th>"
        f"<th>Tingkat tanggapan</th></tr>{rows}</table>"
    )


def render_page(figures: dict[str, Any]) -> str:
    compliance_rows = "".join(
        f"<tr><td>{escape(kind)}</td><td>{v['met_on_time']}</td><td>{v['met_late']}</td>"
        f"<td>{v['open_overdue']}</td><td>{v['open_in_time']}</td>"
        f"<td>{_rate(v['on_time_rate'])}</td></tr>"
        for kind, v in figures["deadline_compliance"].items()
    )
    charts = "".join(
        f"<figure>{bar_chart(title, figures[key])}</figure>"
        for title, key in (
            ("Kasus per status", "by_status"),
            ("Kasus per instansi", "by_agency"),
            ("Kasus per kategori", "by_category"),
            ("Kasus per kanal", "by_channel"),
            ("Kasus per provinsi (kode wilayah)", "by_region"),
        )
    )
    return (
        "<!doctype html><html lang='id'><head><meta charset='utf-8'>"
        "<title>Lapor: statistik disposisi</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px}</style>"
        f"</head><body><h1>Statistik disposisi</h1><p>Total kasus: {figures['total_cases']}"
        f" &middot; per {escape(figures['generated_at'])}</p>"
        f"<figure>{trend_chart('Kasus baru per hari', figures['daily_new_cases'])}</figure>"
        "<h2>Kepatuhan tenggat</h2><table><tr><th>Tenggat</th><th>Tepat waktu</th>"
        "<th>Terlambat</th><th>Lewat tenggat (terbuka)</th><th>Berjalan</th>"
        f"<th>Tingkat tepat waktu</th></tr>{compliance_rows}</table>"
        f"{satisfaction_table(figures.get('satisfaction', {}))}"
        f"{charts}</body></html>"
    )
