// Proof encoding and the standalone verifier (no database): what a light client runs.
#include <cstring>

#include "probity/ledger/state_tree.h"
#include "state_hash.h"
#include "state_proof_codec.h"

namespace probity::ledger {
namespace state_internal {

Bytes EncodeProofBody(const ProofBody& body) {
  const size_t count = body.siblings.size();
  Bytes out;
  out.reserve(1 + 64 + 2 + (count + 7) / 8 + 32 * count);
  if (body.has_leaf) {
    out.push_back(1);
    out.insert(out.end(), body.leaf_key_hash.begin(), body.leaf_key_hash.end());
    out.insert(out.end(), body.leaf_value_hash.begin(), body.leaf_value_hash.end());
  } else {
    out.push_back(0);
  }
  out.push_back(static_cast<uint8_t>(count));
  out.push_back(static_cast<uint8_t>(count >> 8));
  size_t bitmap_at = out.size();
  out.resize(out.size() + (count + 7) / 8, 0);
  for (size_t i = 0; i < count; ++i) {
    if (body.siblings[i] == EmptySubtreeHash()) {
      out[bitmap_at + i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    } else {
      out.insert(out.end(), body.siblings[i].begin(), body.siblings[i].end());
    }
  }
  return out;
}

Result<ProofBody> DecodeProofBody(ByteView b) {
  auto bad = [](const char* why) {
    return Status::InvalidArgument(std::string("malformed state proof: ") + why);
  };
  ProofBody body;
  size_t pos = 0;
  if (b.size() < 1) return bad("empty");
  uint8_t tag = b[pos++];
  if (tag == 1) {
    if (b.size() - pos < 64) return bad("truncated leaf");
    std::memcpy(body.leaf_key_hash.data(), b.data() + pos, 32);
    std::memcpy(body.leaf_value_hash.data(), b.data() + pos + 32, 32);
    pos += 64;
    body.has_leaf = true;
  } else if (tag != 0) {
    return bad("unknown terminal tag");
  }
  if (b.size() - pos < 2) return bad("truncated sibling count");
  size_t count = b[pos] | (static_cast<size_t>(b[pos + 1]) << 8);
  pos += 2;
  if (count > kMaxProofSiblings) return bad("more than 256 siblings");
  size_t bitmap_len = (count + 7) / 8;
  if (b.size() - pos < bitmap_len) return bad("truncated empty-sibling bitmap");
  const uint8_t* bitmap = b.data() + pos;
  pos += bitmap_len;
  if (count % 8 != 0 && (bitmap[bitmap_len - 1] >> (count % 8)) != 0) {
    return bad("unused bits set in the empty-sibling bitmap");
  }
  body.siblings.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if ((bitmap[i / 8] >> (i % 8)) & 1) {
      body.siblings[i] = EmptySubtreeHash();
      continue;
    }
    if (b.size() - pos < 32) return bad("truncated sibling hash");
    std::memcpy(body.siblings[i].data(), b.data() + pos, 32);
    pos += 32;
    if (body.siblings[i] == EmptySubtreeHash()) return bad("empty sibling written out in full");
  }
  if (pos != b.size()) return bad("trailing bytes");
  if (count > 0 && body.siblings[0] == EmptySubtreeHash()) {
    return bad("deepest sibling is empty (the subtree would have collapsed)");
  }
  return body;
}

}  // namespace state_internal

Hash256 EmptyStateRoot() { return state_internal::EmptySubtreeHash(); }

Status VerifyStateProof(const Hash256& root, ByteView key, const std::optional<Bytes>& value,
                        const StateProof& proof) {
  using namespace state_internal;
  PROBITY_ASSIGN_OR_RETURN(ProofBody body, DecodeProofBody(proof.encoded));
  const Hash256 kh = KeyHash(key);
  const size_t depth = body.siblings.size();
  Hash256 h;
  if (body.has_leaf && body.leaf_key_hash == kh) {
    if (!value) return Status::Unauthenticated("state proof shows the key present, not absent");
    if (body.leaf_value_hash != ValueHash(*value)) {
      return Status::Unauthenticated("state proof is for a different value of the key");
    }
    h = LeafHash(body.leaf_key_hash, body.leaf_value_hash);
  } else {
    if (value) return Status::Unauthenticated("state proof shows the key absent, not present");
    if (body.has_leaf) {
      // The other key's leaf must sit where the key's own path ends, or it proves nothing.
      if (CommonPrefixBits(body.leaf_key_hash, kh) < depth) {
        return Status::Unauthenticated("state proof's leaf is not on the key's path");
      }
      h = LeafHash(body.leaf_key_hash, body.leaf_value_hash);
    } else {
      h = EmptySubtreeHash();
    }
  }
  for (size_t i = 0; i < depth; ++i) {
    const Hash256& sibling = body.siblings[i];
    h = KeyBit(kh, static_cast<unsigned>(depth - 1 - i)) ? InternalHash(sibling, h)
                                                         : InternalHash(h, sibling);
  }
  if (h != root) return Status::Unauthenticated("state proof does not lead to the given root");
  return Status::OK();
}

}  // namespace probity::ledger
