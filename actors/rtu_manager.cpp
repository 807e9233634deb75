#include "actors/rtu_manager.hpp"

#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/storage_access.hpp"
#include "core/rtu_link.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<rtu_manager_state>*;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;

constexpr auto storage_timeout = std::chrono::seconds(15);
constexpr auto respawn_delay = std::chrono::seconds(1);

caf::error no_such_rtu(const std::string& station) {
  return make_error(errc::not_found, "no RTU named '" + station + "'");
}

bool known_profile(self_ptr self, const std::string& name) {
  const auto& knows = self->state.actor_config.knows_profile;
  return !knows || knows(name);
}

caf::error unknown_profile(const std::string& name) {
  return make_error(errc::bad_request, "no register-map profile named '" + name + "'");
}

bool is_local(self_ptr self, const rtu_record& rtu) {
  return rtu.node == self->state.actor_config.this_node;
}

/// Adds an RTU to the fleet; its rtu_actor runs here only if it is placed on this node.
void spawn_member(self_ptr self, const rtu_record& rtu) {
  auto& member = self->state.rtus[rtu.station_name];
  member.record = rtu;
  if (!is_local(self, rtu))
    return;
  // Linked: an RTU's actor does not outlive the fleet (a stopping wtcd waits for every actor).
  member.handle = self->spawn<caf::linked>(rtu_actor, rtu, self->state.actor_config,
                                           caf::actor_cast<caf::actor>(self));
}

void stop_member_actor(self_ptr self, rtu_manager_state::member& member) {
  if (!member.handle)
    return;
  self->unlink_from(member.handle);
  self->send_exit(member.handle, caf::exit_reason::user_shutdown);
  member.handle = nullptr;
}

/// Tells the node registry (on the central node only) that the RTUs placed on `node` changed.
void reassigned(self_ptr self, const std::string& node) {
  if (node == central_node)
    return;
  if (auto registry = lookup<node_registry_api>(self->system(), names::nodes))
    self->send(registry, assign_atom::value, node);
}

caf::error node_unreachable(const std::string& station, const std::string& node) {
  return make_error(errc::unavailable,
                    "RTU '" + station + "' is on node '" + node + "', which is not connected");
}

void forget_tags(self_ptr self, rtu_manager_state::member& member) {
  for (const auto& tag : member.tags)
    self->state.station_of_tag.erase(tag);
  member.tags.clear();
}

/// Answers through the RTU's own actor, or 404.
template <class... Ts>
caf::response_promise ask_rtu(self_ptr self, const std::string& station, Ts&&... xs) {
  auto promise = self->make_response_promise();
  auto found = self->state.rtus.find(station);
  if (found == self->state.rtus.end())
    promise.deliver(no_such_rtu(station));
  else if (found->second.handle)
    promise.delegate(found->second.handle, std::forward<Ts>(xs)...);
  else
    promise.deliver(make_error(errc::unavailable, "RTU '" + station + "' is restarting"));
  return promise;
}

/// For an RTU placed on another node: the answer of that node's fleet to `xs` (the rtus_api
/// request as this fleet got it), or an error while the node is offline. Nothing for an RTU
/// polled here.
template <class... Ts>
std::optional<caf::response_promise> ask_node(self_ptr self, const std::string& station,
                                              Ts&&... xs) {
  auto found = self->state.rtus.find(station);
  if (found == self->state.rtus.end() || is_local(self, found->second.record))
    return std::nullopt;
  auto promise = self->make_response_promise();
  const auto& node = found->second.record.node;
  auto fleet = self->state.node_fleets.find(node);
  if (fleet == self->state.node_fleets.end())
    promise.deliver(node_unreachable(station, node));
  else
    promise.delegate(fleet->second, std::forward<Ts>(xs)...);
  return promise;
}

caf::error no_such_tag(const std::string& tag) {
  return make_error(errc::not_found, "no sensor tagged '" + tag + "'");
}

/// A request by sensor tag for an RTU polled on another node (this fleet learns the tags of its
/// own RTUs only): asked of each online node's fleet in turn, until one knows the tag. 404 when
/// none does; a node that cannot answer is skipped, and named if nobody knows the tag.
template <class Result, class Ask, class OnFound>
void ask_nodes_for_tag(self_ptr self, caf::response_promise promise, std::vector<rtus_api> fleets,
                       std::string tag, Ask ask, OnFound on_found, std::string unanswered = {}) {
  if (fleets.empty()) {
    promise.deliver(unanswered.empty() ? no_such_tag(tag)
                                       : make_error(errc::unavailable,
                                                    "no sensor tagged '" + tag +
                                                        "' answered; not asked: " + unanswered));
    return;
  }
  auto fleet = fleets.back();
  fleets.pop_back();
  ask(fleet).then(
      [promise, on_found](Result& found) mutable {
        on_found(found);
        promise.deliver(std::move(found));
      },
      [self, promise, fleets, tag, ask, on_found, unanswered](caf::error& err) mutable {
        const auto why = view(err);
        if (why.code != errc::not_found) {
          spdlog::warn("rtus: a node could not look up sensor '{}': {}", tag, why.detail);
          unanswered += (unanswered.empty() ? "" : "; ") + why.detail;
        }
        ask_nodes_for_tag<Result>(self, promise, std::move(fleets), std::move(tag), std::move(ask),
                                  std::move(on_found), std::move(unanswered));
      });
}

/// The fleets of the online nodes, to ask for a tag no RTU polled here has.
std::vector<rtus_api> online_fleets(self_ptr self) {
  std::vector<rtus_api> fleets;
  for (const auto& [node, fleet] : self->state.node_fleets)
    fleets.push_back(fleet);
  return fleets;
}

/// Connect and disconnect: the rtu_actor changes state, then the choice is stored (so that the
/// RTU comes back the same way after a restart) with its audit row.
caf::response_promise switch_link(self_ptr self, const std::string& station, bool connect,
                                  const request_origin& origin) {
  auto promise = self->make_response_promise();
  auto found = self->state.rtus.find(station);
  if (found == self->state.rtus.end()) {
    promise.deliver(no_such_rtu(station));
    return promise;
  }
  auto on_error = [promise](caf::error& err) mutable { promise.deliver(std::move(err)); };
  auto store = [self, promise, connect, origin, on_error](rtu_record& rtu) mutable {
    auto storage = storage_of(self);
    if (!storage) {
      promise.deliver(storage_restarting());
      return;
    }
    self->request(
            storage, storage_timeout, caf::connect_atom::value, rtu.id, connect,
            audit_of(origin, connect ? "rtu_connect" : "rtu_disconnect", "rtu", rtu.station_name))
        .then(
            [self, promise, rtu, connect](caf::ok_atom) mutable {
              if (auto member = self->state.rtus.find(rtu.station_name);
                  member != self->state.rtus.end())
                member->second.record.auto_connect = connect;
              rtu.auto_connect = connect;
              reassigned(self, rtu.node);  // an edge node carries out the stored choice
              promise.deliver(rtu);
            },
            on_error);
  };
  if (!is_local(self, found->second.record)) {
    // The choice is stored here, where the configuration lives, and carried out by the node
    // with the rest of its placement (the node connects or disconnects its rtu_actor, also when
    // it has only just been told of the RTU). The answer is the row as known now; the state
    // changes arrive as the node forwards them.
    const auto& node = found->second.record.node;
    if (self->state.node_fleets.count(node) == 0)
      promise.deliver(node_unreachable(station, node));
    else
      store(found->second.record);
    return promise;
  }
  if (!found->second.handle) {
    promise.deliver(make_error(errc::unavailable, "RTU '" + station + "' is restarting"));
    return promise;
  }
  if (connect)
    self->request(found->second.handle, caf::infinite, caf::connect_atom::value, origin)
        .then(store, on_error);
  else
    self->request(found->second.handle, caf::infinite, disconnect_atom::value, origin)
        .then(store, on_error);
  return promise;
}

/// A command to an RTU on an edge node: carried out there (and audited in the edge's store), and
/// audited here too, where the operators' audit log is read.
caf::response_promise command_on_node(self_ptr self, const rtu_record& rtu,
                                      const actuator_command& command,
                                      const request_origin& origin) {
  auto promise = self->make_response_promise();
  auto fleet = self->state.node_fleets.find(rtu.node);
  if (fleet == self->state.node_fleets.end()) {
    promise.deliver(node_unreachable(rtu.station_name, rtu.node));
    return promise;
  }
  nlohmann::json details{{"station", rtu.station_name},
                         {"node", rtu.node},
                         {"slot", command.slot},
                         {"command", to_string(command.command)},
                         {"pwm_duty", command.pwm_duty}};
  const auto resource = rtu.station_name + "/" + std::to_string(command.slot);
  auto audit = [self, origin, resource, details](const char* action, nlohmann::json more) {
    if (origin.control_loop)
      return;
    more.update(details);
    // No answer wanted: the command's outcome does not wait for its audit row.
    if (auto storage = storage_of(self))
      caf::anon_send(storage, audit_atom::value,
                     audit_of(origin, action, "actuator", resource, more.dump()));
  };
  self->request(fleet->second, caf::infinite, command_atom::value, rtu.station_name, command,
                origin)
      .then(
          [promise, audit](actuator_state& state) mutable {
            audit("actuator_command", nlohmann::json::object());
            promise.deliver(std::move(state));
          },
          [promise, audit](caf::error& err) mutable {
            if (view(err).code == errc::forbidden)
              audit("actuator_command_refused", {{"refused", view(err).detail}});
            promise.deliver(std::move(err));
          });
  return promise;
}

nlohmann::json describe_update(const rtu_update& u) {
  nlohmann::json changed = nlohmann::json::object();
  if (u.set_ip_address)
    changed["ip_address"] = u.ip_address;
  if (u.set_port)
    changed["port"] = u.port;
  if (u.set_unit_id)
    changed["unit_id"] = u.unit_id;
  if (u.set_profile)
    changed["profile"] = u.profile;
  if (u.set_vendor_id)
    changed["vendor_id"] = u.vendor_id;
  if (u.set_device_id)
    changed["device_id"] = u.device_id;
  if (u.set_slot_count)
    changed["slot_count"] = u.slot_count;
  if (u.set_cycle_time_ms)
    changed["cycle_time_ms"] = u.cycle_time_ms;
  if (u.set_node)
    changed["node"] = u.node;
  return changed;
}

}  // namespace

caf::behavior rtu_manager(caf::stateful_actor<rtu_manager_state>* self, rtu_actor_config config) {
  self->state.actor_config = std::move(config);
  auto initial_storage = storage_of(self);
  if (!initial_storage)
    throw std::runtime_error("rtu manager: storage is not running");
  // Nothing is answered before every RTU has its actor again.
  self->request(initial_storage, storage_timeout, caf::get_atom::value, rtus_atom::value)
      .await(
          [self](std::vector<rtu_record>& rtus) {
            for (const auto& rtu : rtus)
              spawn_member(self, rtu);
            spdlog::info("rtus: {} configured", rtus.size());
          },
          [self](caf::error& err) {
            spdlog::critical("rtus: cannot load the RTU list: {}", self->system().render(err));
            self->quit(err);
          });

  self->set_default_handler(caf::print_and_drop);
  // The rtu_actors are linked: one that stops is started again after a delay; any other exit
  // message (the supervisor stopping wtcd) ends the fleet, and its rtu_actors with it.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [station, member] : self->state.rtus) {
      if (!member.handle || member.handle.address() != msg.source)
        continue;
      spdlog::error("rtu {}: actor stopped ({}); restarting in {} ms", station,
                    self->system().render(msg.reason),
                    std::chrono::milliseconds(respawn_delay).count());
      member.handle = nullptr;
      self->delayed_send(self, respawn_delay, respawn_atom::value, station);
      return;
    }
    self->quit(msg.reason);
  });

  return {
      [self](respawn_atom, const std::string& station) {
        auto found = self->state.rtus.find(station);
        if (found == self->state.rtus.end() || found->second.handle)
          return;
        ++self->state.restarts;
        spawn_member(self, found->second.record);
      },
      // From the rtu_actors: their row after a transition, and their tags after discovery.
      [self](caf::update_atom, const rtu_record& rtu) {
        if (auto found = self->state.rtus.find(rtu.station_name); found != self->state.rtus.end())
          found->second.record = rtu;
      },
      [self](sensors_atom, const std::string& station, std::vector<std::string>& tags) {
        auto found = self->state.rtus.find(station);
        if (found == self->state.rtus.end())
          return;
        forget_tags(self, found->second);
        for (const auto& tag : tags)
          self->state.station_of_tag[tag] = station;
        found->second.tags = std::move(tags);
      },
      // From the node registry: an edge node's fleet (null: the node went offline), and the
      // state changes of the RTUs placed there.
      [self](node_atom, const std::string& node, const rtus_api& fleet) {
        if (fleet)
          self->state.node_fleets[node] = fleet;
        else
          self->state.node_fleets.erase(node);
      },
      [self](const rtu_event& event) {
        auto found = self->state.rtus.find(event.station);
        if (found == self->state.rtus.end() || is_local(self, found->second.record))
          return;
        auto& record = found->second.record;
        if (event.timestamp < record.state_since)
          return;  // backfilled: the read model already has a newer state
        record.state = event.new_state;
        record.state_since = event.timestamp;
        record.transition_reason = event.reason;
      },
      // --- rtus_api ---
      [self](caf::get_atom, rtus_atom) {
        std::vector<rtu_record> out;
        out.reserve(self->state.rtus.size());
        for (const auto& [station, member] : self->state.rtus)
          out.push_back(member.record);
        return out;
      },
      [self](caf::get_atom, rtu_atom, const std::string& station) -> caf::result<rtu_record> {
        auto found = self->state.rtus.find(station);
        if (found == self->state.rtus.end())
          return no_such_rtu(station);
        return found->second.record;
      },
      [self](create_atom, rtu_record rtu, const request_origin& origin) {
        auto promise = self->make_response_promise();
        auto storage = storage_of(self);
        if (!storage) {
          promise.deliver(storage_restarting());
          return promise;
        }
        if (!known_profile(self, rtu.profile)) {
          promise.deliver(unknown_profile(rtu.profile));
          return promise;
        }
        const auto now = core::now_ms();
        rtu.id = 0;
        rtu.state = rtu_state::offline;
        rtu.state_since = now;
        rtu.transition_reason = "created";
        rtu.auto_connect = false;
        rtu.created_at = now;
        rtu.updated_at = now;
        nlohmann::json details{{"ip_address", rtu.ip_address},
                               {"port", rtu.port},
                               {"unit_id", rtu.unit_id},
                               {"profile", rtu.profile}};
        auto audit = audit_of(origin, "rtu_create", "rtu", rtu.station_name, details.dump());
        self->request(storage, storage_timeout, create_atom::value, std::move(rtu),
                      std::move(audit))
            .then(
                [self, promise](rtu_record& stored) mutable {
                  spawn_member(self, stored);
                  reassigned(self, stored.node);
                  promise.deliver(stored);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::update_atom, const std::string& station, const rtu_update& update,
             const request_origin& origin) {
        auto promise = self->make_response_promise();
        auto found = self->state.rtus.find(station);
        auto storage = storage_of(self);
        if (found == self->state.rtus.end() || !storage) {
          promise.deliver(found == self->state.rtus.end() ? no_such_rtu(station)
                                                          : storage_restarting());
          return promise;
        }
        auto audit = audit_of(origin, "rtu_update", "rtu", station, describe_update(update).dump());
        self->request(storage, storage_timeout, caf::update_atom::value, found->second.record.id,
                      update, std::move(audit))
            .then(
                [self, promise, station](rtu_record& stored) mutable {
                  auto member = self->state.rtus.find(station);
                  if (member == self->state.rtus.end()) {
                    promise.deliver(no_such_rtu(station));
                    return;
                  }
                  // State belongs to the rtu_actor: keep the read model's.
                  const auto& live = member->second.record;
                  stored.state = live.state;
                  stored.state_since = live.state_since;
                  stored.transition_reason = live.transition_reason;
                  stored.last_error = live.last_error;
                  const auto old_node = member->second.record.node;
                  member->second.record = stored;
                  if (old_node != stored.node) {
                    // Moved: its rtu_actor stops where it ran and starts where it is placed.
                    stop_member_actor(self, member->second);
                    forget_tags(self, member->second);
                    spawn_member(self, stored);
                    reassigned(self, old_node);
                  } else if (member->second.handle) {
                    self->send(member->second.handle, caf::update_atom::value, stored);
                  }
                  reassigned(self, stored.node);
                  promise.deliver(stored);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::delete_atom, const std::string& station, const request_origin& origin) {
        auto promise = self->make_response_promise();
        auto found = self->state.rtus.find(station);
        if (found == self->state.rtus.end()) {
          promise.deliver(no_such_rtu(station));
          return promise;
        }
        const auto current = found->second.record.state;
        if (!core::can_delete(current)) {
          promise.deliver(make_error(errc::conflict, "RTU '" + station + "' is " +
                                                         std::string(to_string(current)) +
                                                         ": disconnect it before deleting"));
          return promise;
        }
        auto storage = storage_of(self);
        if (!storage) {
          promise.deliver(storage_restarting());
          return promise;
        }
        self->request(storage, storage_timeout, caf::delete_atom::value, rtu_atom::value,
                      found->second.record.id, audit_of(origin, "rtu_delete", "rtu", station))
            .then(
                [self, promise, station](caf::ok_atom) mutable {
                  auto member = self->state.rtus.find(station);
                  if (member != self->state.rtus.end()) {
                    forget_tags(self, member->second);
                    stop_member_actor(self, member->second);
                    const auto node = member->second.record.node;
                    self->state.rtus.erase(member);
                    reassigned(self, node);
                  }
                  promise.deliver(caf::ok_atom::value);
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
      [self](caf::connect_atom, const std::string& station, const request_origin& origin) {
        return switch_link(self, station, true, origin);
      },
      [self](disconnect_atom, const std::string& station, const request_origin& origin) {
        return switch_link(self, station, false, origin);
      },
      [self](health_atom, const std::string& station) {
        if (auto remote = ask_node(self, station, health_atom::value, station))
          return *remote;
        return ask_rtu(self, station, health_atom::value);
      },
      [self](caf::get_atom, sensors_atom, const std::string& station) {
        if (auto remote =
                ask_node(self, station, caf::get_atom::value, sensors_atom::value, station))
          return *remote;
        return ask_rtu(self, station, caf::get_atom::value, sensors_atom::value);
      },
      [self](caf::get_atom, sensor_atom, const std::string& tag) {
        auto found = self->state.station_of_tag.find(tag);
        if (found == self->state.station_of_tag.end()) {
          auto promise = self->make_response_promise();
          ask_nodes_for_tag<sensor_reading>(
              self, promise, online_fleets(self), tag,
              [self, tag](const rtus_api& fleet) {
                return self->request(fleet, storage_timeout, caf::get_atom::value,
                                     sensor_atom::value, tag);
              },
              [](const sensor_reading&) {});
          return promise;
        }
        return ask_rtu(self, found->second, caf::get_atom::value, sensor_atom::value, tag);
      },
      [self](caf::update_atom, sensor_atom, const std::string& tag, const sensor_settings& settings,
             const request_origin& origin) {
        auto found = self->state.station_of_tag.find(tag);
        if (found == self->state.station_of_tag.end()) {
          // Stored where the RTU is polled (the node's store holds its sensors) and audited there
          // and here, as a command to it is.
          auto promise = self->make_response_promise();
          ask_nodes_for_tag<sensor_reading>(
              self, promise, online_fleets(self), tag,
              [self, tag, settings, origin](const rtus_api& fleet) {
                return self->request(fleet, storage_timeout, caf::update_atom::value,
                                     sensor_atom::value, tag, settings, origin);
              },
              [self, tag, settings, origin](const sensor_reading&) {
                if (auto storage = storage_of(self))
                  caf::anon_send(
                      storage, audit_atom::value,
                      audit_of(origin, "sensor_update", "sensor", tag, describe(settings)));
              });
          return promise;
        }
        return ask_rtu(self, found->second, caf::update_atom::value, sensor_atom::value, tag,
                       settings, origin);
      },
      [self](caf::get_atom, actuators_atom, const std::string& station) {
        if (auto remote =
                ask_node(self, station, caf::get_atom::value, actuators_atom::value, station))
          return *remote;
        return ask_rtu(self, station, caf::get_atom::value, actuators_atom::value);
      },
      [self](command_atom, const std::string& station, const actuator_command& command,
             const request_origin& origin) {
        auto found = self->state.rtus.find(station);
        if (found == self->state.rtus.end() || is_local(self, found->second.record))
          return ask_rtu(self, station, command_atom::value, command, origin);
        return command_on_node(self, found->second.record, command, origin);
      },
      [self](caf::get_atom, diag_atom, const std::string& station, page window) {
        // An edge node's RTU has its diagnostics in that node's store, under that store's id.
        if (auto remote =
                ask_node(self, station, caf::get_atom::value, diag_atom::value, station, window))
          return *remote;
        auto promise = self->make_response_promise();
        auto found = self->state.rtus.find(station);
        auto storage = storage_of(self);
        if (found == self->state.rtus.end())
          promise.deliver(no_such_rtu(station));
        else if (!storage)
          promise.deliver(storage_restarting());
        else
          promise.delegate(storage, caf::get_atom::value, diag_atom::value, found->second.record.id,
                           window);
        return promise;
      },
      [self](stats_atom) -> actor_stats {
        return {rtu_manager_state::name, mailbox_depth(self), self->state.restarts};
      },
  };
}

}  // namespace wtc
