"""Broken weights and cards end in one WeightsError that names the file and says what to do.

Each test copies the smallest shipped entry into a tmp folder and breaks the copy: a truncated weights file,
a card without its sha256, a card that is not JSON. The shipped files themselves are never touched.
"""

import json
import shutil

import pytest

from sslcourse import pretrained


@pytest.fixture
def entry(tmp_path):
    """(weights, card) copies of the smallest shipped entry, side by side as NAME.safetensors and NAME.json."""
    name = min(pretrained.available(), key=lambda n: (pretrained.WEIGHTS_DIR / f"{n}.safetensors").stat().st_size)
    weights, card = tmp_path / f"{name}.safetensors", tmp_path / f"{name}.json"
    shutil.copyfile(pretrained.WEIGHTS_DIR / f"{name}.safetensors", weights)
    shutil.copyfile(pretrained.WEIGHTS_DIR / f"{name}.json", card)
    return weights, card


def truncate(path, keep=0.5):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def test_the_untouched_copy_loads(entry):
    weights, _ = entry
    assert not pretrained.load(weights, device="cpu").training  # the breakages below are the only difference


def test_a_truncated_weights_file_fails_its_checksum_with_the_file_named(entry):
    weights, card = entry
    truncate(weights)
    with pytest.raises(pretrained.WeightsError) as err:
        pretrained.load(weights, device="cpu")
    message = str(err.value)
    assert str(weights) in message and "does not match its card" in message and "truncated" in message
    assert "retrain with: python -m sslcourse" in message  # the card's own command, to make it again


def test_a_truncated_file_its_card_vouches_for_fails_to_parse_with_the_file_named(entry):
    """A card written for an already broken file (sha256 matches): safetensors' parse error becomes ours."""
    weights, card = entry
    truncate(weights)
    info = json.loads(card.read_text())
    card.write_text(json.dumps({**info, "sha256": pretrained.sha256_file(weights)}))
    with pytest.raises(pretrained.WeightsError, match="is not a readable safetensors file") as err:
        pretrained.load(weights, device="cpu")
    assert str(weights) in str(err.value) and "retrain with" in str(err.value)


def test_a_card_without_sha256_cannot_vouch_for_its_weights(entry):
    weights, card = entry
    info = json.loads(card.read_text())
    del info["sha256"]
    card.write_text(json.dumps(info))
    with pytest.raises(pretrained.WeightsError, match="has no valid sha256") as err:
        pretrained.load(weights, device="cpu")
    assert str(card) in str(err.value) and "git checkout" in str(err.value)
    with pytest.raises(pretrained.WeightsError, match="has no valid sha256"):
        pretrained.ship(weights, "never_shipped")
    assert not (pretrained.WEIGHTS_DIR / "never_shipped.json").exists()


@pytest.mark.parametrize("text", ['{"method": "mae", ', "[1, 2]", ""])
def test_a_card_that_is_not_a_json_object_is_named(entry, text):
    weights, card = entry
    card.write_text(text)
    for read in (pretrained.card, pretrained.load):
        with pytest.raises(pretrained.WeightsError, match="restore") as err:
            read(weights)
        assert str(card) in str(err.value)


def test_a_broken_shipped_entry_says_git_checkout_or_ship(entry, monkeypatch):
    weights, _ = entry
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights.parent)  # the tmp copy stands in for the registry
    truncate(weights)
    with pytest.raises(pretrained.WeightsError) as err:
        pretrained.load(weights.stem, device="cpu")
    message = str(err.value)
    assert f"git checkout -- sslcourse/weights/{weights.name}" in message
    assert f"python -m sslcourse ship RUN {weights.stem} --force" in message
