#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/alarm_types.hpp"
#include "messages/control_types.hpp"
#include "messages/errors.hpp"
#include "messages/field_types.hpp"
#include "messages/historian_types.hpp"
#include "messages/types.hpp"

namespace wtc::storage {

/// A failure of the database, classified so that the caller can answer the client precisely:
/// `conflict` for a unique-constraint violation, `not_found` for a missing row, `unavailable` for a
/// lost connection, `internal` for anything else.
class storage_error : public std::runtime_error {
 public:
  storage_error(errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  errc code() const noexcept { return code_; }

 private:
  errc code_;
};

/// Where the data lives. An empty `url` selects the embedded SQLite database in `data_dir`.
struct db_config {
  std::string url;  // "postgresql://user:pw@host:port/db", "sqlite:///path/file.db" or empty
  std::string data_dir = "./wtc-data";
};

/// The storage interface. One instance is one connection and is not thread-safe: the storage actor
/// owns it on a thread of its own. Every method that changes data takes the audit entry of that
/// change and writes both in one transaction, so no change is ever stored without its audit row.
/// Timestamps are UTC milliseconds (messages/types.hpp). Failures throw storage_error.
class store {
 public:
  virtual ~store() = default;

  /// "sqlite" or "postgresql".
  virtual std::string_view backend() const = 0;

  /// Applies every numbered migration newer than the recorded schema version, each in its own
  /// transaction, and returns the version now in force.
  virtual int migrate() = 0;
  virtual int schema_version() = 0;
  /// How historian_samples is kept: "hypertable" (PostgreSQL with TimescaleDB installed in the
  /// database: migrate() converts it, one-day chunks as the contract's notes say) or "table".
  virtual std::string historian_layout() = 0;

  /// A round trip to the database (SELECT 1); throws when it cannot be reached.
  virtual void ping() = 0;

  /// RTU and alarm counts for the system status.
  virtual system_counts count_system() = 0;

  // --- users ---
  virtual std::optional<user_record> find_user(std::string_view username) = 0;
  virtual std::optional<user_record> find_user_by_id(std::int64_t id) = 0;
  virtual paged<user_record> list_users(const page& window) = 0;
  virtual std::int64_t count_users() = 0;
  /// Returns the stored row with its id and timestamps. A duplicate username is a conflict.
  virtual user_record create_user(const user_record& user, const audit_entry& audit) = 0;
  /// Applies the set fields. Deactivating a user deletes its sessions; a role change updates the
  /// role cached in its sessions. A missing id is not_found.
  virtual user_record update_user(std::int64_t id, const user_update& update, timestamp_ms now,
                                  const audit_entry& audit) = 0;
  /// Stores a new password hash and deletes every session of the user.
  virtual void set_password(std::int64_t id, const std::string& password_hash, timestamp_ms now,
                            const audit_entry& audit) = 0;
  /// Deletes the user and its sessions. A missing id is not_found.
  virtual void delete_user(std::int64_t id, const audit_entry& audit) = 0;
  virtual void record_login(std::int64_t id, timestamp_ms at) = 0;

  // --- sessions (keyed by the token's hash) ---
  virtual void create_session(const session_record& session, const audit_entry& audit) = 0;
  /// Every session that has not expired at `now`.
  virtual std::vector<session_record> load_sessions(timestamp_ms now) = 0;
  virtual void delete_session(const std::string& token_hash, const audit_entry& audit) = 0;
  /// Swaps a session for a new one in one transaction (token refresh).
  virtual void replace_session(const std::string& old_token_hash, const session_record& fresh,
                               const audit_entry& audit) = 0;
  /// Writes last_activity for many sessions in one transaction; unknown hashes are ignored.
  virtual void touch_sessions(
      const std::vector<std::pair<std::string, timestamp_ms>>& activity) = 0;
  /// Deletes sessions that expired before `now`; returns how many.
  virtual std::int64_t purge_expired_sessions(timestamp_ms now) = 0;

  // --- RTUs, their slots, sensors and controls ---
  /// Ordered by station name.
  virtual std::vector<rtu_record> list_rtus() = 0;
  virtual std::optional<rtu_record> find_rtu(std::string_view station_name) = 0;
  /// Returns the stored row. A duplicate station name, or a duplicate endpoint (ip_address, port,
  /// unit_id), is a conflict.
  virtual rtu_record create_rtu(const rtu_record& rtu, const audit_entry& audit) = 0;
  /// Applies the set fields; conflicts as for create. A missing id is not_found.
  virtual rtu_record update_rtu(std::int64_t id, const rtu_update& update, timestamp_ms now,
                                const audit_entry& audit) = 0;
  /// Deletes the RTU with its slots, sensors, controls and diagnostics.
  virtual void delete_rtu(std::int64_t id, const audit_entry& audit) = 0;
  /// Whether the RTU connects by itself at start-up (set by connect, cleared by disconnect).
  virtual void set_rtu_auto_connect(std::int64_t id, bool auto_connect,
                                    const audit_entry& audit) = 0;
  /// Persists a state transition and its diagnostic in one transaction.
  virtual void record_rtu_transition(const rtu_transition& transition,
                                     const diagnostic_record& diagnostic) = 0;
  /// Merges what discovery found (see discovery_result) and the RTU's identification into the
  /// rows, with its diagnostic, in one transaction. Slots, sensors and controls the device no
  /// longer has are kept (an engineer's configuration is never dropped by a scan); their slot
  /// status becomes PULLED.
  virtual void apply_discovery(const discovery_result& found, timestamp_ms now,
                               const diagnostic_record& diagnostic) = 0;
  /// Ordered by slot number.
  virtual std::vector<slot_record> list_slots(std::int64_t rtu_id) = 0;
  /// Ordered by slot number and channel.
  virtual std::vector<sensor_record> list_sensors(std::int64_t rtu_id) = 0;
  virtual std::vector<control_record> list_controls(std::int64_t rtu_id) = 0;
  /// Stores an engineer's configuration of a sensor (type, unit, scaling, deadband; the tag,
  /// slot and channel stay) by its id. A missing id is not_found.
  virtual void update_sensor(const sensor_record& sensor, timestamp_ms now,
                             const audit_entry& audit) = 0;

  // --- PID loops (pid_loops) ---
  /// Ordered by id. An empty `station` lists every loop; a station name lists the loops that read
  /// from or write to that RTU (input_rtu or output_rtu is the station).
  virtual std::vector<pid_loop_record> list_pid_loops(std::string_view station) = 0;
  virtual std::optional<pid_loop_record> get_pid_loop(std::int64_t id) = 0;
  /// Stores a new loop (its id ignored, its created_at and updated_at as given) and returns the
  /// stored row with its id. input_rtu and output_rtu must name RTUs and cascade_from (if set) a
  /// loop, else not_found; a non-finite number, or CASCADE without cascade_from, is a bad_request,
  /// as is a value a CHECK refuses (mode, on_bad_measurement, scan_period_ms, output limits).
  virtual pid_loop_record create_pid_loop(const pid_loop_record& loop,
                                          const audit_entry& audit) = 0;
  /// Writes every column of the row `loop.id` (created_at excepted) with updated_at = now, and
  /// returns the stored row. A missing id is not_found; the rest as for create, and a
  /// cascade_from that would close a cycle of cascades is a bad_request.
  virtual pid_loop_record update_pid_loop(const pid_loop_record& loop, timestamp_ms now,
                                          const audit_entry& audit) = 0;
  /// A missing id is not_found; a loop that is the cascade_from of another is a conflict.
  virtual void delete_pid_loop(std::int64_t id, const audit_entry& audit) = 0;
  /// An edge node's loops as the central node assigns them: every pid_loops row replaced by
  /// `loops` in one transaction, with their ids, runtime state (output, setpoint, mode) and
  /// timestamps as given, and `audit` written. The RTUs they name need not be in this store (the
  /// central node checked them); a cascade_from must name a loop of `loops`. On any error nothing
  /// changes.
  virtual void replace_pid_loops(const std::vector<pid_loop_record>& loops,
                                 const audit_entry& audit) = 0;
  /// What a running loop persists so that a restart resumes it: the last output, the setpoint it
  /// tracked and its mode. No audit row and no updated_at (that is the configuration's time): one
  /// statement, and none written when nothing changed. Returns whether the row changed. A missing
  /// id is not_found; a non-finite number, a mode the CHECK refuses, or CASCADE for a loop without
  /// cascade_from is a bad_request.
  virtual bool save_pid_output(std::int64_t id, double output, double setpoint,
                               std::string_view mode) = 0;
  /// save_pid_output for many loops in one transaction (one fsync for all), with its statement
  /// per row; returns how many rows changed. A loop that no longer exists is skipped (deleted
  /// while its state was on the way), as is CASCADE for a loop without cascade_from (its
  /// configuration changed meanwhile). Skipped rather than refused: the rows keep what the
  /// configuration set, and the sender (fire and forget) would not send the others again.
  /// A non-finite number, or a mode the CHECK refuses, is a bad_request for the whole batch
  /// (numbers checked before anything is written; nothing written). A loop listed twice takes its
  /// last state. An empty batch opens no transaction and returns 0.
  virtual std::size_t save_pid_outputs(const std::vector<pid_runtime>& states) = 0;

  // --- alarms (alarm_rules, slot_configs, alarm_events, shelved_alarms, scheduled_maintenance) ---

  /// Ordered by id.
  virtual std::vector<alarm_rule_record> list_alarm_rules() = 0;
  virtual std::optional<alarm_rule_record> get_alarm_rule(std::int64_t id) = 0;
  /// Stores a new rule (its id ignored, created_at and updated_at as given) and returns the stored
  /// row. A value a CHECK refuses (condition, severity, a negative delay or deadband) or a
  /// non-finite number is a bad_request.
  virtual alarm_rule_record create_alarm_rule(const alarm_rule_record& rule,
                                              const audit_entry& audit) = 0;
  /// Writes every column of the row `rule.id` (created_at excepted) with updated_at = now. A
  /// missing id is not_found; the rest as for create.
  virtual alarm_rule_record update_alarm_rule(const alarm_rule_record& rule, timestamp_ms now,
                                              const audit_entry& audit) = 0;
  /// Its events keep their rows with alarm_rule_id NULL (history outlives the rule). A missing id
  /// is not_found.
  virtual void delete_alarm_rule(std::int64_t id, const audit_entry& audit) = 0;
  /// Ordered by station and slot.
  virtual std::vector<slot_config_record> list_slot_configs() = 0;
  /// Inserts the config of (rtu_station, slot), or replaces every column of the existing one
  /// (its id and created_at kept), and returns the stored row. A value a CHECK refuses is a
  /// bad_request.
  virtual slot_config_record save_slot_config(const slot_config_record& config,
                                              const audit_entry& audit) = 0;
  /// What the alarm manager restores at start-up (alarm_restore), in one read transaction.
  virtual alarm_restore load_alarm_state() = 0;
  /// Inserts or replaces (by id) every row of the batch, and appends its audit rows, in one
  /// transaction. Rows are checked before anything is written: an enumerated value a CHECK
  /// refuses or a non-finite number is a bad_request for the whole batch. An alarm_rule_id that
  /// no longer names a rule (deleted meanwhile) is written NULL. An empty batch writes nothing.
  virtual void save_alarm_state(const alarm_state_batch& batch) = 0;
  /// Newest first (activated_at, then id), at most `limit` rows (1..10000).
  virtual std::vector<alarm_event_record> query_alarm_history(
      const alarm_history_filter& filter) = 0;
  /// Newest first; only the active ones when `active_only`.
  virtual std::vector<alarm_shelf_record> list_shelves(bool active_only) = 0;
  /// By start_time, then id; only SCHEDULED and ACTIVE ones when `open_only`.
  virtual std::vector<maintenance_record> list_maintenance(bool open_only) = 0;
  /// How many alarms were annunciated (suppressed_by NULL) with activated_at >= since.
  virtual std::int64_t count_annunciated_alarms(timestamp_ms since) = 0;

  // --- historian (historian_tags, historian_samples, historian_rollups; migration 0005) ---

  /// Ordered by id.
  virtual std::vector<historian_tag_record> list_historian_tags() = 0;
  virtual std::optional<historian_tag_record> get_historian_tag(std::int64_t id) = 0;
  /// Stores a new tag (its id ignored, created_at and updated_at as given) and returns the stored
  /// row. A duplicate tag_name or (rtu_station, slot) is a conflict; a value a CHECK refuses
  /// (compression, a sample_rate_ms or max_interval_ms not positive, a negative deadband) or a
  /// non-finite deadband is a bad_request.
  virtual historian_tag_record create_historian_tag(const historian_tag_record& tag,
                                                    const audit_entry& audit) = 0;
  /// Writes every column of the row `tag.id` (created_at excepted) with updated_at = now. A
  /// missing id is not_found; the rest as for create.
  virtual historian_tag_record update_historian_tag(const historian_tag_record& tag,
                                                    timestamp_ms now, const audit_entry& audit) = 0;
  /// Deletes the tag with its samples and rollups. A missing id is not_found.
  virtual void delete_historian_tag(std::int64_t id, const audit_entry& audit) = 0;
  /// Writes a batch in one transaction, no audit row (data, not configuration): every point
  /// inserted or replacing the stored point of its (tag_id, timestamp), every rollup row inserted
  /// or replacing the row of its (tag_id, width_ms, bucket_start); within the batch the later of
  /// two rows with one key wins. Points may come in any order (late and out-of-order ones land in
  /// their place). Checked before anything is written (check_historian_batch): a bad value is a
  /// bad_request, a tag id that names no tag not_found, and either writes nothing. SQLite: one
  /// transaction with its statements prepared once; PostgreSQL: the points by COPY into a
  /// temporary table merged with one INSERT ... ON CONFLICT. An empty batch writes nothing.
  virtual void append_historian(const historian_batch& batch) = 0;
  /// The points of filter.tag_id with start <= timestamp < end, oldest first, at most
  /// historian_limit(filter) of them (the oldest ones). width_ms is ignored.
  virtual std::vector<historian_point> query_historian(const historian_filter& filter) = 0;
  /// The rollup rows of filter.tag_id and filter.width_ms with start <= bucket_start < end, oldest
  /// first, at most historian_limit(filter). With filter.group_ms, the rows of each group_ms
  /// bucket merged by the database into one (as core::rollup::merge does: counts and sums added,
  /// min of mins, max of maxes, first and last by their times), stamped with the bucket_start
  /// of its first row; a bad_request unless group_ms is a multiple of width_ms.
  virtual std::vector<historian_rollup_row> query_historian_rollups(
      const historian_filter& filter) = 0;
  /// The newest point of the tag with timestamp < before and timestamp >= before - max_age_ms
  /// (the point a line is drawn from into a window), if any.
  virtual std::optional<historian_point> historian_point_before(std::int64_t tag_id,
                                                                timestamp_ms before,
                                                                std::int64_t max_age_ms) = 0;
  /// The stored rollup rows among `keys` (those not stored are left out), in the order of the
  /// keys: what the historian reads to correct the buckets late samples fall in.
  virtual std::vector<historian_rollup_row> get_historian_rollups(
      const std::vector<historian_rollup_key>& keys) = 0;
  /// Deletes the samples with timestamp < samples_before and the rollup rows with bucket_start <
  /// rollups_before (0: none) in one transaction; returns how many rows went.
  virtual std::int64_t purge_historian(timestamp_ms samples_before,
                                       timestamp_ms rollups_before) = 0;
  /// Row counts, per tag and in all, and the size (historian_stats). Reads every sample's key:
  /// the historian asks for it now and then, not per request.
  virtual historian_stats historian_statistics() = 0;

  // --- field diagnostics (profinet_diagnostics) ---
  virtual void append_diagnostic(const diagnostic_record& diagnostic) = 0;
  /// Newest first.
  virtual paged<diagnostic_record> list_diagnostics(std::int64_t rtu_id, const page& window) = 0;

  // --- audit log ---
  /// For events that change no row, such as a failed login.
  virtual void append_audit(const audit_entry& entry) = 0;
  /// Newest first.
  virtual paged<audit_entry> query_audit(const audit_filter& filter) = 0;
};

/// Opens the store `config` selects (creating the SQLite data directory if needed). Does not
/// migrate. Throws storage_error when the database cannot be opened or reached.
std::unique_ptr<store> open_store(const db_config& config);

}  // namespace wtc::storage
