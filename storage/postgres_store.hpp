#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pqxx/connection>

#include "storage/store.hpp"

namespace wtc::storage {

/// The PostgreSQL backend, through libpqxx. Every statement is prepared once per connection; a
/// lost connection fails the call in progress with `unavailable` and is re-established by the
/// next call.
class postgres_store final : public store {
 public:
  /// Connects to `url` (a libpq URI); throws storage_error(unavailable) when the server cannot be
  /// reached.
  explicit postgres_store(std::string url);

  std::string_view backend() const override { return "postgresql"; }
  int migrate() override;
  std::string historian_layout() override;
  int schema_version() override;
  void ping() override;

  std::optional<user_record> find_user(std::string_view username) override;
  std::optional<user_record> find_user_by_id(std::int64_t id) override;
  paged<user_record> list_users(const page& window) override;
  std::int64_t count_users() override;
  system_counts count_system() override;
  user_record create_user(const user_record& user, const audit_entry& audit) override;
  user_record update_user(std::int64_t id, const user_update& update, timestamp_ms now,
                          const audit_entry& audit) override;
  void set_password(std::int64_t id, const std::string& password_hash, timestamp_ms now,
                    const audit_entry& audit) override;
  void delete_user(std::int64_t id, const audit_entry& audit) override;
  void record_login(std::int64_t id, timestamp_ms at) override;

  void create_session(const session_record& session, const audit_entry& audit) override;
  std::vector<session_record> load_sessions(timestamp_ms now) override;
  void delete_session(const std::string& token_hash, const audit_entry& audit) override;
  void replace_session(const std::string& old_token_hash, const session_record& fresh,
                       const audit_entry& audit) override;
  void touch_sessions(const std::vector<std::pair<std::string, timestamp_ms>>& activity) override;
  std::int64_t purge_expired_sessions(timestamp_ms now) override;

  std::vector<rtu_record> list_rtus() override;
  std::optional<rtu_record> find_rtu(std::string_view station_name) override;
  rtu_record create_rtu(const rtu_record& rtu, const audit_entry& audit) override;
  rtu_record update_rtu(std::int64_t id, const rtu_update& update, timestamp_ms now,
                        const audit_entry& audit) override;
  void delete_rtu(std::int64_t id, const audit_entry& audit) override;
  void set_rtu_auto_connect(std::int64_t id, bool auto_connect, const audit_entry& audit) override;
  void record_rtu_transition(const rtu_transition& transition,
                             const diagnostic_record& diagnostic) override;
  void apply_discovery(const discovery_result& found, timestamp_ms now,
                       const diagnostic_record& diagnostic) override;
  std::vector<slot_record> list_slots(std::int64_t rtu_id) override;
  std::vector<sensor_record> list_sensors(std::int64_t rtu_id) override;
  std::vector<control_record> list_controls(std::int64_t rtu_id) override;
  void update_sensor(const sensor_record& sensor, timestamp_ms now,
                     const audit_entry& audit) override;

  std::vector<pid_loop_record> list_pid_loops(std::string_view station) override;
  std::optional<pid_loop_record> get_pid_loop(std::int64_t id) override;
  pid_loop_record create_pid_loop(const pid_loop_record& loop, const audit_entry& audit) override;
  pid_loop_record update_pid_loop(const pid_loop_record& loop, timestamp_ms now,
                                  const audit_entry& audit) override;
  void delete_pid_loop(std::int64_t id, const audit_entry& audit) override;
  void replace_pid_loops(const std::vector<pid_loop_record>& loops,
                         const audit_entry& audit) override;
  bool save_pid_output(std::int64_t id, double output, double setpoint,
                       std::string_view mode) override;
  std::size_t save_pid_outputs(const std::vector<pid_runtime>& states) override;

  std::vector<alarm_rule_record> list_alarm_rules() override;
  std::optional<alarm_rule_record> get_alarm_rule(std::int64_t id) override;
  alarm_rule_record create_alarm_rule(const alarm_rule_record& rule,
                                      const audit_entry& audit) override;
  alarm_rule_record update_alarm_rule(const alarm_rule_record& rule, timestamp_ms now,
                                      const audit_entry& audit) override;
  void delete_alarm_rule(std::int64_t id, const audit_entry& audit) override;
  std::vector<slot_config_record> list_slot_configs() override;
  slot_config_record save_slot_config(const slot_config_record& config,
                                      const audit_entry& audit) override;
  alarm_restore load_alarm_state() override;
  void save_alarm_state(const alarm_state_batch& batch) override;
  std::vector<alarm_event_record> query_alarm_history(const alarm_history_filter& filter) override;
  std::vector<alarm_shelf_record> list_shelves(bool active_only) override;
  std::vector<maintenance_record> list_maintenance(bool open_only) override;
  std::int64_t count_annunciated_alarms(timestamp_ms since) override;

  std::vector<historian_tag_record> list_historian_tags() override;
  std::optional<historian_tag_record> get_historian_tag(std::int64_t id) override;
  historian_tag_record create_historian_tag(const historian_tag_record& tag,
                                            const audit_entry& audit) override;
  historian_tag_record update_historian_tag(const historian_tag_record& tag, timestamp_ms now,
                                            const audit_entry& audit) override;
  void delete_historian_tag(std::int64_t id, const audit_entry& audit) override;
  void append_historian(const historian_batch& batch) override;
  std::vector<historian_point> query_historian(const historian_filter& filter) override;
  std::vector<historian_rollup_row> query_historian_rollups(
      const historian_filter& filter) override;
  std::optional<historian_point> historian_point_before(std::int64_t tag_id, timestamp_ms before,
                                                        std::int64_t max_age_ms) override;
  std::vector<historian_rollup_row> get_historian_rollups(
      const std::vector<historian_rollup_key>& keys) override;
  std::int64_t purge_historian(timestamp_ms samples_before, timestamp_ms rollups_before) override;
  historian_stats historian_statistics() override;
  void append_diagnostic(const diagnostic_record& diagnostic) override;
  paged<diagnostic_record> list_diagnostics(std::int64_t rtu_id, const page& window) override;

  void append_audit(const audit_entry& entry) override;
  paged<audit_entry> query_audit(const audit_filter& filter) override;

 private:
  pqxx::connection& connection();
  /// Runs `body` on the connection, translating every failure into a storage_error.
  template <class Body>
  auto guarded(std::string_view context, Body&& body)
      -> decltype(body(std::declval<pqxx::connection&>()));
  [[noreturn]] void translate_current_exception(std::string_view context);
  void use_timescale_if_installed();

  std::string url_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace wtc::storage
