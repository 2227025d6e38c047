// StreamEvents with reconnection and resumption (events.h).
#include "probity/client/events.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "probity/ledger/node_client.h"
#include "probity/node/v1/node.grpc.pb.h"

namespace probity::client {

EventFollower::EventFollower(std::string node_address, EventFilter filter, OnEvent on_event,
                             OnBreak on_break, BackoffPolicy backoff,
                             std::shared_ptr<grpc::ChannelCredentials> credentials)
    : address_(std::move(node_address)),
      filter_(std::move(filter)),
      on_event_(std::move(on_event)),
      on_break_(std::move(on_break)),
      backoff_(backoff),
      credentials_(std::move(credentials)),
      cursor_(filter_.resume_after) {}

EventFollower::~EventFollower() { Stop(); }

void EventFollower::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void EventFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (active_call_) active_call_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<node::v1::EventCursor> EventFollower::last_cursor() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cursor_;
}

void EventFollower::Loop() {
  grpc::ChannelArguments args;
  // Notice a dead connection even when no event is due for a long time.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC's own reconnection backoff (up to 120 s by default) would hold the channel down long
  // after the node is back; ours decides the pace.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(backoff_.initial.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(backoff_.initial.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(backoff_.max.count()));
  auto channel = grpc::CreateCustomChannel(
      address_, credentials_ ? credentials_ : grpc::InsecureChannelCredentials(), args);
  auto stub = node::v1::Node::NewStub(channel);
  auto wait = backoff_.initial;

  for (bool first = true;; first = false) {
    auto ctx = std::make_shared<grpc::ClientContext>();
    node::v1::StreamEventsRequest req;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      active_call_ = ctx;
      if (cursor_) {
        req.set_from_height(cursor_->height());
        *req.mutable_resume_after() = *cursor_;
      } else {
        req.set_from_height(filter_.from_height);
      }
    }
    if (!first) reconnects_.fetch_add(1);
    for (const auto& t : filter_.types) req.add_types(t);
    req.set_account(filter_.account);

    auto reader = stub->StreamEvents(ctx.get(), req);
    node::v1::EventRecord record;
    bool delivered = false;
    while (reader->Read(&record)) {
      connected_.store(true);
      if (!delivered) {
        delivered = true;
        wait = backoff_.initial;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) break;
      }
      on_event_(record);
      std::lock_guard<std::mutex> lock(mu_);
      cursor_ = record.cursor();
    }
    grpc::Status st = reader->Finish();
    connected_.store(false);
    std::unique_lock<std::mutex> lock(mu_);
    active_call_.reset();
    if (stopping_) return;
    if (on_break_) {
      Status s = st.ok() ? Status::Unavailable("the node closed the event stream")
                         : ledger::FromGrpc(st, address_);
      lock.unlock();
      on_break_(s);
      lock.lock();
      if (stopping_) return;
    }
    cv_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) return;
    wait = std::min(wait * 2, backoff_.max);
  }
}

}  // namespace probity::client
