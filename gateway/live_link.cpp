#include "gateway/live_link.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "messages/live.hpp"

namespace wtc::gateway {
namespace {

/// Joins and leaves are one-way messages: the hub confirms a join to the client itself, with
/// the "subscribed" message in the client's own stream.
class registry_endpoint final : public live_endpoint {
 public:
  explicit registry_endpoint(caf::actor_system& sys) : sys_(sys) {}

  bool available() const override { return static_cast<bool>(hub()); }

  bool join(live_client_ptr client, live_filter filter) override {
    auto h = hub();
    if (!h)
      return false;
    caf::anon_send(h, caf::join_atom::value, std::move(client), std::move(filter));
    return true;
  }

  void leave(live_client_ptr client) override {
    if (auto h = hub())
      caf::anon_send(h, caf::leave_atom::value, std::move(client));
  }

 private:
  live_hub_api hub() const { return lookup<live_hub_api>(sys_, names::live_hub); }

  caf::actor_system& sys_;
};

}  // namespace

std::shared_ptr<live_endpoint> registry_live_endpoint(caf::actor_system& sys) {
  return std::make_shared<registry_endpoint>(sys);
}

}  // namespace wtc::gateway
