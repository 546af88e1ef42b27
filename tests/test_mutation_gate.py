"""The mutation gate's list follows the code: every entry applies, exactly once, and a
stale one is reported by name, file and text (tests/mutations/gate.py runs them in CI)."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "mutations"))

import gate


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    return gate.copy_source(tmp_path_factory.mktemp("gate"))


def test_the_list_names_at_least_twenty_mutations_each_with_tests():
    mutations = gate.load()
    assert len(mutations) >= 20
    assert all(m.tests and m.old != m.new for m in mutations)


@pytest.mark.parametrize("mutation", gate.load(), ids=lambda m: m.name)
def test_every_mutation_applies_to_the_code_as_it_is(mutation, tmp_path):
    src = gate.copy_source(tmp_path)
    gate.apply(mutation, src)
    changed = (src / "tlsconnect" / mutation.file).read_text(encoding="utf-8")
    assert mutation.new in changed


def test_a_stale_anchor_names_the_mutation_the_file_and_the_text(src):
    stale = gate.Mutation("some-guard-removed", "_context.py", "no such line\n", "x", ("t",))
    with pytest.raises(gate.StaleAnchor) as info:
        gate.apply(stale, src)
    message = str(info.value)
    assert "'some-guard-removed'" in message and "src/tlsconnect/_context.py" in message
    assert "not found" in message and "'no such line\\n'" in message
    twice = gate.Mutation("twice", "_context.py", "context", "x", ("t",))
    with pytest.raises(gate.StaleAnchor, match="found [0-9]+ times"):
        gate.apply(twice, src)
