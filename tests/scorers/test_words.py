import math

import numpy as np

from curriscale.scorers.words import Vocabulary, WordBatch, count_sentences, mtld, rarity_of, words_of


def test_words_and_sentences_follow_textstat_rules():
    assert words_of("Don't stop, it's fine - really!") == ["Don't", "stop", "it's", "fine", "really"]
    assert words_of("It\u2019s ok.") == ["It's", "ok"]
    # Runs of two words or fewer ("Hi.", "e.g.") are not sentences.
    assert count_sentences("Hi. The cat sat on the mat. Then it slept all day!") == 2
    assert count_sentences("") == 0


def test_mtld_is_higher_for_more_varied_text():
    repetitive = ("the cat and the dog and the cat " * 10).split()
    varied = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu the a " * 3).split()
    assert mtld(varied) > 2 * mtld(repetitive)
    assert mtld([hash(w) for w in varied]) == mtld(varied)  # ids work as well as words
    assert math.isnan(mtld([]))


def test_mtld_of_all_distinct_words_uses_the_one_repeat_floor():
    assert mtld([f"w{i}" for i in range(10)]) == 10 / (1 / (10 * 0.28))


def test_rarity_orders_common_below_rare_and_skips_numbers():
    assert rarity_of("the") < rarity_of("sesquipedalian") < rarity_of("qwzxqj") == -math.log(1e-8)
    assert math.isnan(rarity_of("1999"))


def test_vocabulary_computes_each_word_once_and_batches_sum_per_document():
    calls = []

    def properties(word):
        calls.append(word)
        return (len(word), 1.0 if word == "the" else math.nan)

    vocabulary = Vocabulary(properties)
    batch = WordBatch.of(["The cat, the hat.", "", "A cat"], vocabulary)
    assert batch.words == ["the", "cat", "the", "hat", "a", "cat"]
    assert batch.lengths.tolist() == [4, 0, 2]
    assert sorted(calls) == ["a", "cat", "hat", "the"]
    np.testing.assert_allclose(batch.doc_sum(batch.table[batch.ids, 0]), [12, 0, 4])
    means = batch.doc_mean(1)  # mean over words where the property is finite
    assert means[0] == 1.0 and np.isnan(means[1]) and np.isnan(means[2])
    assert [ids.tolist() for ids in batch.doc_ids()][1] == []
    WordBatch.of(["the cat again"], vocabulary)
    assert sorted(calls) == ["a", "again", "cat", "hat", "the"]
