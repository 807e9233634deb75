#include "actors/node_registry.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/mailbox_depth.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/live.hpp"

namespace wtc {
namespace {

using self_ptr = node_registry_actor::stateful_pointer<node_registry_state>;
using entry = node_registry_state::entry;

constexpr auto fleet_timeout = std::chrono::seconds(10);

/// A registered actor as a dynamically typed handle: the RTU fleet and the alarm manager take
/// messages beyond their typed API (from their own kind of sender), which this one sends too.
caf::actor dynamic(self_ptr self, caf::atom_value name) {
  return caf::actor_cast<caf::actor>(self->system().registry().get(name));
}

template <class... Ts>
void tell(self_ptr self, caf::atom_value name, Ts&&... xs) {
  if (auto target = dynamic(self, name))
    caf::anon_send(target, std::forward<Ts>(xs)...);
}

void announce(self_ptr self, const node_info& info) {
  nlohmann::json data{{"name", info.name},
                      {"state", to_string(info.state)},
                      {"address", info.address},
                      {"rtus", info.rtus},
                      {"last_seen", core::format_iso8601(info.last_seen)},
                      {"latency_ms", info.latency_ms},
                      {"backlog", info.backlog},
                      {"reason", info.reason}};
  live_message msg;
  msg.type = "node_state";
  msg.key = "node|" + info.name;
  msg.data = data.dump();
  tell(self, names::live_hub, msg);
}

/// The events that make the central node see a node's RTUs as failed (link lost) or as they are
/// on the node (link back): the alarm manager raises or clears their communication alarms, the
/// live stream and the RTU fleet's read model follow.
void publish_rtu_state(self_ptr self, const rtu_event& event) {
  tell(self, names::alarms, event);
  tell(self, names::live_hub, event);
  tell(self, names::rtus, event);
}

/// Sends the node the PID loops that run on it (after its RTUs: the loops use them).
void send_loops(self_ptr self, const std::string& node) {
  auto loops = lookup<pid_api>(self->system(), names::pid);
  if (!loops)
    return;  // the loop manager sends them when it starts
  self->request(loops, fleet_timeout, caf::get_atom::value, pid_atom::value, node_atom::value, node)
      .then(
          [self, node](std::vector<pid_loop_record>& placed) {
            auto found = self->state.nodes.find(node);
            if (found != self->state.nodes.end() && found->second.agent)
              self->send(found->second.agent, assign_atom::value, std::move(placed));
          },
          [node](caf::error& err) {
            spdlog::warn("nodes: cannot read the PID loops of '{}': {}", node, to_string(err));
          });
}

/// Sends the node the RTUs placed on it, as the RTU fleet has them now, then its PID loops.
void send_assignment(self_ptr self, const std::string& node) {
  auto fleet = lookup<rtus_api>(self->system(), names::rtus);
  if (!fleet)
    return;
  self->request(fleet, fleet_timeout, caf::get_atom::value, rtus_atom::value)
      .then(
          [self, node](std::vector<rtu_record>& rtus) {
            auto found = self->state.nodes.find(node);
            if (found == self->state.nodes.end())
              return;
            std::vector<rtu_record> placed;
            for (auto& rtu : rtus)
              if (rtu.node == node)
                placed.push_back(std::move(rtu));
            auto& e = found->second;
            e.info.rtus.clear();
            for (const auto& rtu : placed)
              e.info.rtus.push_back(rtu.station_name);
            if (!e.agent)
              return;
            self->send(e.agent, assign_atom::value, std::move(placed));
            send_loops(self, node);
          },
          [node](caf::error& err) {
            spdlog::warn("nodes: cannot read the RTUs placed on '{}': {}", node, to_string(err));
          });
}

/// The last values of a node's RTUs, marked with `q`, to the live stream and the alarms (not to
/// the historian: it records only what the field produced, and the node backfills the gap).
void age_values(self_ptr self, entry& e, quality q) {
  const auto now = core::now_ms();
  for (auto& [station, batch] : e.last_values) {
    for (auto& s : batch.samples) {
      s.q = q;
      s.changed = true;
      s.timestamp = now;
    }
    tell(self, names::live_hub, batch);
    tell(self, names::alarms, batch);
  }
}

void link_lost(self_ptr self, entry& e, const std::string& reason) {
  auto& info = e.info;
  if (info.state == node_state::offline)
    return;
  spdlog::error("node '{}' ({}): link lost: {}", info.name, info.address, reason);
  info.state = node_state::offline;
  info.reason = reason;
  tell(self, names::alarms, node_atom::value, info.name, false, reason);
  e.agent = nullptr;
  e.fleet = nullptr;
  ++e.generation;
  tell(self, names::rtus, node_atom::value, info.name, rtus_api{});
  const auto now = core::now_ms();
  for (const auto& station : info.rtus) {
    rtu_event event;
    event.station = station;
    auto last = e.last_events.find(station);
    event.old_state = last != e.last_events.end() ? last->second.new_state : rtu_state::running;
    event.new_state = rtu_state::error;
    event.reason = "node '" + info.name + "' unreachable: " + reason;
    event.timestamp = now;
    publish_rtu_state(self, event);
  }
  age_values(self, e, quality::uncertain);
  self->delayed_send(self, self->state.config.bad_after, node_age_atom::value, info.name,
                     e.generation);
  announce(self, info);
}

/// After a (re)join: the RTUs' states as the node has them, so that their communication alarms
/// clear and the read model is current.
void restore_rtu_states(self_ptr self, const std::string& node) {
  auto found = self->state.nodes.find(node);
  if (found == self->state.nodes.end() || !found->second.fleet)
    return;
  self->request(found->second.fleet, fleet_timeout, caf::get_atom::value, rtus_atom::value)
      .then(
          [self, node](std::vector<rtu_record>& rtus) {
            auto e = self->state.nodes.find(node);
            if (e == self->state.nodes.end())
              return;
            for (const auto& rtu : rtus) {
              rtu_event event;
              event.rtu_id = rtu.id;
              event.station = rtu.station_name;
              event.ip_address = rtu.ip_address;
              event.old_state = rtu_state::error;
              event.new_state = rtu.state;
              event.reason = "node '" + node + "' connected";
              event.timestamp = core::now_ms();
              e->second.last_events[rtu.station_name] = event;
              publish_rtu_state(self, event);
            }
          },
          [node](caf::error& err) {
            spdlog::warn("nodes: cannot read the RTU states of '{}': {}", node, to_string(err));
          });
}

void take_live(self_ptr self, entry& e, node_packet& packet) {
  auto bus = lookup<field_bus_api>(self->system(), names::field_bus);
  for (auto& event : packet.events) {
    e.last_events[event.station] = event;
    tell(self, names::rtus, event);
    if (bus)
      self->send(bus, event);
  }
  for (auto& batch : packet.samples) {
    e.last_values[batch.station] = batch;
    if (bus)
      self->send(bus, std::move(batch));
  }
}

/// Data that waited in the node's buffer: the historian backfills it; the live stream and the
/// alarms have moved on. Its state changes still reach the read model (which keeps the newest).
void take_backfill(self_ptr self, node_packet& packet) {
  for (auto& event : packet.events)
    tell(self, names::rtus, event);
  auto historian = lookup<historian_api>(self->system(), names::historian);
  if (!historian)
    return;
  for (auto& batch : packet.samples)
    self->send(historian, std::move(batch));
}

/// The node's entry if it has joined and the message being handled came from its peer; else
/// null (a node speaks only for itself).
entry* from_joined(self_ptr self, const std::string& node) {
  auto found = self->state.nodes.find(node);
  const auto peer = self->current_sender() ? self->current_sender()->node() : caf::node_id{};
  if (found == self->state.nodes.end() || !found->second.agent || found->second.peer != peer)
    return nullptr;
  return &found->second;
}

void heartbeat(self_ptr self) {
  const auto sent = core::now_ms();
  for (auto& [name, e] : self->state.nodes) {
    if (!e.agent)
      continue;
    self->request(e.agent, self->state.config.heartbeat_interval * 2, heartbeat_atom::value, sent)
        .then(
            [self, node = name](timestamp_ms echoed, const edge_status& status) {
              auto found = self->state.nodes.find(node);
              if (found == self->state.nodes.end())
                return;
              auto& info = found->second.info;
              const auto now = core::now_ms();
              info.latency_ms = static_cast<double>(now - echoed);
              info.last_seen = now;
              info.backlog = status.backlog;
              info.dropped = status.dropped;
            },
            // A late answer says little; a lost link is noticed by the middleman's own heartbeat.
            [](caf::error&) {});
  }
  self->delayed_send(self, self->state.config.heartbeat_interval, node_tick_atom::value);
}

}  // namespace

node_registry_actor::behavior_type node_registry(self_ptr self, node_registry_config config) {
  self->state.config = std::move(config);
  self->set_down_handler([self](caf::down_msg& down) {
    for (auto& [name, e] : self->state.nodes)
      if (e.agent && e.agent.address() == down.source)
        link_lost(self, e, to_string(down.reason));
  });
  // The nodes RTUs are placed on, known before any of them joins (GET /api/v1/nodes lists them).
  if (auto fleet = lookup<rtus_api>(self->system(), names::rtus))
    self->request(fleet, fleet_timeout, caf::get_atom::value, rtus_atom::value)
        .then(
            [self](const std::vector<rtu_record>& rtus) {
              for (const auto& rtu : rtus) {
                if (rtu.node == central_node)
                  continue;
                auto& e = self->state.nodes[rtu.node];
                if (e.info.name.empty()) {
                  e.info.name = rtu.node;
                  e.info.reason = "not connected since wtcd started";
                }
                if (std::find(e.info.rtus.begin(), e.info.rtus.end(), rtu.station_name) ==
                    e.info.rtus.end())
                  e.info.rtus.push_back(rtu.station_name);
              }
            },
            [](caf::error& err) {
              spdlog::warn("nodes: cannot read the RTU placements: {}", to_string(err));
            });
  self->send(self, node_tick_atom::value);
  self->delayed_send(self, self->state.config.join_grace, node_grace_atom::value);

  return {
      [self](join_atom, node_hello& hello, edge_agent_api& agent,
             rtus_api& fleet) -> caf::result<node_ack> {
        const auto peer = self->current_sender() ? self->current_sender()->node() : caf::node_id{};
        if (hello.name.empty() || hello.name.size() > 32 || hello.name == central_node)
          return make_error(errc::bad_request, "a node must have a name other than 'central'");
        if (!agent || !fleet)
          return make_error(errc::bad_request, "a node joins with its agent and its RTU fleet");
        auto& e = self->state.nodes[hello.name];
        if (e.agent && e.peer != peer)
          return make_error(errc::conflict, "node '" + hello.name + "' is already connected from " +
                                                e.info.address);
        if (e.agent)
          self->demonitor(e.agent.address());
        e.info.name = hello.name;
        e.info.version = hello.version;
        e.info.state = node_state::online;
        e.info.reason.clear();
        e.info.joined_at = e.info.last_seen = core::now_ms();
        e.info.backlog = hello.backlog;
        e.agent = std::move(agent);
        e.fleet = std::move(fleet);
        e.peer = peer;
        e.last_seq = std::max(e.last_seq, hello.acked_seq);
        ++e.generation;
        self->monitor(e.agent);
        self->request(self->state.config.middleman, fleet_timeout, caf::get_atom::value, peer)
            .then(
                [self, name = hello.name](const caf::node_id&, const std::string& host,
                                          std::uint16_t port) {
                  auto found = self->state.nodes.find(name);
                  if (found == self->state.nodes.end())
                    return;
                  found->second.info.address = host + ":" + std::to_string(port);
                  spdlog::info("node '{}' joined from {} ({} entries waiting in its buffer)", name,
                               found->second.info.address, found->second.info.backlog);
                  announce(self, found->second.info);
                },
                [](caf::error&) {});
        tell(self, names::alarms, node_atom::value, hello.name, true, std::string());
        tell(self, names::rtus, node_atom::value, hello.name, e.fleet);
        send_assignment(self, hello.name);
        restore_rtu_states(self, hello.name);
        return node_ack{e.last_seq};
      },
      [self](forward_atom, const std::string& node,
             std::vector<node_packet>& packets) -> caf::result<node_ack> {
        auto* joined = from_joined(self, node);
        if (!joined)
          return make_error(errc::forbidden, "node '" + node + "' has not joined");
        auto& e = *joined;
        std::uint64_t highest = 0;
        for (auto& packet : packets) {
          highest = std::max(highest, packet.seq);
          for (const auto& batch : packet.samples)
            e.info.samples += batch.samples.size();
          if (packet.live)
            take_live(self, e, packet);
          else
            take_backfill(self, packet);
        }
        e.last_seq = std::max(e.last_seq, highest);
        e.info.received += packets.size();
        e.info.last_seen = core::now_ms();
        return node_ack{highest};
      },
      [self](pid_atom, const std::string& node, std::vector<pid_loop_view>& reports) {
        if (from_joined(self, node))
          tell(self, names::pid, pid_atom::value, node, std::move(reports));
      },
      [self](caf::get_atom, nodes_atom) {
        std::vector<node_info> out;
        for (const auto& [name, e] : self->state.nodes)
          out.push_back(e.info);
        return out;
      },
      [self](caf::get_atom, node_atom, const std::string& name) -> caf::result<node_info> {
        auto found = self->state.nodes.find(name);
        if (found == self->state.nodes.end())
          return make_error(errc::not_found, "no node named '" + name + "'");
        return found->second.info;
      },
      [self](assign_atom, const std::string& node) {
        auto& e = self->state.nodes[node];
        if (e.info.name.empty()) {
          e.info.name = node;
          e.info.reason = "not connected since wtcd started";
        }
        send_assignment(self, node);
      },
      [self](stats_atom) -> actor_stats {
        return {node_registry_state::name, mailbox_depth(self), 0};
      },
      [self](node_tick_atom) { heartbeat(self); },
      // A node with RTUs placed on it that has not joined since wtcd started is as lost as one
      // whose link broke (an alarm restored from before the restart stays as it is).
      [self](node_grace_atom) {
        for (const auto& [name, e] : self->state.nodes)
          if (e.info.state == node_state::offline && e.info.joined_at == 0)
            tell(self, names::alarms, node_atom::value, name, false, e.info.reason);
      },
      [self](node_age_atom, const std::string& node, std::uint64_t generation) {
        auto found = self->state.nodes.find(node);
        if (found == self->state.nodes.end() || found->second.generation != generation ||
            found->second.info.state != node_state::offline)
          return;
        age_values(self, found->second, quality::bad);
      },
  };
}

}  // namespace wtc
