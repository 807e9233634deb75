#include "actors/pid_manager.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/audit.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/scan_clock.hpp"
#include "actors/storage_access.hpp"
#include "core/pid_placement.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"

namespace wtc {
namespace {

using self_ptr = caf::stateful_actor<pid_manager_state>*;
using member = pid_manager_state::member;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;
using persist_atom = caf::atom_constant<caf::atom("persist")>;

constexpr auto storage_timeout = std::chrono::seconds(15);
constexpr std::int64_t default_cycle_ms = 1000;

caf::error no_such_loop(const std::string& station, std::int64_t id) {
  return make_error(errc::not_found,
                    "no PID loop " + std::to_string(id) + " on RTU '" + station + "'");
}

caf::error bad_loop(const std::string& why) {
  return make_error(errc::bad_request, why);
}

bool belongs_to(const pid_loop_record& loop, const std::string& station) {
  return loop.input_rtu == station || loop.output_rtu == station;
}

std::chrono::milliseconds input_cycle(self_ptr self, const pid_loop_record& loop) {
  auto found = self->state.cycle_ms.find(loop.input_rtu);
  return std::chrono::milliseconds(found == self->state.cycle_ms.end() ? default_cycle_ms
                                                                       : found->second);
}

std::chrono::milliseconds scan_period_of(self_ptr self, const pid_loop_record& loop) {
  return loop.scan_period_ms > 0 ? std::chrono::milliseconds(loop.scan_period_ms)
                                 : input_cycle(self, loop);
}

/// Why `loop` cannot run, or an empty string: the algorithm's own checks and the cascade's.
std::string problem_with(self_ptr self, const pid_loop_record& loop) {
  try {
    if (auto why = core::validate(settings_of(loop, scan_period_of(self, loop))); !why.empty())
      return why;
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  for (const auto& [field, station] :
       {std::pair{"input_rtu", &loop.input_rtu}, std::pair{"output_rtu", &loop.output_rtu}})
    if (!self->state.cycle_ms.count(*station))
      return std::string(field) + ": no RTU named '" + *station + "'";
  if (loop.mode == "CASCADE" && loop.cascade_from == 0)
    return "mode CASCADE needs cascade_from: the loop whose output is this loop's setpoint";
  if (loop.cascade_from == 0)
    return {};
  if (loop.cascade_from == loop.id)
    return "cascade_from: a loop cannot be its own setpoint source";
  // Up the chain of outer loops: it must end, and not at this loop.
  auto outer = loop.cascade_from;
  for (std::size_t depth = 0; outer != 0; ++depth) {
    auto found = self->state.loops.find(outer);
    if (found == self->state.loops.end())
      return "cascade_from: no PID loop " + std::to_string(outer);
    if (outer == loop.id || depth > self->state.loops.size())
      return "cascade_from " + std::to_string(loop.cascade_from) +
             " would close a cycle of cascades";
    outer = found->second.view.loop.cascade_from;
  }
  return {};
}

/// The row as the loop runs it: storage's configuration with the live setpoint, mode and output.
pid_loop_record live_record(const member& m) {
  auto loop = m.view.loop;
  if (m.view.live.has_cv) {
    loop.setpoint = m.view.live.sp;
    loop.mode = m.view.live.mode;
    loop.output = m.view.live.cv;
    loop.has_output = true;
  }
  return loop;
}

pid_snapshot idle_snapshot(const pid_loop_record& loop) {
  pid_snapshot snap;
  snap.loop_id = loop.id;
  snap.sp = loop.setpoint;
  snap.cv = loop.output;
  snap.has_cv = loop.has_output;
  snap.mode = loop.mode;
  snap.status = loop.enabled ? "STARTING" : "DISABLED";
  return snap;
}

bool is_outer(self_ptr self, std::int64_t id) {
  return std::any_of(self->state.loops.begin(), self->state.loops.end(),
                     [id](const auto& entry) { return entry.second.view.loop.cascade_from == id; });
}

/// Tells every running loop which inner loops take its output as their setpoint. An outer loop
/// drives no actuator, even while its inner loops are disabled.
void wire_cascades(self_ptr self) {
  for (auto& [id, m] : self->state.loops) {
    if (!m.handle)
      continue;
    std::vector<caf::actor> inner;
    bool outer = false;
    for (const auto& [other_id, other] : self->state.loops)
      if (other.view.loop.cascade_from == id) {
        outer = true;
        if (other.handle)
          inner.push_back(other.handle);
      }
    self->send(m.handle, cascade_atom::value, !outer, std::move(inner));
  }
}

bool runs_here(self_ptr self, const member& m) {
  return self->state.config.follower || m.view.node == central_node;
}

void start_loop(self_ptr self, member& m) {
  const auto& loop = m.view.loop;
  m.view.live = idle_snapshot(loop);
  if (!loop.enabled || !runs_here(self, m))
    return;
  pid_actor_config c;
  c.loop = loop;
  c.scan_period = scan_period_of(self, loop);
  // Three missed RTU cycles make the measurement BAD, and never sooner than a second.
  c.stale_after =
      std::max({3 * input_cycle(self, loop), 2 * c.scan_period, std::chrono::milliseconds(1000)});
  // At its input's own cycle, a loop scans just after each measurement: no dead time waiting.
  c.follow_input = c.scan_period == input_cycle(self, loop);
  c.report_interval = self->state.config.report_interval;
  c.owner = caf::actor_cast<caf::actor>(self);
  c.scan_clock = self->state.clock;
  c.timing = self->state.config.timing;
  c.drives_actuator = !is_outer(self, loop.id);
  m.handle = self->spawn<caf::linked>(pid_actor, std::move(c));
}

void stop_loop(self_ptr self, member& m) {
  if (!m.handle)
    return;
  self->unlink_from(m.handle);
  self->send_exit(m.handle, caf::exit_reason::user_shutdown);
  m.handle = nullptr;
}

/// A new actor for the loop, from its configuration (and its last output) as `m` holds them.
void restart_loop(self_ptr self, member& m) {
  stop_loop(self, m);
  start_loop(self, m);
}

/// The RTUs' cycle times (the default scan periods) and nodes (where loops run).
void take_rtus(self_ptr self, const std::vector<rtu_record>& rtus) {
  auto& st = self->state;
  st.cycle_ms.clear();
  st.rtu_nodes.clear();
  for (const auto& rtu : rtus) {
    st.cycle_ms[rtu.station_name] = rtu.cycle_time_ms;
    st.rtu_nodes[rtu.station_name] = rtu.node;
  }
}

/// The central node: moves every loop to where core::place_pid_loops says it runs, stopping it
/// here or starting it here; returns the edge nodes whose loops changed.
std::set<std::string> place(self_ptr self) {
  auto& st = self->state;
  std::set<std::string> changed;
  if (st.config.follower)
    return changed;
  std::vector<pid_loop_record> loops;
  loops.reserve(st.loops.size());
  for (const auto& [id, m] : st.loops)
    loops.push_back(m.view.loop);
  const std::string central{central_node};
  const auto placed = core::place_pid_loops(loops, st.rtu_nodes, central);
  bool moved = false;
  for (auto& [id, m] : st.loops) {
    const auto& node = placed.at(id);
    if (node == m.view.node)
      continue;
    moved = true;
    for (const std::string& side : {m.view.node, node})
      if (!side.empty() && side != central)
        changed.insert(side);
    if (!m.view.node.empty())
      spdlog::info("pid loop '{}': runs on node '{}' now (was '{}')", m.view.loop.name, node,
                   m.view.node);
    stop_loop(self, m);
    m.view.loop = live_record(m);
    m.view.node = node;
    m.heard_at = core::now_ms();
    start_loop(self, m);
  }
  if (moved)
    wire_cascades(self);
  return changed;
}

/// Has the node registry send these nodes their loops again.
void reassign(self_ptr self, const std::set<std::string>& nodes) {
  auto registry = lookup<node_registry_api>(self->system(), names::nodes);
  if (!registry)
    return;
  for (const auto& node : nodes)
    self->send(registry, assign_atom::value, node);
}

caf::error node_unreachable(const member& m) {
  return make_error(errc::unavailable,
                    "PID loop " + std::to_string(m.view.loop.id) + " runs on node '" + m.view.node +
                        "', which is not connected: it keeps running there with its settings; "
                        "change it when the node is back");
}

/// Runs `next` if loop `id` runs here or its node is online; else answers 503.
template <class Next>
void when_reachable(self_ptr self, caf::response_promise promise, std::int64_t id, Next next) {
  auto found = self->state.loops.find(id);
  if (found == self->state.loops.end() || runs_here(self, found->second)) {
    next();
    return;
  }
  auto registry = lookup<node_registry_api>(self->system(), names::nodes);
  if (!registry) {
    promise.deliver(node_unreachable(found->second));
    return;
  }
  self->request(registry, storage_timeout, caf::get_atom::value, node_atom::value,
                found->second.view.node)
      .then(
          [self, promise, id, next](const node_info& info) mutable {
            auto again = self->state.loops.find(id);
            if (again != self->state.loops.end() && !runs_here(self, again->second) &&
                info.state != node_state::online)
              promise.deliver(node_unreachable(again->second));
            else
              next();
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

/// Storage's answer to a change, then the loop restarted or reconfigured, then the reply.
void apply_stored(self_ptr self, caf::response_promise promise, pid_loop_record stored,
                  const pid_loop_patch& patch) {
  auto found = self->state.loops.find(stored.id);
  if (found == self->state.loops.end()) {
    promise.deliver(make_error(errc::not_found,
                               "PID loop " + std::to_string(stored.id) + " was deleted meanwhile"));
    return;
  }
  auto& m = found->second;
  m.view.loop = stored;
  m.saved = {stored.id, stored.output, stored.setpoint, stored.mode};
  auto nodes = place(self);  // another RTU may move it
  if (!runs_here(self, m)) {
    // Shown as stored at once; the node's next report says what it does with it.
    m.view.live.sp = stored.setpoint;
    m.view.live.mode = stored.mode;
    if (stored.mode == "MANUAL" && stored.has_output)
      m.view.live.cv = stored.output;
    nodes.insert(m.view.node);
    reassign(self, nodes);
    promise.deliver(m.view);
    return;
  }
  reassign(self, nodes);
  if ((patch.fields & pid_field::wiring) != 0 || !m.handle) {
    restart_loop(self, m);
    wire_cascades(self);
    promise.deliver(m.view);
    return;
  }
  self->request(m.handle, storage_timeout, caf::update_atom::value, patch)
      .then(
          [self, promise, id = stored.id](pid_snapshot& snap) mutable {
            auto again = self->state.loops.find(id);
            if (again == self->state.loops.end()) {
              promise.deliver(make_error(
                  errc::not_found, "PID loop " + std::to_string(id) + " was deleted meanwhile"));
              return;
            }
            again->second.view.live = std::move(snap);
            wire_cascades(self);
            promise.deliver(again->second.view);
          },
          [self, promise, id = stored.id](caf::error& err) mutable {
            // Stored but refused by the running loop: start it again from what is stored.
            spdlog::error("pid loop {}: the running loop refused a stored change: {}", id,
                          self->system().render(err));
            auto again = self->state.loops.find(id);
            if (again != self->state.loops.end()) {
              restart_loop(self, again->second);
              wire_cascades(self);
              promise.deliver(again->second.view);
            } else {
              promise.deliver(std::move(err));
            }
          });
}

/// The runtime state that changed since it was last stored, in one message to storage.
void persist(self_ptr self) {
  std::vector<pid_runtime> changed;
  for (auto& [id, m] : self->state.loops) {
    const auto& live = m.view.live;
    if (!live.has_cv || live.status == "DISABLED")
      continue;
    const auto& loop = m.view.loop;
    const double span = loop.output_max - loop.output_min;
    if (std::abs(live.cv - m.saved.output) <= 0.001 * span && live.sp == m.saved.setpoint &&
        live.mode == m.saved.mode)
      continue;
    m.saved = {id, live.cv, live.sp, live.mode};
    changed.push_back(m.saved);
  }
  if (changed.empty())
    return;
  if (auto storage = storage_of(self))
    self->send(storage, pid_output_atom::value, std::move(changed));
}

caf::error configured_centrally() {
  return make_error(errc::conflict,
                    "this is an edge node: its PID loops are configured on the central node");
}

constexpr const char* node_offline_status = "NODE_OFFLINE";

/// The central node: a loop on an edge node that has not reported for a while is shown as such
/// (it keeps running there, unseen).
void notice_silent_nodes(self_ptr self) {
  const auto now = core::now_ms();
  const auto silence = self->state.config.node_silence.count();
  auto hub = lookup<live_hub_api>(self->system(), names::live_hub);
  for (auto& [id, m] : self->state.loops) {
    if (runs_here(self, m) || !m.view.loop.enabled || m.view.live.status == node_offline_status ||
        now - m.heard_at < silence)
      continue;
    m.view.live.status = node_offline_status;
    if (hub)
      self->send(hub, pid_update_message(m.view.loop, m.view.live));
  }
}

/// An edge node: what its loops do, to the central node through the uplink (dropped while the
/// link is down: the next report is as good).
void report_to_central(self_ptr self) {
  auto uplink = caf::actor_cast<caf::actor>(self->system().registry().get(names::uplink));
  if (!uplink || self->state.loops.empty())
    return;
  std::vector<pid_loop_view> reports;
  reports.reserve(self->state.loops.size());
  for (const auto& [id, m] : self->state.loops)
    reports.push_back(m.view);
  self->send(uplink, pid_atom::value, std::move(reports));
}

/// An edge node: runs `rows` (stored already) as the loops of this node; loops not among them
/// stop. A running loop takes what changed without a restart unless its wiring changed.
void run_assigned(self_ptr self, const std::vector<pid_loop_record>& rows) {
  auto& loops = self->state.loops;
  std::set<std::int64_t> assigned;
  for (const auto& row : rows) {
    assigned.insert(row.id);
    auto& m = loops[row.id];
    const bool added = m.view.loop.id == 0;
    const auto patch = added ? pid_loop_patch{} : changes_to(live_record(m), row);
    m.view.loop = row;
    m.saved = {row.id, row.output, row.setpoint, row.mode};
    if (added) {
      spdlog::info("pid loop '{}' ({}): assigned to this node", row.name, row.id);
      start_loop(self, m);
      continue;
    }
    if (patch.fields == 0)
      continue;
    spdlog::info("pid loop '{}' ({}): changed by the central node: {}", row.name, row.id,
                 describe(patch));
    if (patch.sets(pid_field::wiring) || !m.handle) {
      restart_loop(self, m);
      continue;
    }
    self->request(m.handle, storage_timeout, caf::update_atom::value, patch)
        .then(
            [self, id = row.id](pid_snapshot& snap) {
              auto again = self->state.loops.find(id);
              if (again != self->state.loops.end())
                again->second.view.live = std::move(snap);
            },
            [self, id = row.id](caf::error& err) {
              spdlog::error("pid loop {}: the running loop refused the central node's change: {}",
                            id, self->system().render(err));
              auto again = self->state.loops.find(id);
              if (again != self->state.loops.end()) {
                restart_loop(self, again->second);
                wire_cascades(self);
              }
            });
  }
  for (auto it = loops.begin(); it != loops.end();) {
    if (assigned.count(it->first) != 0) {
      ++it;
      continue;
    }
    spdlog::info("pid loop '{}' ({}): no longer on this node", it->second.view.loop.name,
                 it->first);
    stop_loop(self, it->second);
    it = loops.erase(it);
  }
  wire_cascades(self);
  report_to_central(self);  // the central node sees the change taken without waiting a second
}

/// An edge node: the central node's assignment, stored in this node's store (with the central
/// node's ids: a restart without the link runs them again) and then run. A running loop keeps
/// its own output, and its setpoint and mode unless the assignment changes them.
void follow(self_ptr self, std::vector<pid_loop_record> assigned) {
  auto storage = storage_of(self);
  if (!storage) {
    spdlog::error("pid loops: the central node's assignment is lost: storage is restarting");
    return;
  }
  auto store = [self, storage, assigned = std::move(assigned)]() mutable {
    std::vector<pid_loop_record> rows;
    nlohmann::json ids = nlohmann::json::array();
    for (auto& wanted : assigned) {
      ids.push_back(wanted.id);
      auto found = self->state.loops.find(wanted.id);
      if (found == self->state.loops.end()) {
        rows.push_back(std::move(wanted));
        continue;
      }
      const auto running = live_record(found->second);
      auto row = patched(running, changes_to(running, wanted));
      row.created_at = wanted.created_at;
      row.updated_at = wanted.updated_at;
      rows.push_back(std::move(row));
    }
    auto audit = audit_of(central_node_origin(), "pid_assign", "pid_loop", "",
                          nlohmann::json{{"loops", ids}}.dump());
    self->request(storage, storage_timeout, assign_atom::value, pid_atom::value, rows,
                  std::move(audit))
        .then([self, rows](caf::ok_atom) { run_assigned(self, rows); },
              [self](caf::error& err) {
                spdlog::error("pid loops: cannot store the central node's assignment: {}",
                              self->system().render(err));
              });
  };
  // The RTUs arrived just before (the uplink hands over the loops after placing them): their
  // cycles are the loops' default scan periods.
  auto rtus = lookup<rtus_api>(self->system(), names::rtus);
  if (!rtus) {
    store();
    return;
  }
  self->request(rtus, storage_timeout, caf::get_atom::value, rtus_atom::value)
      .then(
          [self, store](std::vector<rtu_record>& list) mutable {
            take_rtus(self, list);
            store();
          },
          [store](caf::error&) mutable { store(); });
}

/// Refreshes the RTU cycle times (the default scan periods) and the list of known RTUs, then
/// runs `next`.
template <class Next>
void with_rtus(self_ptr self, caf::response_promise promise, Next next) {
  auto rtus = lookup<rtus_api>(self->system(), names::rtus);
  if (!rtus) {
    promise.deliver(make_error(errc::unavailable, "the RTU fleet is restarting"));
    return;
  }
  self->request(rtus, storage_timeout, caf::get_atom::value, rtus_atom::value)
      .then(
          [self, next](std::vector<rtu_record>& list) mutable {
            take_rtus(self, list);
            next();
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

}  // namespace

caf::behavior pid_manager(caf::stateful_actor<pid_manager_state>* self, pid_manager_config config) {
  self->state.config = std::move(config);
  self->state.clock = self->spawn<caf::linked>(scan_clock, scan_grid_us);
  auto initial_storage = storage_of(self);
  if (!initial_storage)
    throw std::runtime_error("pid loops: storage is not running");
  // The RTUs' cycles first (the default scan periods), then the loops; nothing is answered
  // before every loop runs again.
  auto load_loops = [self, initial_storage] {
    self->request(initial_storage, storage_timeout, caf::get_atom::value, pid_atom::value,
                  std::string())
        .await(
            [self](std::vector<pid_loop_record>& loops) {
              for (auto& loop : loops) {
                auto& m = self->state.loops[loop.id];
                m.view.loop = std::move(loop);
                m.saved = {m.view.loop.id, m.view.loop.output, m.view.loop.setpoint,
                           m.view.loop.mode};
              }
              if (self->state.config.follower) {
                for (auto& [id, m] : self->state.loops)
                  start_loop(self, m);
                wire_cascades(self);
              } else {
                reassign(self, place(self));  // starts the loops that run here
              }
              spdlog::info("pid loops: {} configured", loops.size());
            },
            [self](caf::error& err) {
              spdlog::critical("pid loops: cannot load the loops: {}", self->system().render(err));
              self->quit(err);
            });
  };
  if (auto rtus = lookup<rtus_api>(self->system(), names::rtus))
    self->request(rtus, storage_timeout, caf::get_atom::value, rtus_atom::value)
        .await(
            [self, load_loops](std::vector<rtu_record>& list) {
              take_rtus(self, list);
              load_loops();
            },
            [self, load_loops](caf::error& err) {
              spdlog::warn(
                  "pid loops: no RTU cycle times ({}): loops without scan_period_ms "
                  "scan every second until changed",
                  self->system().render(err));
              load_loops();
            });
  else
    load_loops();
  self->delayed_send(self, self->state.config.persist_interval, persist_atom::value);

  self->set_default_handler(caf::print_and_drop);
  // The loops are linked: a crashed one is started again from its last output; the manager's
  // own supervisor ends it with an exit message, and its loops with it.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, m] : self->state.loops) {
      if (!m.handle || m.handle.address() != msg.source)
        continue;
      spdlog::error("pid loop '{}': stopped ({}); restarting in {} ms", m.view.loop.name,
                    self->system().render(msg.reason), self->state.config.respawn_delay.count());
      m.handle = nullptr;
      m.view.live.status = "RESTARTING";
      self->delayed_send(self, self->state.config.respawn_delay, respawn_atom::value, id);
      return;
    }
    self->quit(msg.reason);
  });

  return {
      [self](respawn_atom, std::int64_t id) {
        auto found = self->state.loops.find(id);
        if (found == self->state.loops.end() || found->second.handle)
          return;
        ++self->state.restarts;
        auto& m = found->second;
        m.view.loop = live_record(m);  // resume from where it was
        start_loop(self, m);
        wire_cascades(self);
      },
      [self](persist_atom) {
        persist(self);
        if (self->state.config.follower)
          report_to_central(self);
        else
          notice_silent_nodes(self);
        self->delayed_send(self, self->state.config.persist_interval, persist_atom::value);
      },
      // From the loops: what they are doing.
      [self](pid_atom, pid_snapshot& snap) {
        auto found = self->state.loops.find(snap.loop_id);
        if (found != self->state.loops.end() && found->second.handle &&
            found->second.handle.address() == self->current_sender())
          found->second.view.live = std::move(snap);
      },
      // --- pid_api ---
      [self](caf::get_atom, pid_atom, node_atom, const std::string& node) {
        auto promise = self->make_response_promise();
        with_rtus(self, promise, [self, promise, node]() mutable {
          auto others = place(self);
          others.erase(node);  // its loops are the answer
          reassign(self, others);
          // The configuration as stored with its last change (the node keeps its own output;
          // a report's setpoint may predate the change).
          std::vector<pid_loop_record> placed;
          for (const auto& [id, m] : self->state.loops)
            if (m.view.node == node)
              placed.push_back(m.view.loop);
          promise.deliver(std::move(placed));
        });
        return promise;
      },
      [self](pid_atom, const std::string& node, std::vector<pid_loop_view>& reports) {
        auto hub = lookup<live_hub_api>(self->system(), names::live_hub);
        const auto now = core::now_ms();
        for (auto& report : reports) {
          auto found = self->state.loops.find(report.loop.id);
          if (found == self->state.loops.end() || found->second.view.node != node)
            continue;  // moved meanwhile
          auto& m = found->second;
          m.heard_at = now;
          // A report of the configuration before a change the node has not applied yet: its
          // setpoint and mode would overwrite the change here.
          if (report.loop.updated_at < m.view.loop.updated_at)
            continue;
          m.view.live = std::move(report.live);
          if (hub)
            self->send(hub, pid_update_message(m.view.loop, m.view.live));
        }
      },
      [self](assign_atom, std::vector<pid_loop_record>& loops) { follow(self, std::move(loops)); },
      [self](caf::get_atom, pid_atom, const std::string& station) {
        std::vector<pid_loop_view> out;
        for (const auto& [id, m] : self->state.loops)
          if (belongs_to(m.view.loop, station))
            out.push_back(m.view);
        return out;
      },
      [self](caf::get_atom, pid_atom, const std::string& station,
             std::int64_t id) -> caf::result<pid_loop_view> {
        auto found = self->state.loops.find(id);
        if (found == self->state.loops.end() || !belongs_to(found->second.view.loop, station))
          return no_such_loop(station, id);
        return found->second.view;
      },
      [self](create_atom, pid_loop_record loop, const request_origin& origin) {
        auto promise = self->make_response_promise();
        if (self->state.config.follower) {
          promise.deliver(configured_centrally());
          return promise;
        }
        with_rtus(self, promise, [self, promise, loop, origin]() mutable {
          auto storage = storage_of(self);
          if (!storage) {
            promise.deliver(storage_restarting());
            return;
          }
          loop.id = 0;
          loop.created_at = core::now_ms();
          loop.updated_at = loop.created_at;
          if (auto why = problem_with(self, loop); !why.empty()) {
            promise.deliver(bad_loop(why));
            return;
          }
          pid_loop_patch all;
          all.fields = ~0u;
          all.values = loop;
          auto audit = audit_of(origin, "pid_create", "pid_loop", loop.name, describe(all));
          self->request(storage, storage_timeout, create_atom::value, loop, std::move(audit))
              .then(
                  [self, promise](pid_loop_record& stored) mutable {
                    auto& m = self->state.loops[stored.id];
                    m.view.loop = stored;
                    m.saved = {stored.id, stored.output, stored.setpoint, stored.mode};
                    m.view.live = idle_snapshot(stored);
                    reassign(self, place(self));  // starts it, here or on its node
                    promise.deliver(m.view);
                  },
                  [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        });
        return promise;
      },
      [self](caf::update_atom, const std::string& station, std::int64_t id,
             const pid_loop_patch& patch, const std::string& action, const request_origin& origin) {
        auto promise = self->make_response_promise();
        auto found = self->state.loops.find(id);
        if (self->state.config.follower) {
          promise.deliver(configured_centrally());
          return promise;
        }
        if (found == self->state.loops.end() || !belongs_to(found->second.view.loop, station)) {
          promise.deliver(no_such_loop(station, id));
          return promise;
        }
        when_reachable(self, promise, id, [=]() mutable {
          with_rtus(self, promise, [self, promise, station, id, patch, action, origin]() mutable {
            auto current = self->state.loops.find(id);
            auto storage = storage_of(self);
            if (current == self->state.loops.end()) {
              promise.deliver(no_such_loop(station, id));
              return;
            }
            if (!storage) {
              promise.deliver(storage_restarting());
              return;
            }
            const auto next = patched(live_record(current->second), patch);
            if (patch.sets(pid_field::output) && next.mode != "MANUAL") {
              promise.deliver(bad_loop("an output is only taken in MANUAL mode: set mode MANUAL"));
              return;
            }
            if (auto why = problem_with(self, next); !why.empty()) {
              promise.deliver(bad_loop(why));
              return;
            }
            auto audit = audit_of(origin, action, "pid_loop", std::to_string(id), describe(patch));
            self->request(storage, storage_timeout, caf::update_atom::value, next, std::move(audit))
                .then(
                    [self, promise, patch](pid_loop_record& stored) mutable {
                      apply_stored(self, promise, std::move(stored), patch);
                    },
                    [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
          });
        });
        return promise;
      },
      [self](caf::delete_atom, const std::string& station, std::int64_t id,
             const request_origin& origin) {
        auto promise = self->make_response_promise();
        auto found = self->state.loops.find(id);
        if (self->state.config.follower) {
          promise.deliver(configured_centrally());
          return promise;
        }
        if (found == self->state.loops.end() || !belongs_to(found->second.view.loop, station)) {
          promise.deliver(no_such_loop(station, id));
          return promise;
        }
        for (const auto& [other_id, other] : self->state.loops)
          if (other.view.loop.cascade_from == id) {
            promise.deliver(make_error(
                errc::conflict, "PID loop " + std::to_string(id) +
                                    " is the setpoint source of loop " + std::to_string(other_id) +
                                    " ('" + other.view.loop.name +
                                    "'): change that loop's cascade_from first"));
            return promise;
          }
        when_reachable(self, promise, id, [self, promise, id, origin]() mutable {
          auto storage = storage_of(self);
          auto current = self->state.loops.find(id);
          if (current == self->state.loops.end()) {
            promise.deliver(make_error(
                errc::not_found, "PID loop " + std::to_string(id) + " was deleted meanwhile"));
            return;
          }
          if (!storage) {
            promise.deliver(storage_restarting());
            return;
          }
          self->request(storage, storage_timeout, caf::delete_atom::value, pid_atom::value, id,
                        audit_of(origin, "pid_delete", "pid_loop", std::to_string(id),
                                 nlohmann::json{{"name", current->second.view.loop.name}}.dump()))
              .then(
                  [self, promise, id](caf::ok_atom) mutable {
                    auto again = self->state.loops.find(id);
                    if (again != self->state.loops.end()) {
                      const auto node = again->second.view.node;
                      stop_loop(self, again->second);
                      self->state.loops.erase(again);
                      wire_cascades(self);
                      if (node != central_node)
                        reassign(self, {node});
                    }
                    promise.deliver(caf::ok_atom::value);
                  },
                  [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        });
        return promise;
      },
      [self](stats_atom) -> actor_stats {
        return {pid_manager_state::name, mailbox_depth(self), self->state.restarts};
      },
  };
}

}  // namespace wtc
