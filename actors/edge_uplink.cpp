#include "actors/edge_uplink.hpp"

#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <caf/actor_cast.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/system_messages.hpp>

#include "core/time.hpp"

namespace wtc {
namespace {

using self_ptr = edge_uplink_actor::stateful_pointer<edge_uplink_state>;

constexpr auto fleet_timeout = std::chrono::seconds(30);

std::vector<std::uint8_t> serialize(self_ptr self, node_packet& packet) {
  std::vector<char> bytes;
  caf::binary_serializer sink{self->system(), bytes};
  if (auto err = sink(packet))
    throw std::runtime_error("cannot serialise a packet: " + self->system().render(err));
  return {bytes.begin(), bytes.end()};
}

bool deserialize(self_ptr self, const storage::forward_entry& entry, node_packet& out) {
  std::vector<char> bytes(entry.payload.begin(), entry.payload.end());
  caf::binary_deserializer source{self->system(), bytes};
  if (auto err = source(out)) {
    spdlog::error("uplink: buffered entry {} cannot be read ({}); skipped", entry.seq,
                  self->system().render(err));
    return false;
  }
  out.seq = entry.seq;
  return true;
}

void schedule_reconnect(self_ptr self) {
  auto& st = self->state;
  const auto delay = std::chrono::milliseconds(st.backoff.next_delay_ms(st.rng));
  self->delayed_send(self, delay, uplink_connect_atom::value, st.generation);
}

void link_broken(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (!st.central && !st.connecting)
    return;
  if (st.central) {
    self->demonitor(st.central.address());
    spdlog::warn("uplink: link to the central node lost ({}); buffering ({} entries waiting)", why,
                 st.buffer->stats().entries);
  }
  st.central = nullptr;
  st.connecting = false;
  st.in_flight = 0;
  st.acked_ahead.clear();
  st.sent_live.clear();
  st.backlog_sent = st.acked;
  ++st.generation;
  schedule_reconnect(self);
}

/// Acknowledged packets leave the buffer once every one before them is acknowledged too.
void acknowledge(self_ptr self, const std::vector<std::uint64_t>& seqs) {
  auto& st = self->state;
  for (auto seq : seqs) {
    st.sent_live.erase(seq);
    if (seq > st.acked)
      st.acked_ahead.insert(seq);
  }
  const auto before = st.acked;
  while (!st.acked_ahead.empty() && *st.acked_ahead.begin() == st.acked + 1) {
    st.acked = *st.acked_ahead.begin();
    st.acked_ahead.erase(st.acked_ahead.begin());
  }
  if (st.acked != before)
    st.buffer->acknowledge(st.acked);
}

void forward(self_ptr self, std::vector<node_packet> packets) {
  auto& st = self->state;
  std::vector<std::uint64_t> seqs;
  seqs.reserve(packets.size());
  for (const auto& p : packets)
    seqs.push_back(p.seq);
  ++st.in_flight;
  self->request(st.central, st.config.request_timeout, forward_atom::value, st.config.node_name,
                std::move(packets))
      .then(
          [self, seqs, generation = st.generation](const node_ack&) {
            if (generation != self->state.generation)
              return;
            --self->state.in_flight;
            acknowledge(self, seqs);
          },
          [self, generation = st.generation](caf::error& err) {
            if (generation == self->state.generation)
              link_broken(self, "forward failed: " + self->system().render(err));
          });
}

/// Sends what waited in the buffer (and was not sent on its tick), oldest first, in windows.
void drain_backlog(self_ptr self) {
  auto& st = self->state;
  if (!st.central || st.connecting)
    return;
  const auto now = core::now_ms();
  while (st.in_flight < st.config.max_in_flight) {
    auto entries =
        st.buffer->read_after(st.backlog_sent, st.config.window_packets, st.config.window_bytes);
    if (entries.empty())
      return;
    std::vector<node_packet> packets;
    for (const auto& entry : entries) {
      st.backlog_sent = entry.seq;
      if (st.sent_live.count(entry.seq) != 0 || st.acked_ahead.count(entry.seq) != 0)
        continue;
      node_packet packet;
      if (!deserialize(self, entry, packet)) {
        acknowledge(self, {entry.seq});  // unreadable: it must not hold the buffer back
        continue;
      }
      packet.live = now - packet.produced_at < st.config.live_window.count();
      packets.push_back(std::move(packet));
    }
    if (!packets.empty())
      forward(self, std::move(packets));
  }
}

void tick(self_ptr self) {
  auto& st = self->state;
  if (!st.pending.samples.empty() || !st.pending.events.empty()) {
    auto packet = std::move(st.pending);
    st.pending = node_packet{};
    packet.produced_at = core::now_ms();
    packet.live = true;
    packet.seq = st.buffer->append(packet.produced_at, serialize(self, packet));
    // Caught up: sent now. Otherwise it waits its turn behind the backlog.
    if (st.central && !st.connecting && st.backlog_sent + 1 == packet.seq &&
        st.in_flight < st.config.max_in_flight) {
      st.backlog_sent = packet.seq;
      forward(self, {std::move(packet)});
    } else if (st.central && !st.connecting && st.in_flight < st.config.max_in_flight) {
      // A backlog is draining: live data goes beside it, not behind it.
      st.sent_live.insert(packet.seq);
      forward(self, {std::move(packet)});
    }
  }
  drain_backlog(self);
}

void connect(self_ptr self) {
  auto& st = self->state;
  st.connecting = true;
  const auto generation = st.generation;
  self->request(st.config.middleman, st.config.request_timeout, caf::connect_atom::value,
                st.config.central_host, st.config.central_port)
      .then(
          [self, generation](const caf::node_id&, caf::strong_actor_ptr& remote,
                             const std::set<std::string>&) {
            auto& link = self->state;
            if (generation != link.generation)
              return;
            auto central = caf::actor_cast<node_registry_api>(remote);
            auto fleet = lookup<rtus_api>(self->system(), names::rtus);
            if (!central || !fleet) {
              link_broken(self, !central ? "no node registry at the central node's port"
                                         : "the RTU fleet is restarting");
              return;
            }
            const auto waiting = link.buffer->stats().entries;
            node_hello hello{link.config.node_name, link.config.version, link.acked, waiting};
            self->monitor(central);
            link.central = central;
            self->request(central, link.config.request_timeout, join_atom::value, hello,
                          caf::actor_cast<edge_agent_api>(self), fleet)
                .then(
                    [self, generation](const node_ack&) {
                      auto& joined = self->state;
                      if (generation != joined.generation)
                        return;
                      joined.connecting = false;
                      joined.backoff.reset();
                      joined.backlog_sent = joined.acked;
                      spdlog::info(
                          "uplink: joined the central node at {}:{} as '{}'; {} "
                          "buffered entries to forward",
                          joined.config.central_host, joined.config.central_port,
                          joined.config.node_name, joined.buffer->stats().entries);
                      drain_backlog(self);
                    },
                    [self, generation](caf::error& err) {
                      if (generation != self->state.generation)
                        return;
                      spdlog::error("uplink: the central node refused to let '{}' join: {}",
                                    self->state.config.node_name, self->system().render(err));
                      link_broken(self, "join refused");
                    });
          },
          [self, generation](caf::error& err) {
            if (generation != self->state.generation)
              return;
            spdlog::warn("uplink: cannot reach the central node at {}:{}: {}",
                         self->state.config.central_host, self->state.config.central_port,
                         self->system().render(err));
            link_broken(self, "connect failed");
          });
}

bool same_configuration(const rtu_record& a, const rtu_record& b) {
  return a.ip_address == b.ip_address && a.port == b.port && a.unit_id == b.unit_id &&
         a.profile == b.profile && a.vendor_id == b.vendor_id && a.device_id == b.device_id &&
         a.slot_count == b.slot_count && a.cycle_time_ms == b.cycle_time_ms;
}

rtu_update update_to(const rtu_record& wanted) {
  rtu_update u;
  u.set_ip_address = u.set_port = u.set_unit_id = u.set_profile = true;
  u.set_vendor_id = u.set_device_id = u.set_slot_count = u.set_cycle_time_ms = true;
  u.ip_address = wanted.ip_address;
  u.port = wanted.port;
  u.unit_id = wanted.unit_id;
  u.profile = wanted.profile;
  u.vendor_id = wanted.vendor_id;
  u.device_id = wanted.device_id;
  u.slot_count = wanted.slot_count;
  u.cycle_time_ms = wanted.cycle_time_ms;
  return u;
}

/// Counts the requests of one placement; the last to finish starts the placement that came
/// meanwhile, so that placements never overlap (a second one must see what the first created).
class placement_round {
 public:
  explicit placement_round(self_ptr self) : self_(self) {}
  placement_round(const placement_round&) = delete;
  placement_round& operator=(const placement_round&) = delete;
  ~placement_round();

 private:
  self_ptr self_;
};

void place_rtus(self_ptr self, std::vector<rtu_record> assigned);

/// The PID loops the central node assigned, to this node's loop manager (after the RTUs).
void hand_over_loops(self_ptr self) {
  auto& st = self->state;
  auto manager = lookup<pid_api>(self->system(), names::pid);
  if (!st.assigned_loops || st.placing || !manager)
    return;
  self->send(manager, assign_atom::value, std::move(*st.assigned_loops));
  st.assigned_loops.reset();
}

placement_round::~placement_round() {
  auto& st = self_->state;
  st.placing = false;
  if (st.next_placement) {
    auto next = std::move(*st.next_placement);
    st.next_placement.reset();
    place_rtus(self_, std::move(next));
  }
  hand_over_loops(self_);
}

/// The argument type of a one-argument function object (CAF deduces a response handler's
/// type from its signature, so the wrapper below must spell it out).
template <class F>
struct argument_of;
template <class C, class R, class A>
struct argument_of<R (C::*)(A) const> {
  using type = A;
};
template <class C, class R, class A>
struct argument_of<R (C::*)(A)> {
  using type = A;
};

/// A request of a placement round: `then` runs on its answer; the round ends when the last
/// request of it is answered (or fails, which is logged).
template <class Handle, class OnValue, class... Ts>
void placement_request(self_ptr self, const std::shared_ptr<placement_round>& round,
                       const Handle& fleet, const std::string& what, OnValue then, Ts&&... xs) {
  using answer = typename argument_of<decltype(&OnValue::operator())>::type;
  self->request(fleet, fleet_timeout, std::forward<Ts>(xs)...)
      .then([round, then](answer value) mutable { then(value); },
            [round, what](caf::error& err) {
              spdlog::error("uplink: {}: {}", what, to_string(err));
            });
}

/// Makes the node's own RTU fleet (and so its store, which outlives a link loss and a restart)
/// hold exactly the RTUs the central node placed on it, connected as the central node says.
void place_rtus(self_ptr self, std::vector<rtu_record> assigned) {
  auto& st = self->state;
  if (st.placing) {
    st.next_placement = std::move(assigned);
    return;
  }
  auto fleet = lookup<rtus_api>(self->system(), names::rtus);
  if (!fleet)
    return;
  st.placing = true;
  auto round = std::make_shared<placement_round>(self);
  auto ignore = [](const rtu_record&) {};
  placement_request(
      self, round, fleet, "cannot read this node's RTUs",
      [self, round, fleet, ignore,
       assigned = std::move(assigned)](const std::vector<rtu_record>& local) {
        const auto origin = central_node_origin();
        auto connect = [self, round, fleet, origin, ignore](const std::string& station) {
          placement_request(self, round, fleet, "cannot connect RTU '" + station + "'", ignore,
                            caf::connect_atom::value, station, origin);
        };
        for (const auto& wanted : assigned) {
          const rtu_record* have = nullptr;
          for (const auto& rtu : local)
            if (rtu.station_name == wanted.station_name)
              have = &rtu;
          const auto& station = wanted.station_name;
          if (!have) {
            placement_request(
                self, round, fleet, "cannot place RTU '" + station + "'",
                [station, connect, on = wanted.auto_connect](const rtu_record&) {
                  spdlog::info("uplink: RTU '{}' placed on this node", station);
                  if (on)
                    connect(station);
                },
                create_atom::value, wanted, origin);
            continue;
          }
          if (!same_configuration(*have, wanted))
            placement_request(self, round, fleet, "cannot update RTU '" + station + "'", ignore,
                              caf::update_atom::value, station, update_to(wanted), origin);
          if (wanted.auto_connect && !have->auto_connect)
            connect(station);
          else if (!wanted.auto_connect && have->auto_connect)
            placement_request(self, round, fleet, "cannot disconnect RTU '" + station + "'", ignore,
                              disconnect_atom::value, station, origin);
        }
        for (const auto& rtu : local) {
          bool kept = false;
          for (const auto& wanted : assigned)
            kept = kept || wanted.station_name == rtu.station_name;
          if (kept)
            continue;
          const auto station = rtu.station_name;
          placement_request(
              self, round, fleet, "cannot disconnect RTU '" + station + "'",
              [self, round, fleet, origin, station](const rtu_record&) {
                placement_request(
                    self, round, fleet, "cannot remove RTU '" + station + "'",
                    [station](caf::ok_atom) {
                      spdlog::info("uplink: RTU '{}' moved off this node", station);
                    },
                    caf::delete_atom::value, station, origin);
              },
              disconnect_atom::value, station, origin);
        }
      },
      caf::get_atom::value, rtus_atom::value);
}

}  // namespace

edge_uplink_actor::behavior_type edge_uplink(self_ptr self, edge_uplink_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.backoff = core::reconnect_backoff(st.config.backoff);
  st.buffer =
      std::make_unique<storage::forward_buffer>(st.config.buffer_path, st.config.buffer_max_bytes);
  const auto stats = st.buffer->stats();
  st.acked = stats.next_seq - 1 - stats.entries;
  spdlog::info("uplink: buffer {} holds {} entries ({} bytes), {} dropped since it was made",
               st.config.buffer_path, stats.entries, stats.bytes, stats.dropped);
  st.bus =
      bus_subscription({}, topics::samples | topics::rtu_events, std::chrono::milliseconds(250));
  st.bus.subscribe(self);
  self->set_down_handler([self](caf::down_msg& down) {
    if (self->state.bus.on_down(self, down))
      return;
    if (self->state.central && down.source == self->state.central.address())
      link_broken(self, self->system().render(down.reason));
  });
  self->delayed_send(self, self->state.config.forward_interval, uplink_tick_atom::value);
  connect(self);
  return {
      [self](assign_atom, std::vector<rtu_record>& rtus) { place_rtus(self, std::move(rtus)); },
      [self](assign_atom, std::vector<pid_loop_record>& loops) {
        self->state.assigned_loops = std::move(loops);
        hand_over_loops(self);
      },
      [self](pid_atom, std::vector<pid_loop_view>& reports) {
        auto& link = self->state;
        if (link.central && !link.connecting)
          self->send(link.central, pid_atom::value, link.config.node_name, std::move(reports));
      },
      [self](heartbeat_atom, timestamp_ms sent) -> caf::result<timestamp_ms, edge_status> {
        const auto now = self->state.buffer->stats();
        return {sent, edge_status{now.entries, now.dropped, now.bytes}};
      },
      [self](uplink_tick_atom) {
        self->delayed_send(self, self->state.config.forward_interval, uplink_tick_atom::value);
        tick(self);
      },
      [self](uplink_connect_atom, std::uint64_t generation) {
        if (generation == self->state.generation && !self->state.central)
          connect(self);
      },
      [self](subscribe_atom) { self->state.bus.subscribe(self); },
      [self](sample_batch& batch) { self->state.pending.samples.push_back(std::move(batch)); },
      [self](rtu_event& event) { self->state.pending.events.push_back(std::move(event)); },
      [](const actuator_batch&) {},
  };
}

}  // namespace wtc
