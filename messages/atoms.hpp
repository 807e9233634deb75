#pragma once

// Atoms of the WTC protocol (at most 10 characters each). CAF's own atoms (caf::get_atom,
// caf::update_atom, caf::delete_atom, caf::ping_atom, ...) are used where they fit.

#include <caf/atom.hpp>

namespace wtc {

using login_atom = caf::atom_constant<caf::atom("login")>;
using logout_atom = caf::atom_constant<caf::atom("logout")>;
using validate_atom = caf::atom_constant<caf::atom("validate")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using password_atom = caf::atom_constant<caf::atom("password")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;
using hash_atom = caf::atom_constant<caf::atom("hash")>;
using user_atom = caf::atom_constant<caf::atom("user")>;
using users_atom = caf::atom_constant<caf::atom("users")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using session_atom = caf::atom_constant<caf::atom("session")>;
using sessions_atom = caf::atom_constant<caf::atom("sessions")>;
using touch_atom = caf::atom_constant<caf::atom("touch")>;
using purge_atom = caf::atom_constant<caf::atom("purge")>;
using audit_atom = caf::atom_constant<caf::atom("audit")>;
using login_ok_atom = caf::atom_constant<caf::atom("login_ok")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;
using system_atom = caf::atom_constant<caf::atom("system")>;
using rtu_atom = caf::atom_constant<caf::atom("rtu")>;
using rtus_atom = caf::atom_constant<caf::atom("rtus")>;
using disconnect_atom = caf::atom_constant<caf::atom("disconnect")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using sensor_atom = caf::atom_constant<caf::atom("sensor")>;
using sensors_atom = caf::atom_constant<caf::atom("sensors")>;
using actuators_atom = caf::atom_constant<caf::atom("actuators")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using diag_atom = caf::atom_constant<caf::atom("diag")>;
using pid_atom = caf::atom_constant<caf::atom("pid")>;
using pid_output_atom = caf::atom_constant<caf::atom("pidoutput")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscr")>;
using cycle_atom = caf::atom_constant<caf::atom("cycle")>;
using scan_atom = caf::atom_constant<caf::atom("pidscan")>;
using alarm_atom = caf::atom_constant<caf::atom("alarm")>;
using alarms_atom = caf::atom_constant<caf::atom("alarms")>;
using alarm_rule_atom = caf::atom_constant<caf::atom("alarmrule")>;
using slot_config_atom = caf::atom_constant<caf::atom("slotcfg")>;
using alarm_state_atom = caf::atom_constant<caf::atom("alarmstate")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using maintenance_atom = caf::atom_constant<caf::atom("maint")>;
using shelf_atom = caf::atom_constant<caf::atom("shelf")>;
using unshelve_atom = caf::atom_constant<caf::atom("unshelve")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using alarm_rate_atom = caf::atom_constant<caf::atom("alarmrate")>;
using flush_atom = caf::atom_constant<caf::atom("flushdirty")>;
using historian_atom = caf::atom_constant<caf::atom("historian")>;
using hist_tag_atom = caf::atom_constant<caf::atom("histtag")>;
using hist_rollup_atom = caf::atom_constant<caf::atom("histrollup")>;
using hist_before_atom = caf::atom_constant<caf::atom("histbefore")>;
using trend_atom = caf::atom_constant<caf::atom("trend")>;
using node_atom = caf::atom_constant<caf::atom("node")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using assign_atom = caf::atom_constant<caf::atom("assign")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;

}  // namespace wtc
