"""report.html: one self-contained page (inline CSS and SVG, no script, no external link), verdict first.
Every text from the data is escaped; nothing from a record is ever rendered as a template."""

from __future__ import annotations

from html import escape
from typing import Any

from distill.report.fingerprint import meta_tag

CSS = """body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}table{border-collapse:collapse;
margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f4f4f4}.verdict{padding:12px 16px;border-radius:6px;background:#eef5ee;border:1px solid #9c9}
.verdict.shifted{background:#fbeeee;border-color:#d99}.verdict.noref{background:#f3f3f8;border-color:#aac}
figure.plot{display:inline-block;margin:6px}figure.plot svg{max-width:100%;height:auto}.note{color:#666}
td.text{max-width:480px;white-space:pre-wrap;word-break:break-word}"""


def _cell(value: Any, sep: str = ", ") -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return escape(sep.join(map(str, value)) if isinstance(value, list) else
                      sep.join(f"{k}: {v}" for k, v in value.items()))
    return escape(str(value))


def table(rows: list[dict[str, Any]], columns: list[str], text: tuple[str, ...] = ()) -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="text">{_cell(r.get(c, ""), chr(10))}</td>' if c in text else
                                    f"<td>{_cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def kv(d: dict[str, Any]) -> str:
    return table([{"figure": k, "value": v} for k, v in d.items() if not isinstance(v, (dict, list))],
                 ["figure", "value"])


def fig(figs: dict[str, str], name: str) -> str:
    return f'<figure class="plot" data-plot="{escape(name)}">{figs[name]}</figure>' if name in figs else ""


def _verdict(r: dict[str, Any]) -> str:
    v = r["verdict"]
    cls = {"shifted": "verdict shifted", "no reference": "verdict noref"}.get(v["status"], "verdict")
    items = "".join(f"<li>{escape(f)}</li>" for f in v["findings"])
    return (f'<section id="verdict" class="{cls}" data-status="{escape(v["status"])}"><strong>'
            f'{escape(v["headline"])}</strong><ul>{items}</ul></section>')


def _semantic(r: dict[str, Any], figs: dict[str, str]) -> str:
    emb = r.get("embeddings") or {}
    if "skipped" in emb:
        return f'<h2 id="semantic">Semantic diversity</h2><p class="note">Skipped: {escape(emb["skipped"])}</p>'
    s = r.get("semantic")
    if not s:
        return ""
    nd = s["near_duplicates"]
    return ('<h2 id="semantic">Semantic diversity</h2>'
            + kv({"clusters (k)": s["k"], "effective number of clusters": s["effective_clusters"],
                  "mean pairwise cosine distance": s["mean_cosine_distance"],
                  "mean nearest-neighbour cosine": s["nearest_neighbour"]["mean"],
                  f"near-duplicate pairs (cosine >= {nd['threshold']}, {nd['method']})": nd["pairs"],
                  "embedding model": emb.get("model")})  # how many came from the cache: report.json
            + fig(figs, "clusters") + fig(figs, "map") + fig(figs, "nearest")
            + table(s["clusters"], ["cluster", "size", "share", "label", "examples"], text=("examples",))
            + "<h3>Near-duplicate pairs</h3>" + table(nd["examples"], ["cosine", "a", "b"], text=("a", "b")))


def _reference(r: dict[str, Any], figs: dict[str, str]) -> str:
    ref = r.get("reference")
    if not ref:
        return ""
    rows = [{"part": p, "synthetic median": d["synthetic"].get("median"), "real median": d["real"].get("median"),
             "KS": d.get("ks"), "KS p": d.get("ks_p"), "Wasserstein (tokens)": d.get("wasserstein")}
            for p, d in ref["lengths"].items()]
    clf = [{"features": c["features"], "ROC AUC": c["auc"], "texts per class": c["per_class"]}
           for c in ref["classifier"].values() if c]
    v = ref["vocabulary"]
    out = (f'<h2 id="reference">Against the real set: {escape(ref["name"])} ({ref["count"]} texts)</h2>'
           + table(rows, list(rows[0]) if rows else []) + fig(figs, "reference_map")
           + "<h3>Two-sample classifier (0.5 = indistinguishable)</h3>" + table(clf, ["features", "ROC AUC",
                                                                                      "texts per class"])
           + "<h3>Vocabulary</h3>" + kv({k: v[k] for k in ("sample", "synthetic_vocab", "real_vocab", "jaccard",
                                                         "real_token_coverage")})
           + table([{"over-used by synthetic": ", ".join(w["word"] for w in v["overused"]),
                     "under-used by synthetic": ", ".join(w["word"] for w in v["underused"])}],
                   ["over-used by synthetic", "under-used by synthetic"], text=("over-used by synthetic",
                                                                                 "under-used by synthetic")))
    if ref.get("mmd"):
        out += "<h3>Embedding distance</h3>" + kv({"MMD^2 (Gaussian kernel)": ref["mmd"]["mmd2"],
                                                   "MMD permutation p-value": ref["mmd"]["p_value"],
                                                   "Fréchet distance": ref["frechet"]})
    cov = ref.get("coverage")
    if cov:
        by_id = {c["cluster"]: c for c in cov["clusters"]}
        cols = ["cluster", "label", "real_share", "synthetic_share", "ratio", "reached", "real_examples",
                "synthetic_examples"]
        out += ("<h3>Coverage of the real set's clusters</h3>"
                + kv({"real clusters": cov["k"], "coverage (share reached)": cov["coverage"],
                      "real texts in reached clusters": cov["weighted_coverage"],
                      "synthetic texts outside every real cluster": cov["synthetic_outside"]})
                + fig(figs, "coverage") + "<h4>Under-represented</h4>"
                + table([by_id[c] for c in cov["under"]], cols, text=("real_examples", "synthetic_examples"))
                + "<h4>Over-represented</h4>"
                + table([by_id[c] for c in cov["over"]], cols, text=("real_examples", "synthetic_examples")))
    return out


def _contamination(r: dict[str, Any], figs: dict[str, str]) -> str:
    out = ""
    for b in r.get("contamination") or []:
        ng = b["ngram"]
        out += (f'<h2 id="contamination-{escape(b["name"])}">Contamination: {escape(b["name"])} '
                f'({b["questions"]} questions)</h2>'
                + kv({f"instructions sharing a {ng['n']}-gram": ng["contaminated"], "share": ng["share"]})
                + table(ng["pairs"], ["instruction", "benchmark"], text=("instruction", "benchmark")))
        if b.get("embedding"):
            e = b["embedding"]
            out += (fig(figs, f"contamination_{b['name']}")
                    + f"<p>{e['over_threshold']} instruction(s) with cosine >= {e['threshold']}:</p>"
                    + table(e["pairs"], ["cosine", "instruction", "benchmark"], text=("instruction", "benchmark")))
    return out


def _traces(r: dict[str, Any]) -> str:
    t = r.get("traces")
    if not t:
        return ""
    cols = ["count", "mean", "median", "p5", "p95", "min", "max"]
    out = ('<h2 id="traces">Reasoning traces</h2>'
           + kv({"records with thinking": t["records_with_thinking"],
                 "records without thinking": t["records_without_thinking"]})
           + table([{"part": "thinking", **t["thinking_tokens"]}, {"part": "answer", **t["answer_tokens"]}],
                   ["part", *cols]))
    if t.get("checks"):
        out += (f"<h3>Checks over the {t['traces']} traces the teacher returned ({t['passed_checks']} passed)</h3>"
                + table(t["checks"], ["check", "traces", "share"]))
    if t.get("difficulty"):
        out += ("<h3>Correctness by difficulty</h3>"
                + table(t["difficulty"], ["difficulty", "questions", "samples", "verified", "share_correct", "kept"]))
    k = t["kept_per_question"]
    out += (f"<h3>Traces kept per question (mean {_cell(k['mean'])} over {k['questions']} questions)</h3>"
            + table(k["spread"], ["kept", "questions"]))
    return f'<section id="traces-section">{out}</section>'


def _sample(r: dict[str, Any]) -> str:
    s = r.get("sample")
    if not s:
        return ""
    return (f'<p class="note" id="sample" data-rows="{s["rows"]}" data-of="{s["of"]}">{escape(s["note"])}</p>')


def render(r: dict[str, Any], arrays: Any) -> str:
    try:
        from distill.report.figures import figures

        figs = figures(r, arrays)
        missing = ""
    except ImportError as exc:
        figs, missing = {}, f'<p class="note">Plots skipped: {escape(str(exc))} (pip install \'distill[report]\').</p>'
    f = r["funnel"]
    s = r["self_similarity"]
    parts = [f"<h1>Data report: {escape(str(r['name']))}</h1>",
             (f'<p class="note">{escape(str(r["run"]))} | recipe {escape(str(r["recipe"]))} | {r["records"]} '
              f"accepted records</p>"), _sample(r), _verdict(r), missing, "<h2>Headline figures</h2>",
             kv(r["headline"]),
             '<h2 id="funnel">Funnel</h2>', fig(figs, "funnel"),
             table([{"stage": x["stage"], "in": x["in"], "kept": x["accepted"], "rejected": x["rejected"],
                     "failed": x["failed"], "reasons": x["reasons"]} for x in f["stages"]],
                   ["stage", "in", "kept", "rejected", "failed", "reasons"]),
             '<h2 id="lengths">Lengths</h2>', fig(figs, "lengths_instructions"), fig(figs, "lengths_responses"),
             table([{"part": p, **{k: v for k, v in d.items() if k != "histogram"}} for p, d in r["lengths"].items()],
                   ["part", "count", "mean", "median", "p5", "p95", "min", "max"]),
             '<h2 id="lexical">Lexical diversity</h2>',
             table([{"part": p, **d} for p, d in r["lexical"].items()],
                   ["part", "sample", "distinct_1", "distinct_2", "distinct_3", "compression_ratio"]),
             '<h2 id="self-similarity">Self-similarity (ROUGE-L)</h2>', fig(figs, "self_similarity"),
             kv({f"{k}: {m}": s[k][m] for k in ("to_rest", "to_seeds") if k in s
                 for m in ("mean", "median", "over_threshold")}
                | {"instructions compared (each against every other sampled instruction)": s["sample"],
                   "sampled instructions they were compared with": s["of"]}),
             table(s.get("closest_pairs", []), ["score", "text", "nearest"], text=("text", "nearest")),
             '<h2 id="verbs">Verb-noun structure</h2>', fig(figs, "verbs"),
             kv({**r["verbs"]["kinds"], "unique verbs": r["verbs"]["unique_verbs"],
                 "share in the top verb-object pairs": r["verbs"]["top_pair_share"], "method": r["verbs"]["method"]}),
             _traces(r), _semantic(r, figs)]
    if r["scores"]:
        parts += ['<h2 id="scores">Scores and selection</h2>'] + [fig(figs, f"scores_{n}") for n in r["scores"]]
        parts.append(table([{"score": n, "kept": d["kept"], "dropped": d["dropped"]} for n, d in r["scores"].items()],
                           ["score", "kept", "dropped"]))
    parts += [_reference(r, figs), _contamination(r, figs),
              '<p class="note">Each section\'s time is in report.json (<code>timings</code>); the page leaves it out '
              "so that the same run folder always gives the same page.</p>"]
    meta = meta_tag(r["fingerprint"]) if r.get("fingerprint") else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{meta}<title>Data report: '
            f'{escape(str(r["name"]))}</title><style>{CSS}</style></head><body>{"".join(parts)}</body></html>\n')
