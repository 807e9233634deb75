#include "messages/register_types.hpp"

#include "messages/errors.hpp"
#include "messages/types.hpp"

namespace wtc {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_error_category<errc>(errc_category);
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
}

}  // namespace wtc
