#include "actors/session_manager.hpp"

#include "actors/audit.hpp"
#include "actors/mailbox_depth.hpp"
#include "actors/storage_access.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <caf/result.hpp>
#include <nlohmann/json.hpp>

#include "actors/password_worker.hpp"
#include "core/password.hpp"
#include "core/time.hpp"
#include "core/token.hpp"
#include "messages/errors.hpp"

namespace wtc {
namespace {

using self_ptr = session_api::stateful_pointer<session_manager_state>;

constexpr std::size_t password_workers = 2;

user_record without_secret(user_record user) {
  user.password_hash.clear();
  return user;
}

password_worker_api next_worker(self_ptr self) {
  auto& st = self->state;
  return st.workers[st.next_worker++ % st.workers.size()];
}

/// Drops a session from memory (storage is the caller's business).
void forget_session(self_ptr self, const std::string& token_hash) {
  self->state.sessions.erase(token_hash);
  self->state.active_since_flush.erase(token_hash);
}

/// The session a token opens, refreshing its activity time; an error for unknown or expired ones.
caf::expected<session_record> find_session(self_ptr self, const std::string& token) {
  auto& st = self->state;
  const auto hash = core::sha256_hex(token);
  auto it = st.sessions.find(hash);
  if (it == st.sessions.end())
    return make_error(errc::unauthorized, "invalid or expired token");
  const auto now = core::now_ms();
  if (it->second.expires_at <= now) {
    forget_session(self, hash);
    return make_error(errc::unauthorized, "token expired");
  }
  it->second.last_activity = now;
  st.active_since_flush.insert(hash);
  return it->second;
}

void forget_sessions_of(self_ptr self, const std::string& username) {
  auto& st = self->state;
  for (auto it = st.sessions.begin(); it != st.sessions.end();) {
    if (it->second.username == username) {
      st.active_since_flush.erase(it->first);
      it = st.sessions.erase(it);
    } else {
      ++it;
    }
  }
}

session_record new_session(self_ptr self, const std::string& token, const std::string& username,
                           role user_role, const request_origin& origin,
                           const std::string& user_agent) {
  session_record rec;
  rec.token_hash = core::sha256_hex(token);
  rec.username = username;
  rec.user_role = user_role;
  rec.created_at = core::now_ms();
  rec.last_activity = rec.created_at;
  rec.expires_at = rec.created_at + self->state.config.token_ttl_ms;
  rec.ip_address = origin.ip_address;
  rec.user_agent = user_agent;
  return rec;
}

std::string throttle_key(const std::string& username) {
  return "user:" + username;
}

void record_failed_login(self_ptr self, const std::string& username, const request_origin& origin,
                         const std::string& reason) {
  auto& st = self->state;
  const auto now = core::now_ms();
  st.per_user.record_failure(throttle_key(username), now);
  st.per_address.record_failure(origin.ip_address, now);
  auto entry = audit_of(origin, "login_failed", "session", "",
                        nlohmann::json{{"username", username}, {"reason", reason}}.dump());
  entry.user = username;
  if (auto storage = storage_of(self))
    caf::anon_send(storage, audit_atom::value, std::move(entry));
  spdlog::warn("login failed for '{}' from {} ({}) [request {}]", username, origin.ip_address,
               reason, origin.request_id);
}

void open_session(self_ptr self, caf::typed_response_promise<issued_token> rp,
                  const user_record& user, const request_origin& origin,
                  const std::string& user_agent) {
  auto storage = storage_of(self);
  if (!storage) {
    rp.deliver(storage_restarting());
    return;
  }
  issued_token issued{core::new_token(), {}};
  issued.session =
      new_session(self, issued.token, user.username, user.user_role, origin, user_agent);
  auto entry = audit_of(origin, "login", "session", user.username);
  entry.user = user.username;
  self->request(storage, self->state.config.storage_timeout, create_atom::value, issued.session,
                entry)
      .then(
          [self, rp, issued, user, storage](caf::ok_atom) mutable {
            auto& st = self->state;
            st.sessions.emplace(issued.session.token_hash, issued.session);
            st.per_user.record_success(throttle_key(user.username));
            self->send(storage, login_ok_atom::value, user.id, issued.session.created_at);
            spdlog::info("login: '{}' as {}", user.username, to_string(user.user_role));
            rp.deliver(std::move(issued));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

caf::result<issued_token> login(self_ptr self, const std::string& username,
                                const std::string& password, const request_origin& origin,
                                const std::string& user_agent) {
  auto& st = self->state;
  const auto now = core::now_ms();
  const auto wait_ms = std::max(st.per_user.retry_after_ms(throttle_key(username), now),
                                st.per_address.retry_after_ms(origin.ip_address, now));
  if (wait_ms > 0) {
    const auto wait_s = (wait_ms + 999) / 1000;
    return make_throttle_error(
        "too many failed logins; try again in " + std::to_string(wait_s) + " s", wait_s);
  }
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<issued_token>();
  auto check = [self, rp, password, origin, user_agent](user_record user) mutable {
    const bool known = user.id != 0;
    const auto& hash = known ? user.password_hash : self->state.unknown_user_hash;
    self->request(next_worker(self), caf::infinite, verify_atom::value, password, hash)
        .then(
            [self, rp, user, known, origin, user_agent](bool matches) mutable {
              if (!known || !matches || !user.active) {
                record_failed_login(self, user.username, origin,
                                    !known     ? "unknown user"
                                    : !matches ? "wrong password"
                                               : "account disabled");
                rp.deliver(make_error(errc::unauthorized, "invalid username or password"));
                return;
              }
              open_session(self, rp, user, origin, user_agent);
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  };
  self->request(storage, st.config.storage_timeout, caf::get_atom::value, user_atom::value,
                username)
      .then([check](user_record& user) mutable { check(std::move(user)); },
            [check, rp, username](caf::error& err) mutable {
              if (view(err).code != errc::not_found) {
                rp.deliver(std::move(err));
                return;
              }
              user_record unknown;
              unknown.username = username;
              check(std::move(unknown));
            });
  return rp;
}

caf::result<caf::ok_atom> logout(self_ptr self, const std::string& token,
                                 const request_origin& origin) {
  auto session = find_session(self, token);
  if (!session)
    return session.error();
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<caf::ok_atom>();
  const auto hash = session->token_hash;
  self->request(storage, self->state.config.storage_timeout, caf::delete_atom::value,
                session_atom::value, hash, audit_of(origin, "logout", "session", origin.username))
      .then(
          [self, rp, hash](caf::ok_atom) mutable {
            forget_session(self, hash);
            rp.deliver(caf::ok_atom::value);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<issued_token> refresh(self_ptr self, const std::string& token,
                                  const request_origin& origin) {
  auto session = find_session(self, token);
  if (!session)
    return session.error();
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<issued_token>();
  issued_token issued{core::new_token(), {}};
  issued.session = new_session(self, issued.token, session->username, session->user_role, origin,
                               session->user_agent);
  const auto old_hash = session->token_hash;
  self->request(storage, self->state.config.storage_timeout, refresh_atom::value, old_hash,
                issued.session, audit_of(origin, "token_refresh", "session", origin.username))
      .then(
          [self, rp, issued, old_hash](caf::ok_atom) mutable {
            auto& st = self->state;
            forget_session(self, old_hash);
            st.sessions.emplace(issued.session.token_hash, issued.session);
            rp.deliver(std::move(issued));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<caf::ok_atom> change_password(self_ptr self, const std::string& token,
                                          const std::string& current, const std::string& fresh,
                                          const request_origin& origin) {
  auto session = find_session(self, token);
  if (!session)
    return session.error();
  if (auto why = core::password_policy_violation(fresh); !why.empty())
    return make_error(errc::bad_request, why);
  if (current == fresh)
    return make_error(errc::bad_request, "the new password must differ from the current one");
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<caf::ok_atom>();
  const auto timeout = self->state.config.storage_timeout;
  auto fail = [rp](caf::error& err) mutable { rp.deliver(std::move(err)); };
  self->request(storage, timeout, caf::get_atom::value, user_atom::value, session->username)
      .then(
          [=](user_record& user) mutable {
            self->request(next_worker(self), caf::infinite, verify_atom::value, current,
                          user.password_hash)
                .then(
                    [=](bool matches) mutable {
                      if (!matches) {
                        record_failed_login(self, user.username, origin,
                                            "wrong current password on password change");
                        rp.deliver(make_error(errc::bad_request, "the current password is wrong"));
                        return;
                      }
                      self->request(next_worker(self), caf::infinite, hash_atom::value, fresh)
                          .then(
                              [=](std::string& hash) mutable {
                                self->request(storage, timeout, password_atom::value, user.id, hash,
                                              audit_of(origin, "password_change", "user",
                                                       std::to_string(user.id)))
                                    .then(
                                        [=](caf::ok_atom) mutable {
                                          forget_sessions_of(self, user.username);
                                          rp.deliver(caf::ok_atom::value);
                                        },
                                        fail);
                              },
                              fail);
                    },
                    fail);
          },
          fail);
  return rp;
}

caf::result<user_record> create_user(self_ptr self, const std::string& username,
                                     const std::string& password, role user_role,
                                     const request_origin& origin) {
  if (auto why = core::password_policy_violation(password); !why.empty())
    return make_error(errc::bad_request, why);
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<user_record>();
  auto fail = [rp](caf::error& err) mutable { rp.deliver(std::move(err)); };
  self->request(next_worker(self), caf::infinite, hash_atom::value, password)
      .then(
          [=](std::string& hash) mutable {
            user_record user;
            user.username = username;
            user.password_hash = std::move(hash);
            user.user_role = user_role;
            user.created_at = core::now_ms();
            user.updated_at = user.created_at;
            const auto details =
                nlohmann::json{{"username", username}, {"role", to_string(user_role)}}.dump();
            self->request(storage, self->state.config.storage_timeout, create_atom::value, user,
                          audit_of(origin, "user_create", "user", username, details))
                .then([=](user_record& created) mutable { rp.deliver(without_secret(created)); },
                      fail);
          },
          fail);
  return rp;
}

/// A user from storage by id or name, without its password hash.
template <class Key>
caf::result<user_record> find_user(self_ptr self, const Key& key) {
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<user_record>();
  self->request(storage, self->state.config.storage_timeout, caf::get_atom::value, user_atom::value,
                key)
      .then([rp](user_record& user) mutable { rp.deliver(without_secret(std::move(user))); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Loads user `id` and runs `then(rp, storage, user)`, unless the user is `protected_username`:
/// an admin may not demote, deactivate or delete their own account, so that the system always
/// keeps an active admin.
template <class Result, class F>
caf::result<Result> on_user(self_ptr self, std::int64_t id, const std::string& protected_username,
                            const char* refusal, F then) {
  auto storage = storage_of(self);
  if (!storage)
    return storage_restarting();
  auto rp = self->make_response_promise<Result>();
  self->request(storage, self->state.config.storage_timeout, caf::get_atom::value, user_atom::value,
                id)
      .then(
          [=](user_record& user) mutable {
            if (!protected_username.empty() && user.username == protected_username) {
              rp.deliver(make_error(errc::bad_request, refusal));
              return;
            }
            then(rp, storage, std::move(user));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

}  // namespace

session_api::behavior_type session_manager(self_ptr self, session_config config) {
  auto& st = self->state;
  st.config = config;
  st.per_user = core::login_throttle{config.per_user};
  st.per_address = core::login_throttle{config.per_address};
  for (std::size_t i = 0; i < password_workers; ++i)
    st.workers.push_back(
        self->spawn<caf::detached + caf::linked>(password_worker, config.bcrypt_cost));
  // bcrypt takes a quarter of a second: a worker makes the dummy hash, not this thread.
  self->request(st.workers.front(), caf::infinite, hash_atom::value, core::new_token())
      .await([self](std::string& hash) { self->state.unknown_user_hash = std::move(hash); });

  // Nothing may be answered before the stored sessions are back: `await` holds every other
  // message in the mailbox until they are.
  if (auto storage = storage_of(self); !storage)
    self->quit(make_error(errc::unavailable, "storage is not running"));
  else
    self->request(storage, config.storage_timeout, caf::get_atom::value, sessions_atom::value,
                  core::now_ms())
        .await(
            [self](std::vector<session_record>& stored) {
              for (auto& rec : stored)
                self->state.sessions.emplace(rec.token_hash, std::move(rec));
              spdlog::info("sessions: {} restored", self->state.sessions.size());
            },
            [self](caf::error& err) { self->quit(err); });
  self->delayed_send(self, config.activity_flush, flush_atom::value);

  return {
      [self](login_atom, const std::string& username, const std::string& password,
             const request_origin& origin, const std::string& user_agent) {
        return login(self, username, password, origin, user_agent);
      },
      [self](validate_atom, const std::string& token) -> caf::result<session_record> {
        auto session = find_session(self, token);
        if (!session)
          return session.error();
        return std::move(*session);
      },
      [self](logout_atom, const std::string& token, const request_origin& origin) {
        return logout(self, token, origin);
      },
      [self](refresh_atom, const std::string& token, const request_origin& origin) {
        return refresh(self, token, origin);
      },
      [self](password_atom, const std::string& token, const std::string& current,
             const std::string& fresh, const request_origin& origin) {
        return change_password(self, token, current, fresh, origin);
      },
      [self](caf::get_atom, users_atom, page window) -> caf::result<paged<user_record>> {
        auto storage = storage_of(self);
        if (!storage)
          return storage_restarting();
        auto rp = self->make_response_promise<paged<user_record>>();
        self->request(storage, self->state.config.storage_timeout, caf::get_atom::value,
                      users_atom::value, window)
            .then(
                [rp](paged<user_record>& users) mutable {
                  for (auto& user : users.items)
                    user.password_hash.clear();
                  rp.deliver(std::move(users));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](caf::get_atom, user_atom, std::int64_t id) { return find_user(self, id); },
      [self](caf::get_atom, user_atom, const std::string& username) {
        return find_user(self, username);
      },
      [self](create_atom, user_atom, const std::string& username, const std::string& password,
             role user_role, const request_origin& origin) {
        return create_user(self, username, password, user_role, origin);
      },
      [self](caf::update_atom, user_atom, std::int64_t id, const user_update& update,
             const request_origin& origin) {
        auto apply = [self, id, update, origin](caf::typed_response_promise<user_record> rp,
                                                storage_api storage, user_record before) mutable {
          nlohmann::json details;
          if (update.set_role)
            details["role"] = to_string(update.user_role);
          if (update.set_active)
            details["active"] = update.active;
          if (update.set_sync_to_rtus)
            details["sync_to_rtus"] = update.sync_to_rtus;
          self->request(storage, self->state.config.storage_timeout, caf::update_atom::value, id,
                        update,
                        audit_of(origin, "user_update", "user", std::to_string(id), details.dump()))
              .then(
                  [self, rp, before](user_record& after) mutable {
                    if (!after.active) {
                      forget_sessions_of(self, after.username);
                    } else if (after.user_role != before.user_role) {
                      for (auto& [hash, rec] : self->state.sessions)
                        if (rec.username == after.username)
                          rec.user_role = after.user_role;
                    }
                    rp.deliver(without_secret(std::move(after)));
                  },
                  [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        };
        const bool could_lock_out = update.set_role || (update.set_active && !update.active);
        return on_user<user_record>(self, id, could_lock_out ? origin.username : std::string{},
                                    "you cannot change the role of or deactivate your own account",
                                    apply);
      },
      [self](caf::delete_atom, user_atom, std::int64_t id, const request_origin& origin) {
        auto remove = [self, id, origin](caf::typed_response_promise<caf::ok_atom> rp,
                                         storage_api storage, user_record user) mutable {
          self->request(storage, self->state.config.storage_timeout, caf::delete_atom::value,
                        user_atom::value, id,
                        audit_of(origin, "user_delete", "user", std::to_string(id),
                                 nlohmann::json{{"username", user.username}}.dump()))
              .then(
                  [self, rp, username = user.username](caf::ok_atom) mutable {
                    forget_sessions_of(self, username);
                    rp.deliver(caf::ok_atom::value);
                  },
                  [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        };
        return on_user<caf::ok_atom>(self, id, origin.username,
                                     "you cannot delete your own account", remove);
      },
      [self](flush_atom) {
        auto& sm = self->state;
        const auto now = core::now_ms();
        std::vector<std::pair<std::string, timestamp_ms>> activity;
        for (const auto& hash : sm.active_since_flush)
          if (auto it = sm.sessions.find(hash); it != sm.sessions.end())
            activity.emplace_back(hash, it->second.last_activity);
        sm.active_since_flush.clear();
        for (auto it = sm.sessions.begin(); it != sm.sessions.end();)
          it = it->second.expires_at <= now ? sm.sessions.erase(it) : std::next(it);
        sm.per_user.prune(now);
        sm.per_address.prune(now);
        if (auto storage = storage_of(self)) {
          if (!activity.empty())
            self->send(storage, touch_atom::value, std::move(activity));
          self->send(storage, purge_atom::value, now);
        }
        self->delayed_send(self, sm.config.activity_flush, flush_atom::value);
      },
      [self](stats_atom) -> actor_stats {
        return {session_manager_state::name, mailbox_depth(self), 0};
      },
  };
}

}  // namespace wtc
