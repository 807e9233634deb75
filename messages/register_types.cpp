#include "messages/register_types.hpp"

#include "messages/alarm_types.hpp"
#include "messages/control_types.hpp"
#include "messages/errors.hpp"
#include "messages/field_types.hpp"
#include "messages/historian_types.hpp"
#include "messages/interfaces.hpp"
#include "messages/live.hpp"
#include "messages/node_types.hpp"
#include "messages/types.hpp"

namespace wtc {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_error_category(errc_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& context) {
                           auto text = "wtc: " + to_string(static_cast<errc>(code));
                           if (context.match_elements<std::string>())
                             text += " (" + context.get_as<std::string>(0) + ")";
                           return text;
                         });
  cfg.add_message_type<request_origin>("wtc::request_origin");
  cfg.add_message_type<user_record>("wtc::user_record");
  cfg.add_message_type<session_record>("wtc::session_record");
  cfg.add_message_type<issued_token>("wtc::issued_token");
  cfg.add_message_type<audit_entry>("wtc::audit_entry");
  cfg.add_message_type<page>("wtc::page");
  cfg.add_message_type<audit_filter>("wtc::audit_filter");
  cfg.add_message_type<user_update>("wtc::user_update");
  cfg.add_message_type<db_health>("wtc::db_health");
  cfg.add_message_type<paged<user_record>>("wtc::paged_users");
  cfg.add_message_type<paged<audit_entry>>("wtc::paged_audit");
  cfg.add_message_type<std::vector<session_record>>("wtc::session_records");
  cfg.add_message_type<std::vector<std::pair<std::string, timestamp_ms>>>("wtc::session_touches");
  cfg.add_message_type<system_counts>("wtc::system_counts");
  cfg.add_message_type<actor_stats>("wtc::actor_stats");
  cfg.add_message_type<std::vector<actor_stats>>("wtc::actor_stats_list");
  cfg.add_message_type<rtu_record>("wtc::rtu_record");
  cfg.add_message_type<std::vector<rtu_record>>("wtc::rtu_records");
  cfg.add_message_type<rtu_update>("wtc::rtu_update");
  cfg.add_message_type<rtu_transition>("wtc::rtu_transition");
  cfg.add_message_type<slot_record>("wtc::slot_record");
  cfg.add_message_type<sensor_record>("wtc::sensor_record");
  cfg.add_message_type<std::vector<sensor_record>>("wtc::sensor_records");
  cfg.add_message_type<control_record>("wtc::control_record");
  cfg.add_message_type<std::vector<control_record>>("wtc::control_records");
  cfg.add_message_type<discovery_result>("wtc::discovery_result");
  cfg.add_message_type<diagnostic_record>("wtc::diagnostic_record");
  cfg.add_message_type<paged<diagnostic_record>>("wtc::paged_diagnostics");
  cfg.add_message_type<pid_loop_record>("wtc::pid_loop_record");
  cfg.add_message_type<std::vector<pid_loop_record>>("wtc::pid_loop_records");
  cfg.add_message_type<pid_snapshot>("wtc::pid_snapshot");
  cfg.add_message_type<pid_loop_view>("wtc::pid_loop_view");
  cfg.add_message_type<std::vector<pid_loop_view>>("wtc::pid_loop_views");
  cfg.add_message_type<pid_loop_patch>("wtc::pid_loop_patch");
  cfg.add_message_type<pid_runtime>("wtc::pid_runtime");
  cfg.add_message_type<std::vector<pid_runtime>>("wtc::pid_runtimes");
  cfg.add_message_type<alarm_rule_record>("wtc::alarm_rule_record");
  cfg.add_message_type<std::vector<alarm_rule_record>>("wtc::alarm_rule_records");
  cfg.add_message_type<slot_config_record>("wtc::slot_config_record");
  cfg.add_message_type<std::vector<slot_config_record>>("wtc::slot_config_records");
  cfg.add_message_type<alarm_event_record>("wtc::alarm_event_record");
  cfg.add_message_type<std::vector<alarm_event_record>>("wtc::alarm_event_records");
  cfg.add_message_type<alarm_shelf_record>("wtc::alarm_shelf_record");
  cfg.add_message_type<std::vector<alarm_shelf_record>>("wtc::alarm_shelf_records");
  cfg.add_message_type<maintenance_record>("wtc::maintenance_record");
  cfg.add_message_type<std::vector<maintenance_record>>("wtc::maintenance_records");
  cfg.add_message_type<alarm_state_batch>("wtc::alarm_state_batch");
  cfg.add_message_type<alarm_restore>("wtc::alarm_restore");
  cfg.add_message_type<alarm_history_filter>("wtc::alarm_history_filter");
  cfg.add_message_type<alarm_statistics>("wtc::alarm_statistics");
  cfg.add_message_type<historian_tag_record>("wtc::historian_tag_record");
  cfg.add_message_type<std::vector<historian_tag_record>>("wtc::historian_tag_records");
  cfg.add_message_type<historian_point>("wtc::historian_point");
  cfg.add_message_type<std::vector<historian_point>>("wtc::historian_points");
  cfg.add_message_type<historian_rollup_row>("wtc::historian_rollup_row");
  cfg.add_message_type<std::vector<historian_rollup_row>>("wtc::historian_rollup_rows");
  cfg.add_message_type<historian_batch>("wtc::historian_batch");
  cfg.add_message_type<historian_filter>("wtc::historian_filter");
  cfg.add_message_type<historian_rollup_key>("wtc::historian_rollup_key");
  cfg.add_message_type<std::vector<historian_rollup_key>>("wtc::historian_rollup_keys");
  cfg.add_message_type<historian_tag_count>("wtc::historian_tag_count");
  cfg.add_message_type<historian_stats>("wtc::historian_stats");
  cfg.add_message_type<trend_query>("wtc::trend_query");
  cfg.add_message_type<trend_series>("wtc::trend_series");
  cfg.add_message_type<historian_status>("wtc::historian_status");
  cfg.add_message_type<sample>("wtc::sample");
  cfg.add_message_type<sample_batch>("wtc::sample_batch");
  cfg.add_message_type<actuator_state>("wtc::actuator_state");
  cfg.add_message_type<std::vector<actuator_state>>("wtc::actuator_states");
  cfg.add_message_type<actuator_batch>("wtc::actuator_batch");
  cfg.add_message_type<rtu_event>("wtc::rtu_event");
  cfg.add_message_type<actuator_command>("wtc::actuator_command");
  cfg.add_message_type<rtu_health>("wtc::rtu_health");
  cfg.add_message_type<sensor_reading>("wtc::sensor_reading");
  cfg.add_message_type<sensor_settings>("wtc::sensor_settings");
  cfg.add_message_type<std::vector<sensor_reading>>("wtc::sensor_readings");
  cfg.add_message_type<live_message>("wtc::live_message");  // PID loops may run on edge nodes
  cfg.add_message_type<live_stats>("wtc::live_stats");
  // Between an edge node and the central node
  cfg.add_message_type<node_hello>("wtc::node_hello");
  cfg.add_message_type<node_packet>("wtc::node_packet");
  cfg.add_message_type<std::vector<node_packet>>("wtc::node_packets");
  cfg.add_message_type<node_ack>("wtc::node_ack");
  cfg.add_message_type<node_info>("wtc::node_info");
  cfg.add_message_type<std::vector<node_info>>("wtc::node_infos");
  cfg.add_message_type<edge_status>("wtc::edge_status");
  cfg.add_message_type<std::vector<sample_batch>>("wtc::sample_batches");
  cfg.add_message_type<std::vector<rtu_event>>("wtc::rtu_events");
  cfg.add_message_type<edge_agent_api>("wtc::edge_agent_api");
  cfg.add_message_type<rtus_api>("wtc::rtus_api");
  cfg.add_message_type<node_registry_api>("wtc::node_registry_api");
}

}  // namespace wtc
