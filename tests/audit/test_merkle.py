"""RFC 6962 / 9162 Merkle trees: reference vectors, every proof shape, and pymerkle agreeing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    collect_nodes,
    fold_prefix,
    join_split,
    leaf_hash,
    leaf_hashes,
    needed_nodes,
    node_hash,
    prefix_roots,
    root,
    split_needed,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference leaves and tree heads (RFC 6962 test data, as
# published in transparency-dev/merkle testonly/constants.go): root of sizes 0 … 8.
CT_DATA = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {  # (leaf index, tree size) → audit path
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip
CT_CONSISTENCY = {  # (first, second) → proof
    (2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip


def hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_hashes_carry_the_rfc_6962_prefixes() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) != node_hash(right, left)
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]


def test_roots_match_the_certificate_transparency_reference() -> None:
    leaves = leaf_hashes(CT_DATA)
    tree = MerkleTree(leaves)
    assert [tree.root(n).hex() for n in range(9)] == CT_ROOTS
    assert [r.hex() for r in prefix_roots(leaves, range(9)).values()] == CT_ROOTS
    assert [root(leaves[:n]).hex() for n in range(9)] == CT_ROOTS


def test_proofs_match_the_certificate_transparency_reference() -> None:
    leaves = leaf_hashes(CT_DATA)
    tree = MerkleTree(leaves)
    for (index, size), path in CT_INCLUSION.items():
        assert hexes(tree.inclusion_proof(index, size)) == path
        assert verify_inclusion(
            leaves[index], index, size, [bytes.fromhex(h) for h in path], tree.root(size)
        )
    for (first, second), proof in CT_CONSISTENCY.items():
        assert hexes(tree.consistency_proof(first, second)) == proof
        assert verify_consistency(
            first, second, tree.root(first), tree.root(second), [bytes.fromhex(h) for h in proof]
        )


def _leaves(n: int) -> list[bytes]:
    return leaf_hashes(i.to_bytes(4, "big") for i in range(n))


def test_every_inclusion_proof_verifies_and_every_mangled_one_fails() -> None:
    leaves = _leaves(33)
    tree = MerkleTree(leaves)
    for size in range(1, 34):
        top = tree.root(size)
        for index in range(size):
            path = tree.inclusion_proof(index, size)
            assert verify_inclusion(leaves[index], index, size, path, top)
            assert not verify_inclusion(leaves[index], index, size, path, tree.root(size - 1))
            other = (index + 1) % size
            if other != index:
                assert not verify_inclusion(leaves[other], index, size, path, top)
                assert not verify_inclusion(leaves[index], other, size, path, top)
            assert not verify_inclusion(leaves[index], index, size, [*path, top], top)
            if path:
                assert not verify_inclusion(leaves[index], index, size, path[:-1], top)
                flipped = bytes([path[0][0] ^ 1]) + path[0][1:]
                assert not verify_inclusion(leaves[index], index, size, [flipped, *path[1:]], top)
            assert not verify_inclusion(leaves[index], size, size, path, top)


def test_every_consistency_proof_verifies_and_every_mangled_one_fails() -> None:
    leaves = _leaves(33)
    tree = MerkleTree(leaves)
    roots = [tree.root(n) for n in range(34)]
    for second in range(0, 34):
        for first in range(0, second + 1):
            proof = tree.consistency_proof(first, second)
            assert verify_consistency(first, second, roots[first], roots[second], proof)
            if first == second or first == 0:
                assert proof == []
                continue
            assert not verify_consistency(first, second, roots[first - 1], roots[second], proof)
            assert not verify_consistency(first, second, roots[first], roots[second - 1], proof)
            assert not verify_consistency(first, second, roots[first], roots[second], proof[:-1])
            flipped = bytes([proof[-1][0] ^ 0x80]) + proof[-1][1:]
            assert not verify_consistency(
                first, second, roots[first], roots[second], [*proof[:-1], flipped]
            )
            assert not verify_consistency(second, first, roots[second], roots[first], proof)


def test_subtrees_built_in_two_parts_give_every_prefix_root() -> None:
    # verify splits the leaves at the largest power of two below their number and builds
    # each part apart (in two processes); every prefix root must still come out right.
    leaves = _leaves(70)
    tree = MerkleTree(leaves)
    for n in range(2, 71):
        k = 1 << ((n - 1).bit_length() - 1)
        work, spanning = split_needed(needed_nodes(range(n + 1)), k)
        nodes = collect_nodes(leaves[:k], 0, work) | collect_nodes(leaves[k:n], k, work)
        join_split(nodes, spanning)
        assert spanning == ([(k.bit_length(), 0)] if n == 2 * k else [])
        assert [fold_prefix(s, nodes) for s in range(n + 1)] == [tree.root(s) for s in range(n + 1)]


def test_bad_requests_are_refused() -> None:
    tree = MerkleTree(_leaves(5))
    with pytest.raises(ProofError):
        tree.inclusion_proof(5, 5)
    with pytest.raises(ProofError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(ProofError):
        tree.consistency_proof(4, 3)
    with pytest.raises(ProofError):
        prefix_roots(_leaves(5), [6])
    assert not verify_inclusion(b"short", 0, 1, [], b"short")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=300),
    st.data(),
)
def test_proofs_agree_with_pymerkle_on_random_trees(
    entries: list[bytes], data: st.DataObject
) -> None:
    pymerkle = pytest.importorskip(
        "pymerkle", reason="pymerkle (dev extra) is not installed: cross-check did not run"
    )
    theirs = pymerkle.InmemoryTree()
    for entry in entries:
        theirs.append_entry(entry)
    ours = MerkleTree(leaf_hashes(entries))
    n = len(entries)
    size = data.draw(st.integers(1, n), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")

    assert ours.root(size) == theirs.get_root(size)
    assert ours.root(first) == theirs.get_root(first)

    # Inclusion: pymerkle's path is [leaf, siblings…] (1-based index); ours the siblings.
    their_inclusion = theirs.prove_inclusion(index + 1, size)
    assert their_inclusion.path[1:] == ours.inclusion_proof(index, size)
    pymerkle.verify_inclusion(ours.levels[0][index], ours.root(size), their_inclusion)
    assert verify_inclusion(
        theirs.get_leaf(index + 1), index, size, their_inclusion.path[1:], theirs.get_root(size)
    )

    # Consistency: the formats differ (pymerkle sends subtree roots with a rule of how to
    # combine them), so each side verifies its proof against the other's roots.
    their_consistency = theirs.prove_consistency(first, size)
    pymerkle.verify_consistency(ours.root(first), ours.root(size), their_consistency)
    our_consistency = ours.consistency_proof(first, size)
    assert verify_consistency(
        first, size, theirs.get_root(first), theirs.get_root(size), our_consistency
    )
    if first < size:  # and a tree that is not an extension fails on both sides
        assert not verify_consistency(
            first, size, theirs.get_root(first - 1) if first > 1 else EMPTY_ROOT,
            theirs.get_root(size), our_consistency,
        )  # fmt: skip
