"""Memory that grows with the prompt stays within a stated bound in the engine's own loops."""

import torch
from transformers import BertConfig, BertForMaskedLM

from playground.cache import ModelCache
from playground.conditional import LOGITS_BUDGET_BYTES, score_pseudo
from tests import tiny_models
from tests.test_security_loading import MiB, PeakRss

VOCABULARY = 30_000  # BERT's size: a masked copy of a 200-token text has 24 MB of float32 logits


def test_pseudo_perplexity_keeps_its_logits_within_the_budget(tmp_path):
    """Thirty-two masked copies at once would hold 768 MB of logits; the budget keeps a batch
    near 128 MB whatever the vocabulary."""
    tokenizer = tiny_models.wordpiece_tokenizer()
    tokenizer.model_max_length = 512
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCABULARY,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertForMaskedLM(config).save_pretrained(tmp_path / "wide")
    tokenizer.save_pretrained(tmp_path / "wide")
    lm = ModelCache(device=torch.device("cpu"), dtype=torch.float32).get(str(tmp_path / "wide")).model
    text = " ".join(tiny_models.CORPUS[:2]) * 9
    with PeakRss() as rss:
        score = score_pseudo(lm, text)
    assert score.scored_tokens > 150
    assert rss.growth < LOGITS_BUDGET_BYTES + 150 * MiB, f"grew {rss.growth / MiB:.0f} MiB"


def test_scoring_in_smaller_pieces_gives_the_same_numbers(loaded, monkeypatch):
    """The pieces bound memory and set where the deadline is checked; they must not change a score."""
    from playground import conditional

    text = "The quick brown fox jumps over the lazy dog. A cat sat on the mat."
    whole_pseudo = conditional.score_pseudo(loaded["bert-mlm"], text)
    whole_target = conditional.score_conditional(loaded["t5"], "The quick brown fox.", text)
    monkeypatch.setattr(conditional, "MASKED_TOKENS", 1)  # one masked copy a batch
    monkeypatch.setattr(conditional, "LOGITS_BUDGET_BYTES", 3 * 4 * conditional.vocabulary(loaded["t5"]))
    pseudo = conditional.score_pseudo(loaded["bert-mlm"], text)
    target = conditional.score_conditional(loaded["t5"], "The quick brown fox.", text)
    for whole, pieces in ((whole_pseudo, pseudo), (whole_target, target)):
        assert abs(whole.total_nll_nats - pieces.total_nll_nats) < 1e-3 * abs(whole.total_nll_nats)
        assert [t.rank for t in whole.tokens] == [t.rank for t in pieces.tokens]


def test_causal_scoring_keeps_a_large_vocabulary_within_the_logits_budget(tmp_path):
    """A 262k-token vocabulary (Gemma-3's) over a long text: the window shrinks so that its scored
    logits fit the budget, and scoring reads them as views, not copies."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from playground import scoring

    vocabulary = 262_144
    tokenizer = tiny_models.byte_bpe_tokenizer(260)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocabulary,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        bos_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path / "wide")
    tokenizer.save_pretrained(tmp_path / "wide")
    lm = ModelCache(device=torch.device("cpu"), dtype=torch.float32).get(str(tmp_path / "wide")).model
    text = " ".join(tiny_models.CORPUS) * 4  # about 1,500 tokens
    with PeakRss() as rss:
        score = scoring.score_causal(lm, text)
    assert score.scored_tokens > 1_000 and score.window * vocabulary * 4 <= scoring.LOGITS_BUDGET_BYTES
    # the model's own logits of one window, a comparison mask a quarter of that, and room for the rest
    assert rss.growth < 1.5 * scoring.LOGITS_BUDGET_BYTES + 200 * MiB, f"grew {rss.growth / MiB:.0f} MiB"
