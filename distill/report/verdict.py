"""The plain-language verdict at the top of the report: where the synthetic set departs from the real one
(or, without a reference, what looks narrow or suspicious), from the figures the other modules computed.

Thresholds (documented so the verdict can be argued with):
- shifted when a classifier tells real from synthetic with ROC AUC >= 0.75, or when the synthetic set reaches
  fewer than 60% of the real set's clusters;
- AUC 0.65-0.75 is "partly distinguishable"; a length KS statistic >= 0.3 is a length shift; fewer than 80%
  of the real set's word occurrences covered by the synthetic vocabulary is a vocabulary gap;
- without a reference: more than 5% of instructions with ROUGE-L > 0.7 to another, any embedding
  near-duplicates, any benchmark overlap, or one verb heading more than 30% of the instructions."""

from __future__ import annotations

from typing import Any

AUC_SHIFTED, AUC_PARTLY, COVERAGE_LOW, KS_SHIFT, VOCAB_LOW = 0.75, 0.65, 0.6, 0.3, 0.8


def _auc(ref: dict[str, Any]) -> tuple[float | None, str]:
    clf = ref.get("classifier") or {}
    for kind in ("embedding", "lexical"):
        if clf.get(kind):
            return clf[kind]["auc"], clf[kind]["features"]
    return None, ""


def _reference(ref: dict[str, Any]) -> tuple[bool, list[str]]:
    findings, shifted = [], False
    auc, features = _auc(ref)
    if auc is not None:
        if auc >= AUC_SHIFTED:
            shifted = True
            findings.append(f"A classifier tells synthetic from real texts easily (ROC AUC {auc:.2f} on {features}; "
                            "0.5 would mean indistinguishable).")
        elif auc >= AUC_PARTLY:
            findings.append(f"A classifier partly tells synthetic from real texts (ROC AUC {auc:.2f} on {features}).")
        else:
            findings.append(f"A classifier can hardly tell synthetic from real texts (ROC AUC {auc:.2f} on "
                            f"{features}).")
    cov = ref.get("coverage")
    if cov:
        reached = sum(c["reached"] for c in cov["clusters"])
        line = (f"The synthetic set reaches {reached} of the real set's {cov['k']} topic clusters "
                f"({cov['coverage']:.0%})")
        if cov["coverage"] < COVERAGE_LOW:
            shifted = True
        under = [c for c in cov["clusters"] if c["cluster"] in cov["under"]][:3]
        over = [c for c in cov["clusters"] if c["cluster"] in cov["over"]][:3]
        if under:
            line += "; under-represented: " + "; ".join(f"'{c['label'] or c['cluster']}'" for c in under)
        if over:
            line += "; over-represented: " + "; ".join(f"'{c['label'] or c['cluster']}' ({c['ratio']:.1f}x)"
                                                       for c in over)
        findings.append(line + ".")
    for part, d in (ref.get("lengths") or {}).items():
        if d.get("ks", 0) >= KS_SHIFT:
            s, r = d["synthetic"]["median"], d["real"]["median"]
            word = "longer" if s > r else "shorter"
            findings.append(f"Synthetic {part} are {word} than real ones (median {s:g} vs {r:g} tokens, "
                            f"KS {d['ks']:.2f}, Wasserstein {d['wasserstein']:.1f} tokens).")
    vocab = ref.get("vocabulary") or {}
    if vocab and vocab["real_token_coverage"] < VOCAB_LOW:
        words = ", ".join(w["word"] for w in vocab["underused"][:5])
        findings.append(f"The synthetic vocabulary covers {vocab['real_token_coverage']:.0%} of the real set's word "
                        f"occurrences; words real texts use far more: {words}.")
    return shifted, findings


def _alone(report: dict[str, Any]) -> list[str]:
    findings = []
    rest = (report.get("self_similarity") or {}).get("to_rest")
    if rest and rest["over_threshold"] > 0.05:
        findings.append(f"{rest['over_threshold']:.0%} of instructions have ROUGE-L > 0.7 to another instruction "
                        "(near copies).")
    near = ((report.get("semantic") or {}).get("near_duplicates") or {}).get("pairs")
    if near:
        findings.append(f"{near} pair(s) of instructions are near-duplicates in embedding space (cosine >= 0.95).")
    for bench in report.get("contamination") or []:
        hits = bench["ngram"]["contaminated"] + (bench.get("embedding") or {}).get("over_threshold", 0)
        if hits:
            findings.append(f"Possible benchmark contamination: {bench['ngram']['contaminated']} instruction(s) "
                            f"share a {bench['ngram']['n']}-gram with {bench['name']}"
                            + (f", {bench['embedding']['over_threshold']} are embedding neighbours (cosine >= "
                               f"{bench['embedding']['threshold']})" if bench.get("embedding") else "") + ".")
    verbs = report.get("verbs") or {}
    if verbs.get("top") and verbs["count"]:
        top = verbs["top"][0]
        if top["count"] / verbs["count"] > 0.3:
            findings.append(f"One verb heads {top['count'] / verbs['count']:.0%} of instructions ('{top['verb']}').")
    return findings


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    ref = report.get("reference")
    findings = _alone(report)
    if not ref:
        status = "no reference"
        headline = ("No real reference set was given, so distribution shift is not measured "
                    "(distill report RUN --reference REAL.jsonl).")
    else:
        shifted, ref_findings = _reference(ref)
        findings = ref_findings + findings
        status = "shifted" if shifted else "close"
        headline = (f"The synthetic set departs from the real set ({ref['name']})." if shifted else
                    f"The synthetic set is close to the real set ({ref['name']}) on the measures below.")
    if not findings and not ref:
        findings.append("Nothing stands out: no near copies, no near-duplicates, no benchmark overlap found.")
    return {"status": status, "headline": headline, "findings": findings}
