#pragma once

// The typed interfaces of the actors: what each one answers, and nothing else. The gateway and
// the other actors talk to an actor only through these.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>

#include "messages/alarm_types.hpp"
#include "messages/atoms.hpp"
#include "messages/control_types.hpp"
#include "messages/field_types.hpp"
#include "messages/historian_types.hpp"
#include "messages/node_types.hpp"
#include "messages/types.hpp"

namespace wtc {

/// What an actor reports of itself for /metrics.
struct actor_stats {
  std::string name;
  std::uint64_t mailbox_depth = 0;
  std::uint64_t restarts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_stats& x) {
  return f(x.name, x.mailbox_depth, x.restarts);
}

/// Registry names under which the supervisor publishes its children. A restarted child is put
/// back under the same name, so callers look the handle up rather than keep it.
namespace names {
constexpr caf::atom_value storage = caf::atom("storage");
constexpr caf::atom_value sessions = caf::atom("sessions");
constexpr caf::atom_value supervisor = caf::atom("supervisor");
constexpr caf::atom_value field_bus = caf::atom("fieldbus");
constexpr caf::atom_value rtus = caf::atom("rtus");
constexpr caf::atom_value live_hub = caf::atom("livehub");
constexpr caf::atom_value pid = caf::atom("pidloops");
constexpr caf::atom_value alarms = caf::atom("alarms");
constexpr caf::atom_value historian = caf::atom("historian");
constexpr caf::atom_value nodes = caf::atom("nodes");
constexpr caf::atom_value uplink = caf::atom("uplink");
}  // namespace names

/// The storage actor: owns the database connection on a thread of its own.
using storage_api = caf::typed_actor<
    caf::replies_to<caf::ping_atom>::with<db_health>, caf::reacts_to<probe_atom>,
    caf::replies_to<caf::get_atom, user_atom, std::string>::with<user_record>,
    caf::replies_to<caf::get_atom, user_atom, std::int64_t>::with<user_record>,
    caf::replies_to<caf::get_atom, users_atom, page>::with<paged<user_record>>,
    caf::replies_to<create_atom, user_record, audit_entry>::with<user_record>,
    caf::replies_to<caf::update_atom, std::int64_t, user_update, audit_entry>::with<user_record>,
    caf::replies_to<password_atom, std::int64_t, std::string, audit_entry>::with<caf::ok_atom>,
    caf::replies_to<caf::delete_atom, user_atom, std::int64_t, audit_entry>::with<caf::ok_atom>,
    caf::reacts_to<login_ok_atom, std::int64_t, timestamp_ms>,
    caf::replies_to<create_atom, session_record, audit_entry>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, sessions_atom, timestamp_ms>::with<std::vector<session_record>>,
    caf::replies_to<caf::delete_atom, session_atom, std::string, audit_entry>::with<caf::ok_atom>,
    caf::replies_to<refresh_atom, std::string, session_record, audit_entry>::with<caf::ok_atom>,
    caf::reacts_to<touch_atom, std::vector<std::pair<std::string, timestamp_ms>>>,
    caf::reacts_to<purge_atom, timestamp_ms>,
    caf::replies_to<audit_atom, audit_entry>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, audit_atom, audit_filter>::with<paged<audit_entry>>,
    caf::replies_to<caf::get_atom, system_atom>::with<system_counts>,
    // RTUs
    caf::replies_to<caf::get_atom, rtus_atom>::with<std::vector<rtu_record>>,
    caf::replies_to<create_atom, rtu_record, audit_entry>::with<rtu_record>,
    caf::replies_to<caf::update_atom, std::int64_t, rtu_update, audit_entry>::with<rtu_record>,
    caf::replies_to<caf::delete_atom, rtu_atom, std::int64_t, audit_entry>::with<caf::ok_atom>,
    // rtu id, auto_connect
    caf::replies_to<caf::connect_atom, std::int64_t, bool, audit_entry>::with<caf::ok_atom>,
    caf::reacts_to<rtu_transition, diagnostic_record>,
    caf::replies_to<discovery_result, diagnostic_record>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, sensors_atom, std::int64_t>::with<std::vector<sensor_record>>,
    caf::replies_to<caf::update_atom, sensor_record, audit_entry>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, actuators_atom, std::int64_t>::with<std::vector<control_record>>,
    caf::reacts_to<diag_atom, diagnostic_record>,
    caf::replies_to<caf::get_atom, diag_atom, std::int64_t, page>::with<paged<diagnostic_record>>,
    // PID loops: by station (input or output RTU; empty: all), by id, and their changes
    caf::replies_to<caf::get_atom, pid_atom, std::string>::with<std::vector<pid_loop_record>>,
    caf::replies_to<caf::get_atom, pid_atom, std::int64_t>::with<pid_loop_record>,
    caf::replies_to<create_atom, pid_loop_record, audit_entry>::with<pid_loop_record>,
    caf::replies_to<caf::update_atom, pid_loop_record, audit_entry>::with<pid_loop_record>,
    caf::replies_to<caf::delete_atom, pid_atom, std::int64_t, audit_entry>::with<caf::ok_atom>,
    // an edge node's loops as the central node assigns them: every row replaced, ids kept
    caf::replies_to<assign_atom, pid_atom, std::vector<pid_loop_record>,
                    audit_entry>::with<caf::ok_atom>,
    // the runtime state of running loops (output, setpoint, mode), not audited; one transaction
    caf::reacts_to<pid_output_atom, std::vector<pid_runtime>>,
    // alarms: rules, slot configs, and the state the alarm manager owns and writes
    caf::replies_to<caf::get_atom, alarm_rule_atom>::with<std::vector<alarm_rule_record>>,
    caf::replies_to<caf::get_atom, alarm_rule_atom, std::int64_t>::with<alarm_rule_record>,
    caf::replies_to<create_atom, alarm_rule_record, audit_entry>::with<alarm_rule_record>,
    caf::replies_to<caf::update_atom, alarm_rule_record, audit_entry>::with<alarm_rule_record>,
    caf::replies_to<caf::delete_atom, alarm_rule_atom, std::int64_t,
                    audit_entry>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, slot_config_atom>::with<std::vector<slot_config_record>>,
    caf::replies_to<caf::put_atom, slot_config_record, audit_entry>::with<slot_config_record>,
    caf::replies_to<caf::get_atom, alarm_state_atom>::with<alarm_restore>,
    caf::replies_to<alarm_state_batch>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, history_atom,
                    alarm_history_filter>::with<std::vector<alarm_event_record>>,
    // active only?
    caf::replies_to<caf::get_atom, shelf_atom, bool>::with<std::vector<alarm_shelf_record>>,
    // open (SCHEDULED, ACTIVE) only?
    caf::replies_to<caf::get_atom, maintenance_atom, bool>::with<std::vector<maintenance_record>>,
    // annunciated since
    caf::replies_to<caf::get_atom, alarm_rate_atom, timestamp_ms>::with<std::int64_t>,
    // historian: tags (audited); batches of points and rollup rows (one transaction, no audit);
    // range queries of one tag; the rollup rows of given keys; purge; statistics
    caf::replies_to<caf::get_atom, hist_tag_atom>::with<std::vector<historian_tag_record>>,
    caf::replies_to<caf::get_atom, hist_tag_atom, std::int64_t>::with<historian_tag_record>,
    caf::replies_to<create_atom, historian_tag_record, audit_entry>::with<historian_tag_record>,
    caf::replies_to<caf::update_atom, historian_tag_record,
                    audit_entry>::with<historian_tag_record>,
    caf::replies_to<caf::delete_atom, hist_tag_atom, std::int64_t, audit_entry>::with<caf::ok_atom>,
    caf::replies_to<historian_batch>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, historian_atom,
                    historian_filter>::with<std::vector<historian_point>>,
    caf::replies_to<caf::get_atom, hist_rollup_atom,
                    historian_filter>::with<std::vector<historian_rollup_row>>,
    caf::replies_to<caf::get_atom, hist_rollup_atom,
                    std::vector<historian_rollup_key>>::with<std::vector<historian_rollup_row>>,
    // tag id, before, max age -> the point before (none or one)
    caf::replies_to<caf::get_atom, hist_before_atom, std::int64_t, timestamp_ms,
                    std::int64_t>::with<std::vector<historian_point>>,
    // samples before, rollups before (0: none) -> rows deleted
    caf::replies_to<purge_atom, historian_atom, timestamp_ms, timestamp_ms>::with<std::int64_t>,
    caf::replies_to<caf::get_atom, stats_atom, historian_atom>::with<historian_stats>,
    caf::replies_to<stats_atom>::with<actor_stats>>;

/// Bcrypt work, kept off the shared scheduler: hashing costs a quarter of a second.
using password_worker_api =
    caf::typed_actor<caf::replies_to<verify_atom, std::string, std::string>::with<bool>,
                     caf::replies_to<hash_atom, std::string>::with<std::string>>;

/// The session manager: owns the live sessions and the login throttle, and fronts user
/// management so that a change to a user reaches that user's sessions at once.
using session_api = caf::typed_actor<
    // username, password, origin, user agent
    caf::replies_to<login_atom, std::string, std::string, request_origin,
                    std::string>::with<issued_token>,
    // token -> the session it opens
    caf::replies_to<validate_atom, std::string>::with<session_record>,
    caf::replies_to<logout_atom, std::string, request_origin>::with<caf::ok_atom>,
    caf::replies_to<refresh_atom, std::string, request_origin>::with<issued_token>,
    // token, current password, new password
    caf::replies_to<password_atom, std::string, std::string, std::string,
                    request_origin>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, users_atom, page>::with<paged<user_record>>,
    caf::replies_to<caf::get_atom, user_atom, std::int64_t>::with<user_record>,
    caf::replies_to<caf::get_atom, user_atom, std::string>::with<user_record>,
    // username, password, role, origin
    caf::replies_to<create_atom, user_atom, std::string, std::string, role,
                    request_origin>::with<user_record>,
    caf::replies_to<caf::update_atom, user_atom, std::int64_t, user_update,
                    request_origin>::with<user_record>,
    caf::replies_to<caf::delete_atom, user_atom, std::int64_t, request_origin>::with<caf::ok_atom>,
    caf::reacts_to<flush_atom>, caf::replies_to<stats_atom>::with<actor_stats>>;

/// What a subscriber of the field bus receives (a bit mask).
namespace topics {
constexpr std::uint32_t samples = 1;     // sample_batch, every cycle of every RTU
constexpr std::uint32_t actuators = 2;   // actuator_batch, on a change
constexpr std::uint32_t rtu_events = 4;  // rtu_event, on every state change
constexpr std::uint32_t all = samples | actuators | rtu_events;
}  // namespace topics

/// Publish/subscribe between the rtu_actors and whoever needs live data (live hub, PID loops,
/// alarm manager, historian): publishers send here, subscribers get what they subscribed to,
/// and nobody polls an rtu_actor. A subscriber is monitored and dropped when it ends; it
/// subscribes again if the bus itself is restarted (it monitors the bus).
using field_bus_api = caf::typed_actor<
    // subscriber, station (empty: every RTU), topics
    caf::reacts_to<subscribe_atom, caf::actor, std::string, std::uint32_t>,
    caf::reacts_to<unsubscribe_atom, caf::actor>, caf::reacts_to<sample_batch>,
    caf::reacts_to<actuator_batch>, caf::reacts_to<rtu_event>,
    caf::replies_to<stats_atom>::with<actor_stats>>;

/// The RTU fleet: owns the rtu_actors (one per RTU) and answers for them. Configuration changes
/// go through it (it persists them and reconfigures the actor); live reads are delegated to the
/// RTU's own actor, the owner of its values. Station names and tags are the keys.
using rtus_api = caf::typed_actor<
    caf::replies_to<caf::get_atom, rtus_atom>::with<std::vector<rtu_record>>,
    caf::replies_to<caf::get_atom, rtu_atom, std::string>::with<rtu_record>,
    caf::replies_to<create_atom, rtu_record, request_origin>::with<rtu_record>,
    caf::replies_to<caf::update_atom, std::string, rtu_update, request_origin>::with<rtu_record>,
    caf::replies_to<caf::delete_atom, std::string, request_origin>::with<caf::ok_atom>,
    caf::replies_to<caf::connect_atom, std::string, request_origin>::with<rtu_record>,
    caf::replies_to<disconnect_atom, std::string, request_origin>::with<rtu_record>,
    caf::replies_to<health_atom, std::string>::with<rtu_health>,
    caf::replies_to<caf::get_atom, sensors_atom, std::string>::with<std::vector<sensor_reading>>,
    caf::replies_to<caf::get_atom, sensor_atom, std::string>::with<sensor_reading>,
    // tag, changes, origin -> the sensor as configured now
    caf::replies_to<caf::update_atom, sensor_atom, std::string, sensor_settings,
                    request_origin>::with<sensor_reading>,
    caf::replies_to<caf::get_atom, actuators_atom, std::string>::with<std::vector<actuator_state>>,
    // station, command, origin -> the actuator's state after the write
    caf::replies_to<command_atom, std::string, actuator_command,
                    request_origin>::with<actuator_state>,
    caf::replies_to<caf::get_atom, diag_atom, std::string, page>::with<paged<diagnostic_record>>,
    caf::replies_to<stats_atom>::with<actor_stats>>;

/// The PID loops (actors/pid_manager): one pid_actor per enabled loop, configuration changes
/// persisted with their audit row, and a read model of what every loop is doing. A loop is
/// addressed under a station, one of its input or output RTUs; elsewhere it is not found.
using pid_api = caf::typed_actor<
    // station -> the loops reading from or writing to it, by id
    caf::replies_to<caf::get_atom, pid_atom, std::string>::with<std::vector<pid_loop_view>>,
    caf::replies_to<caf::get_atom, pid_atom, std::string, std::int64_t>::with<pid_loop_view>,
    caf::replies_to<create_atom, pid_loop_record, request_origin>::with<pid_loop_view>,
    // station, id, change, audit action (pid_update, pid_setpoint, pid_mode, pid_tuning), origin
    caf::replies_to<caf::update_atom, std::string, std::int64_t, pid_loop_patch, std::string,
                    request_origin>::with<pid_loop_view>,
    caf::replies_to<caf::delete_atom, std::string, std::int64_t,
                    request_origin>::with<caf::ok_atom>,
    // On the central node. Node name -> the loops that run there, as the node should run them
    // (asked by the node registry whenever the node's placement changes).
    caf::replies_to<caf::get_atom, pid_atom, node_atom,
                    std::string>::with<std::vector<pid_loop_record>>,
    // From an edge node, through the node registry: what the loops running there are doing, with
    // the configuration they run (its updated_at tells a report that predates a change).
    caf::reacts_to<pid_atom, std::string, std::vector<pid_loop_view>>,
    // On an edge node, from its uplink: exactly these loops run here (the central node's).
    caf::reacts_to<assign_atom, std::vector<pid_loop_record>>,
    caf::replies_to<stats_atom>::with<actor_stats>>;

/// The alarm manager (actors/alarm_manager): evaluates every sample against the rules, owns the
/// state of every alarm, shelf and maintenance window, and persists each change before it answers.
/// Alarms are addressed by their alarm_events id, shelves and windows by their row's id.
using alarm_api = caf::typed_actor<
    // severity, rtu_station, state (empty: any) -> the active-alarm list, newest first
    caf::replies_to<caf::get_atom, alarms_atom, std::string, std::string,
                    std::string>::with<std::vector<alarm_event_record>>,
    // alarm id, note
    caf::replies_to<ack_atom, std::int64_t, std::string, request_origin>::with<alarm_event_record>,
    caf::replies_to<caf::get_atom, alarm_rule_atom>::with<std::vector<alarm_rule_record>>,
    caf::replies_to<caf::get_atom, alarm_rule_atom, std::int64_t>::with<alarm_rule_record>,
    caf::replies_to<create_atom, alarm_rule_record, request_origin>::with<alarm_rule_record>,
    caf::replies_to<caf::update_atom, alarm_rule_record, request_origin>::with<alarm_rule_record>,
    caf::replies_to<caf::delete_atom, alarm_rule_atom, std::int64_t,
                    request_origin>::with<caf::ok_atom>,
    caf::replies_to<caf::put_atom, slot_config_record, request_origin>::with<slot_config_record>,
    // the active shelves
    caf::replies_to<caf::get_atom, shelf_atom>::with<std::vector<alarm_shelf_record>>,
    caf::replies_to<shelf_atom, alarm_shelf_record, request_origin>::with<alarm_shelf_record>,
    caf::replies_to<unshelve_atom, std::int64_t, request_origin>::with<alarm_shelf_record>,
    caf::replies_to<maintenance_atom, maintenance_record, request_origin>::with<maintenance_record>,
    caf::replies_to<cancel_atom, std::int64_t, request_origin>::with<maintenance_record>,
    caf::replies_to<caf::get_atom, stats_atom, alarm_atom>::with<alarm_statistics>,
    caf::replies_to<stats_atom>::with<actor_stats>>;

/// The historian (actors/historian): records the samples of its tags, compressed, with minute and
/// hour rollups, and answers trend queries from whichever of them serves best. Tag changes go
/// through it (persisted with their audit row) so that it applies them at once. It also takes
/// sample_batch messages straight from a sender other than the field bus (an edge node's backfill).
using historian_api = caf::typed_actor<
    caf::replies_to<caf::get_atom, hist_tag_atom>::with<std::vector<historian_tag_record>>,
    caf::replies_to<caf::get_atom, hist_tag_atom, std::int64_t>::with<historian_tag_record>,
    caf::replies_to<create_atom, historian_tag_record, request_origin>::with<historian_tag_record>,
    caf::replies_to<caf::update_atom, historian_tag_record,
                    request_origin>::with<historian_tag_record>,
    caf::replies_to<caf::delete_atom, hist_tag_atom, std::int64_t,
                    request_origin>::with<caf::ok_atom>,
    caf::replies_to<caf::get_atom, trend_atom, trend_query>::with<trend_series>,
    caf::replies_to<caf::get_atom, stats_atom, historian_atom>::with<historian_status>,
    caf::reacts_to<sample_batch>,
    // writes everything received so far (compressors flushed too); answers once it is stored
    caf::replies_to<flush_atom, historian_atom>::with<caf::ok_atom>,
    caf::replies_to<stats_atom>::with<actor_stats>>;

/// An edge node's agent (actors/edge_uplink), as the central node sees it: it takes the RTUs the
/// central node places on its node, and answers heartbeats with its buffer's state.
using edge_agent_api = caf::typed_actor<
    caf::reacts_to<assign_atom, std::vector<rtu_record>>,
    // the PID loops that run on the node (sent after its RTUs)
    caf::reacts_to<assign_atom, std::vector<pid_loop_record>>,
    caf::replies_to<heartbeat_atom, timestamp_ms>::with<timestamp_ms, edge_status>>;

/// The central node's registry of edge nodes (actors/node_registry), published to the edges
/// through CAF's middleman. An edge joins with its agent and its RTU fleet, then forwards what
/// its field bus carries, in sequence; the registry hands it on to the central node's field bus
/// (live data) or the historian (backfill) and acknowledges it once handed on.
using node_registry_api = caf::typed_actor<
    caf::replies_to<join_atom, node_hello, edge_agent_api, rtus_api>::with<node_ack>,
    // node name, packets in sequence -> the highest seq of them now taken
    caf::replies_to<forward_atom, std::string, std::vector<node_packet>>::with<node_ack>,
    // node name, what its PID loops are doing (once a second, not buffered: a snapshot is stale
    // by the time a link comes back)
    caf::reacts_to<pid_atom, std::string, std::vector<pid_loop_view>>,
    caf::replies_to<caf::get_atom, nodes_atom>::with<std::vector<node_info>>,
    caf::replies_to<caf::get_atom, node_atom, std::string>::with<node_info>,
    // from the RTU fleet: the RTUs placed on this node changed
    caf::reacts_to<assign_atom, std::string>, caf::replies_to<stats_atom>::with<actor_stats>>;

/// The handle registered under `name`, or an invalid handle while that actor is (re)starting.
template <class Handle>
Handle lookup(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<Handle>(sys.registry().get(name));
}

/// The root supervisor: reports on its children. (It sends itself `restart_atom` after a
/// child's backoff delay.)
using supervisor_api = caf::typed_actor<caf::replies_to<stats_atom>::with<std::vector<actor_stats>>,
                                        caf::reacts_to<restart_atom, std::size_t>>;

}  // namespace wtc
