// The verifier daemon's durable memory: the cursor, pending jobs and attestations survive a
// reopening, and a round's attestation does not answer for the next round of the same job.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "../src/verifier_state.h"

using namespace probity;
using namespace probity::verifierd;

namespace {

struct Dir {
  std::string path;
  Dir() {
    path = (std::filesystem::temp_directory_path() /
            ("verifierd-state-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
  }
  ~Dir() { std::filesystem::remove_all(path); }
  static inline int counter = 0;
};

Hash256 H(uint8_t b) {
  Hash256 h{};
  h.fill(b);
  return h;
}

}  // namespace

TEST_CASE("verifier state: cursor, pending jobs and attestations survive a reopening") {
  Dir dir;
  {
    auto s = VerifierState::Open(dir.path);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    CHECK_FALSE((*s)->Cursor().value().has_value());
    CHECK((*s)->Pending().value().empty());
    node::v1::EventCursor c;
    c.set_height(17);
    c.set_slot(2);
    c.set_event_index(5);
    REQUIRE((*s)->TakeEvent(c, H(1)).ok());
    c.set_height(18);
    REQUIRE((*s)->TakeEvent(c, std::nullopt).ok());
    REQUIRE((*s)->TakeEvent(c, H(2)).ok());
    REQUIRE((*s)->AddPending(H(3)).ok());
    REQUIRE((*s)->Finish(H(3)).ok());
    REQUIRE((*s)->RecordAttestation(H(2), 400, {H(9), 333}).ok());
  }
  auto s = VerifierState::Open(dir.path);
  REQUIRE(s.ok());
  auto c = (*s)->Cursor().value();
  REQUIRE(c.has_value());
  CHECK(c->height() == 18);
  CHECK(c->slot() == 2);
  CHECK(c->event_index() == 5);
  CHECK((*s)->Pending().value() == std::vector<Hash256>{H(1)});  // 2 attested, 3 finished
  auto a = (*s)->Attested(H(2), 400).value();
  REQUIRE(a.has_value());
  CHECK(a->tx_id == H(9));
  CHECK(a->height == 333);
  // The same job sampled again (a new attest deadline) is a new round.
  CHECK_FALSE((*s)->Attested(H(2), 401).value().has_value());
  CHECK_FALSE((*s)->Attested(H(1), 400).value().has_value());
}

TEST_CASE("verifier state: a path that cannot hold a database is an error, not a crash") {
  Dir dir;
  std::filesystem::create_directories(dir.path);
  std::string file = dir.path + "/plain-file";
  {
    FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f);
    std::fputs("x", f);
    std::fclose(f);
  }
  auto s = VerifierState::Open(file + "/db");
  CHECK(s.status().code() == Code::kIOError);
}
