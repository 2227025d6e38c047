// Framing of the fuzz inputs that have several parts: length-prefixed parts (encoding.h's
// u32le length || bytes), so that make_corpus writes what the targets read.
#pragma once

#include "probity/primitives/bytes.h"
#include "probity/primitives/encoding.h"

namespace probity::fuzz {

// Takes one length-prefixed part off the front of `in`; false when there is none.
inline bool TakePart(ByteView& in, ByteView* part) {
  ByteReader r(in);
  if (!r.LengthPrefixed(part).ok()) return false;
  in = in.subspan(r.position());
  return true;
}

inline void PutPart(Bytes& out, ByteView part) { ByteWriter(&out).LengthPrefixed(part); }

}  // namespace probity::fuzz
