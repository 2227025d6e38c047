// A durable subscription to the node's events: StreamEvents on a background thread that
// reconnects with exponential backoff after any break and resumes right after the last event
// it delivered, so a consumer sees every matching event exactly once and in chain order, even
// across node restarts and network cuts (the node keeps its event index).
//
// `credentials`: the node connection's (NodeClient::credentials()); null for plaintext.
//
// Thread-safety: the callbacks run on the follower's own thread, one at a time. Start and Stop
// are called by the owner's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "probity/node/v1/node.pb.h"
#include "probity/primitives/status.h"

namespace grpc {
class ClientContext;
class ChannelCredentials;
}  // namespace grpc

namespace probity::client {

struct EventFilter {
  uint64_t from_height = 1;        // where to start when no cursor is given (0 = live only)
  std::vector<std::string> types;  // empty = every type
  std::string account;             // bech32m; empty = every account
  // Resume after this event (a consumer that persisted its position); overrides from_height.
  std::optional<node::v1::EventCursor> resume_after;
};

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
};

class EventFollower {
 public:
  using OnEvent = std::function<void(const node::v1::EventRecord&)>;
  // Told of every break (the stream's status) before the follower waits and reconnects.
  using OnBreak = std::function<void(const Status&)>;

  EventFollower(std::string node_address, EventFilter filter, OnEvent on_event,
                OnBreak on_break = {}, BackoffPolicy backoff = {},
                std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  ~EventFollower();  // Stop()
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;

  void Start();
  // Cancels the stream and joins the thread; no callback runs after it returns.
  void Stop();

  bool connected() const { return connected_.load(); }
  uint64_t reconnects() const { return reconnects_.load(); }
  // The cursor of the last delivered event.
  std::optional<node::v1::EventCursor> last_cursor() const;

 private:
  void Loop();

  const std::string address_;
  const EventFilter filter_;
  const OnEvent on_event_;
  const OnBreak on_break_;
  const BackoffPolicy backoff_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;  // null: plaintext

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                             // guarded by mu_
  std::optional<node::v1::EventCursor> cursor_;       // guarded by mu_
  std::shared_ptr<grpc::ClientContext> active_call_;  // the running call, guarded by mu_
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::thread thread_;
};

}  // namespace probity::client
