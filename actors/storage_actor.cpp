#include "actors/storage_actor.hpp"

#include "actors/mailbox_depth.hpp"

#include <chrono>

#include <spdlog/spdlog.h>
#include <caf/result.hpp>

#include "core/time.hpp"
#include "messages/errors.hpp"

namespace wtc {
namespace {

/// Runs one storage call and turns a storage_error into the domain error the requester sees.
template <class F>
auto guarded(F&& call) -> caf::result<decltype(call())> {
  try {
    return call();
  } catch (const storage::storage_error& e) {
    if (e.code() == errc::unavailable || e.code() == errc::internal)
      spdlog::error("storage: {}", e.what());
    return make_error(e.code(), e.what());
  }
}

db_health probe(storage::store& db) {
  db_health health;
  health.backend = std::string(db.backend());
  const auto start = std::chrono::steady_clock::now();
  try {
    db.ping();
    health.ok = true;
  } catch (const std::exception& e) {
    health.error = e.what();
  }
  health.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return health;
}

}  // namespace

storage_api::behavior_type storage_actor(storage_api::stateful_pointer<storage_state> self,
                                         storage::db_config config,
                                         std::shared_ptr<health_board> board) {
  self->state.db = storage::open_store(config);
  self->state.db->migrate();
  self->state.board = std::move(board);
  // The first probe is published before anything is answered: /health is right from the start.
  self->state.board->publish_db(probe(*self->state.db), core::now_ms());
  self->delayed_send(self, db_probe_interval, probe_atom::value);
  auto& db = *self->state.db;
  return {
      [&db](caf::ping_atom) { return probe(db); },
      [self, &db](probe_atom) {
        self->state.board->publish_db(probe(db), core::now_ms());
        self->delayed_send(self, db_probe_interval, probe_atom::value);
      },
      [&db](caf::get_atom, user_atom, const std::string& username) -> caf::result<user_record> {
        return guarded([&]() -> user_record {
          if (auto found = db.find_user(username))
            return *found;
          throw storage::storage_error(errc::not_found, "no user named '" + username + "'");
        });
      },
      [&db](caf::get_atom, user_atom, std::int64_t id) -> caf::result<user_record> {
        return guarded([&]() -> user_record {
          if (auto found = db.find_user_by_id(id))
            return *found;
          throw storage::storage_error(errc::not_found, "no user with id " + std::to_string(id));
        });
      },
      [&db](caf::get_atom, users_atom, page window) -> caf::result<paged<user_record>> {
        return guarded([&] { return db.list_users(window); });
      },
      [&db](create_atom, const user_record& user,
            const audit_entry& audit) -> caf::result<user_record> {
        return guarded([&] { return db.create_user(user, audit); });
      },
      [&db](caf::update_atom, std::int64_t id, const user_update& update,
            const audit_entry& audit) -> caf::result<user_record> {
        return guarded([&] { return db.update_user(id, update, audit.timestamp, audit); });
      },
      [&db](password_atom, std::int64_t id, const std::string& hash,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.set_password(id, hash, audit.timestamp, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::delete_atom, user_atom, std::int64_t id,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.delete_user(id, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](login_ok_atom, std::int64_t id, timestamp_ms at) {
        guarded([&] {
          db.record_login(id, at);
          return caf::ok_atom::value;
        });
      },
      [&db](create_atom, const session_record& session,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.create_session(session, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, sessions_atom,
            timestamp_ms now) -> caf::result<std::vector<session_record>> {
        return guarded([&] { return db.load_sessions(now); });
      },
      [&db](caf::delete_atom, session_atom, const std::string& token_hash,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.delete_session(token_hash, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](refresh_atom, const std::string& old_hash, const session_record& fresh,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.replace_session(old_hash, fresh, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](touch_atom, const std::vector<std::pair<std::string, timestamp_ms>>& activity) {
        guarded([&] {
          db.touch_sessions(activity);
          return caf::ok_atom::value;
        });
      },
      [&db](purge_atom, timestamp_ms now) {
        guarded([&] {
          if (auto n = db.purge_expired_sessions(now); n > 0)
            spdlog::info("storage: purged {} expired sessions", n);
          return caf::ok_atom::value;
        });
      },
      [&db](audit_atom, const audit_entry& entry) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.append_audit(entry);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, audit_atom,
            const audit_filter& filter) -> caf::result<paged<audit_entry>> {
        return guarded([&] { return db.query_audit(filter); });
      },
      [&db](caf::get_atom, system_atom) -> caf::result<system_counts> {
        return guarded([&] { return db.count_system(); });
      },
      [&db](caf::get_atom, rtus_atom) -> caf::result<std::vector<rtu_record>> {
        return guarded([&] { return db.list_rtus(); });
      },
      [&db](create_atom, const rtu_record& rtu, const audit_entry& audit)
          -> caf::result<rtu_record> { return guarded([&] { return db.create_rtu(rtu, audit); }); },
      [&db](caf::update_atom, std::int64_t id, const rtu_update& update,
            const audit_entry& audit) -> caf::result<rtu_record> {
        return guarded([&] { return db.update_rtu(id, update, audit.timestamp, audit); });
      },
      [&db](caf::delete_atom, rtu_atom, std::int64_t id,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.delete_rtu(id, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::connect_atom, std::int64_t id, bool auto_connect,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.set_rtu_auto_connect(id, auto_connect, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](const rtu_transition& transition, const diagnostic_record& diagnostic) {
        guarded([&] {
          db.record_rtu_transition(transition, diagnostic);
          return caf::ok_atom::value;
        });
      },
      [&db](const discovery_result& found,
            const diagnostic_record& diagnostic) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.apply_discovery(found, diagnostic.timestamp, diagnostic);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, pid_atom,
            const std::string& station) -> caf::result<std::vector<pid_loop_record>> {
        return guarded([&] { return db.list_pid_loops(station); });
      },
      [&db](caf::get_atom, pid_atom, std::int64_t id) -> caf::result<pid_loop_record> {
        return guarded([&]() -> pid_loop_record {
          if (auto found = db.get_pid_loop(id))
            return *found;
          throw storage::storage_error(errc::not_found,
                                       "no PID loop with id " + std::to_string(id));
        });
      },
      [&db](create_atom, const pid_loop_record& loop,
            const audit_entry& audit) -> caf::result<pid_loop_record> {
        return guarded([&] { return db.create_pid_loop(loop, audit); });
      },
      [&db](caf::update_atom, const pid_loop_record& loop,
            const audit_entry& audit) -> caf::result<pid_loop_record> {
        return guarded([&] { return db.update_pid_loop(loop, audit.timestamp, audit); });
      },
      [&db](caf::delete_atom, pid_atom, std::int64_t id,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.delete_pid_loop(id, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](assign_atom, pid_atom, const std::vector<pid_loop_record>& loops,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.replace_pid_loops(loops, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](pid_output_atom, const std::vector<pid_runtime>& states) {
        guarded([&] {
          db.save_pid_outputs(states);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, alarm_rule_atom) -> caf::result<std::vector<alarm_rule_record>> {
        return guarded([&] { return db.list_alarm_rules(); });
      },
      [&db](caf::get_atom, alarm_rule_atom, std::int64_t id) -> caf::result<alarm_rule_record> {
        return guarded([&]() -> alarm_rule_record {
          if (auto found = db.get_alarm_rule(id))
            return *found;
          throw storage::storage_error(errc::not_found,
                                       "no alarm rule with id " + std::to_string(id));
        });
      },
      [&db](create_atom, const alarm_rule_record& rule,
            const audit_entry& audit) -> caf::result<alarm_rule_record> {
        return guarded([&] { return db.create_alarm_rule(rule, audit); });
      },
      [&db](caf::update_atom, const alarm_rule_record& rule,
            const audit_entry& audit) -> caf::result<alarm_rule_record> {
        return guarded([&] { return db.update_alarm_rule(rule, audit.timestamp, audit); });
      },
      [&db](caf::delete_atom, alarm_rule_atom, std::int64_t id,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.delete_alarm_rule(id, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, slot_config_atom) -> caf::result<std::vector<slot_config_record>> {
        return guarded([&] { return db.list_slot_configs(); });
      },
      [&db](caf::put_atom, const slot_config_record& slot_config,
            const audit_entry& audit) -> caf::result<slot_config_record> {
        return guarded([&] { return db.save_slot_config(slot_config, audit); });
      },
      [&db](caf::get_atom, alarm_state_atom) -> caf::result<alarm_restore> {
        return guarded([&] { return db.load_alarm_state(); });
      },
      [&db](const alarm_state_batch& batch) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.save_alarm_state(batch);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, history_atom,
            const alarm_history_filter& filter) -> caf::result<std::vector<alarm_event_record>> {
        return guarded([&] { return db.query_alarm_history(filter); });
      },
      [&db](caf::get_atom, shelf_atom,
            bool active_only) -> caf::result<std::vector<alarm_shelf_record>> {
        return guarded([&] { return db.list_shelves(active_only); });
      },
      [&db](caf::get_atom, maintenance_atom,
            bool open_only) -> caf::result<std::vector<maintenance_record>> {
        return guarded([&] { return db.list_maintenance(open_only); });
      },
      [&db](caf::get_atom, alarm_rate_atom, timestamp_ms since) -> caf::result<std::int64_t> {
        return guarded([&] { return db.count_annunciated_alarms(since); });
      },
      [&db](caf::get_atom, hist_tag_atom) -> caf::result<std::vector<historian_tag_record>> {
        return guarded([&] { return db.list_historian_tags(); });
      },
      [&db](caf::get_atom, hist_tag_atom, std::int64_t id) -> caf::result<historian_tag_record> {
        return guarded([&]() -> historian_tag_record {
          if (auto found = db.get_historian_tag(id))
            return *found;
          throw storage::storage_error(errc::not_found,
                                       "no historian tag with id " + std::to_string(id));
        });
      },
      [&db](create_atom, const historian_tag_record& tag,
            const audit_entry& audit) -> caf::result<historian_tag_record> {
        return guarded([&] { return db.create_historian_tag(tag, audit); });
      },
      [&db](caf::update_atom, const historian_tag_record& tag,
            const audit_entry& audit) -> caf::result<historian_tag_record> {
        return guarded([&] { return db.update_historian_tag(tag, audit.timestamp, audit); });
      },
      [&db](caf::delete_atom, hist_tag_atom, std::int64_t id,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.delete_historian_tag(id, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](const historian_batch& batch) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.append_historian(batch);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, historian_atom,
            const historian_filter& filter) -> caf::result<std::vector<historian_point>> {
        return guarded([&] { return db.query_historian(filter); });
      },
      [&db](caf::get_atom, hist_rollup_atom,
            const historian_filter& filter) -> caf::result<std::vector<historian_rollup_row>> {
        return guarded([&] { return db.query_historian_rollups(filter); });
      },
      [&db](caf::get_atom, hist_rollup_atom, const std::vector<historian_rollup_key>& keys)
          -> caf::result<std::vector<historian_rollup_row>> {
        return guarded([&] { return db.get_historian_rollups(keys); });
      },
      [&db](caf::get_atom, hist_before_atom, std::int64_t tag_id, timestamp_ms before,
            std::int64_t max_age_ms) -> caf::result<std::vector<historian_point>> {
        return guarded([&] {
          std::vector<historian_point> found;
          if (auto point = db.historian_point_before(tag_id, before, max_age_ms))
            found.push_back(*point);
          return found;
        });
      },
      [&db](purge_atom, historian_atom, timestamp_ms samples_before,
            timestamp_ms rollups_before) -> caf::result<std::int64_t> {
        return guarded([&] { return db.purge_historian(samples_before, rollups_before); });
      },
      [&db](caf::get_atom, stats_atom, historian_atom) -> caf::result<historian_stats> {
        return guarded([&] { return db.historian_statistics(); });
      },
      [&db](caf::get_atom, sensors_atom,
            std::int64_t rtu_id) -> caf::result<std::vector<sensor_record>> {
        return guarded([&] { return db.list_sensors(rtu_id); });
      },
      [&db](caf::update_atom, const sensor_record& sensor,
            const audit_entry& audit) -> caf::result<caf::ok_atom> {
        return guarded([&] {
          db.update_sensor(sensor, audit.timestamp, audit);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, actuators_atom,
            std::int64_t rtu_id) -> caf::result<std::vector<control_record>> {
        return guarded([&] { return db.list_controls(rtu_id); });
      },
      [&db](diag_atom, const diagnostic_record& diagnostic) {
        guarded([&] {
          db.append_diagnostic(diagnostic);
          return caf::ok_atom::value;
        });
      },
      [&db](caf::get_atom, diag_atom, std::int64_t rtu_id,
            page window) -> caf::result<paged<diagnostic_record>> {
        return guarded([&] { return db.list_diagnostics(rtu_id, window); });
      },
      [self](stats_atom) -> actor_stats {
        return {storage_state::name, mailbox_depth(self), 0};
      },
  };
}

}  // namespace wtc
