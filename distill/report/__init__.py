"""The data report: what a run made, measured and plotted (`distill report`, `distill compare`, and the report
`distill run` writes at the end). One module per idea: sources (reading runs and reference sets), funnel,
lengths, lexical diversity, self-similarity, verb-noun structure, embeddings and clusters, scores,
contamination, reference comparison, verdict, plots and the HTML page. Nothing here is imported by
`import distill`; the heavy libraries (scikit-learn, scipy, matplotlib, sentence-transformers) load only when a
report is built."""
