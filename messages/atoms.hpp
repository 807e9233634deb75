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
using flush_atom = caf::atom_constant<caf::atom("flushdirty")>;

}  // namespace wtc
