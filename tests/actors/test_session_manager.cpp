#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <caf/all.hpp>

#include "actors/root_supervisor.hpp"
#include "actors/session_manager.hpp"
#include "actors/storage_actor.hpp"
#include "core/password.hpp"
#include "core/time.hpp"
#include "messages/errors.hpp"
#include "messages/register_types.hpp"

namespace wtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

/// The real session manager and storage actor under the real supervisor, on a fresh SQLite
/// database with an admin and an operator.
class SessionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("wtc-sessions-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    storage::db_config db{"", dir.string()};
    {
      auto store = storage::open_store(db);
      store->migrate();
      for (auto [name, r] : {std::pair{"admin", role::admin}, std::pair{"olga", role::operator_}}) {
        user_record u;
        u.username = name;
        u.password_hash = core::hash_password(std::string(name) + "-password", 10);
        u.user_role = r;
        audit_entry a;
        a.timestamp = core::now_ms();
        a.action = "user_create";
        store->create_user(u, a);
      }
    }
    session_config sc;
    sc.bcrypt_cost = 10;
    sc.token_ttl_ms = ttl_ms;
    sc.per_user = {3, 60'000, 60'000, 1000};
    auto board = std::make_shared<health_board>();
    restart_policy policy;
    policy.initial_backoff = 10ms;
    supervisor = sys.spawn(
        root_supervisor,
        std::vector<child_spec>{{names::storage,
                                 [db, board](caf::actor_system& s) {
                                   return caf::actor_cast<caf::actor>(
                                       s.spawn<caf::detached>(storage_actor, db, board));
                                 }},
                                {names::sessions,
                                 [sc](caf::actor_system& s) {
                                   return caf::actor_cast<caf::actor>(s.spawn(session_manager, sc));
                                 }}},
        policy);
    // The supervisor registers its children before it answers anything.
    self->request(supervisor, 10s, stats_atom::value)
        .receive([](std::vector<actor_stats>&) {},
                 [](caf::error& err) { FAIL() << to_string(err); });
    admin_origin.username = "admin";
    admin_origin.user_role = role::admin;
    admin_origin.ip_address = "10.0.0.1";
  }

  void TearDown() override {
    // The storage actor closes the database on its own thread: wait for it before removing it.
    auto storage = lookup<storage_api>(sys, names::storage);
    self->monitor(storage);
    self->send_exit(supervisor, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >>
                                             [] { ADD_FAILURE() << "storage did not stop"; });
    fs::remove_all(dir);
  }

  session_api sessions() { return lookup<session_api>(sys, names::sessions); }

  /// Sends a request and returns the answer or the error.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{make_error(errc::internal, "no answer")};
    self->request(sessions(), 10s, std::forward<Ts>(xs)...)
        .receive([&](T& value) { result = std::move(value); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<issued_token> login(const std::string& user, const std::string& password,
                                    const std::string& ip = "10.0.0.9") {
    request_origin origin;
    origin.ip_address = ip;
    return ask<issued_token>(login_atom::value, user, password, origin, std::string("test"));
  }

  static errc code_of(const caf::error& err) { return view(err).code; }

  std::int64_t ttl_ms = 60'000;
  fs::path dir;
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  supervisor_api supervisor;
  request_origin admin_origin;
};

TEST_F(SessionManagerTest, LoginIssuesATokenThatValidates) {
  auto issued = login("olga", "olga-password");
  ASSERT_TRUE(issued) << to_string(issued.error());
  EXPECT_EQ(issued->token.size(), 64U);
  EXPECT_EQ(issued->session.user_role, role::operator_);
  EXPECT_NE(issued->session.token_hash, issued->token) << "only the hash is kept";
  auto session = ask<session_record>(validate_atom::value, issued->token);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->username, "olga");
}

TEST_F(SessionManagerTest, WrongPasswordAndUnknownUserAreRefusedAlike) {
  auto wrong = login("olga", "not-her-password");
  auto unknown = login("nobody", "whatever-password");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(wrong.error()), errc::unauthorized);
  EXPECT_EQ(view(wrong.error()).detail, view(unknown.error()).detail);
}

TEST_F(SessionManagerTest, RepeatedFailuresAreThrottledWithARetryDelay) {
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(code_of(login("olga", "wrong-password").error()), errc::unauthorized);
  auto throttled = login("olga", "olga-password");
  ASSERT_FALSE(throttled);
  EXPECT_EQ(code_of(throttled.error()), errc::too_many_requests);
  EXPECT_GT(view(throttled.error()).retry_after_s, 0);
  EXPECT_TRUE(login("admin", "admin-password")) << "other users are not locked out";
}

TEST_F(SessionManagerTest, LogoutEndsTheSession) {
  auto issued = login("olga", "olga-password");
  ASSERT_TRUE(issued) << to_string(issued.error());
  ASSERT_TRUE(ask<caf::ok_atom>(logout_atom::value, issued->token, admin_origin));
  auto after = ask<session_record>(validate_atom::value, issued->token);
  ASSERT_FALSE(after);
  EXPECT_EQ(code_of(after.error()), errc::unauthorized);
}

TEST_F(SessionManagerTest, RefreshReplacesTheToken) {
  auto issued = login("olga", "olga-password");
  ASSERT_TRUE(issued);
  auto fresh = ask<issued_token>(refresh_atom::value, issued->token, admin_origin);
  ASSERT_TRUE(fresh);
  EXPECT_NE(fresh->token, issued->token);
  EXPECT_FALSE(ask<session_record>(validate_atom::value, issued->token));
  EXPECT_TRUE(ask<session_record>(validate_atom::value, fresh->token));
}

TEST_F(SessionManagerTest, PasswordChangeEndsEverySessionOfTheUser) {
  auto one = login("olga", "olga-password");
  auto two = login("olga", "olga-password");
  ASSERT_TRUE(one && two);
  auto bad = ask<caf::ok_atom>(password_atom::value, one->token, std::string("wrong-current"),
                               std::string("new-password-1"), admin_origin);
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::bad_request);
  auto weak = ask<caf::ok_atom>(password_atom::value, one->token, std::string("olga-password"),
                                std::string("short"), admin_origin);
  ASSERT_FALSE(weak);
  EXPECT_EQ(code_of(weak.error()), errc::bad_request);
  ASSERT_TRUE(ask<caf::ok_atom>(password_atom::value, one->token, std::string("olga-password"),
                                std::string("new-password-1"), admin_origin));
  EXPECT_FALSE(ask<session_record>(validate_atom::value, one->token));
  EXPECT_FALSE(ask<session_record>(validate_atom::value, two->token));
  EXPECT_FALSE(login("olga", "olga-password"));
  EXPECT_TRUE(login("olga", "new-password-1"));
}

TEST_F(SessionManagerTest, DeactivationEndsSessionsAndRoleChangesApplyAtOnce) {
  auto issued = login("olga", "olga-password");
  ASSERT_TRUE(issued);
  auto olga = ask<user_record>(caf::get_atom::value, user_atom::value, std::string("olga"));
  ASSERT_TRUE(olga);
  EXPECT_TRUE(olga->password_hash.empty()) << "hashes never leave the session manager";

  user_update promote;
  promote.set_role = true;
  promote.user_role = role::admin;
  ASSERT_TRUE(
      ask<user_record>(caf::update_atom::value, user_atom::value, olga->id, promote, admin_origin));
  EXPECT_EQ(ask<session_record>(validate_atom::value, issued->token)->user_role, role::admin);

  user_update deactivate;
  deactivate.set_active = true;
  deactivate.active = false;
  ASSERT_TRUE(ask<user_record>(caf::update_atom::value, user_atom::value, olga->id, deactivate,
                               admin_origin));
  EXPECT_FALSE(ask<session_record>(validate_atom::value, issued->token));
  EXPECT_FALSE(login("olga", "olga-password")) << "a deactivated user cannot log in";
}

TEST_F(SessionManagerTest, AdminsCannotLockThemselvesOut) {
  auto me = ask<user_record>(caf::get_atom::value, user_atom::value, std::string("admin"));
  ASSERT_TRUE(me);
  auto del = ask<caf::ok_atom>(caf::delete_atom::value, user_atom::value, me->id, admin_origin);
  ASSERT_FALSE(del);
  EXPECT_EQ(code_of(del.error()), errc::bad_request);
  user_update demote;
  demote.set_role = true;
  demote.user_role = role::viewer;
  auto upd =
      ask<user_record>(caf::update_atom::value, user_atom::value, me->id, demote, admin_origin);
  ASSERT_FALSE(upd);
  EXPECT_EQ(code_of(upd.error()), errc::bad_request);
}

TEST_F(SessionManagerTest, CreatedUsersCanLogInAndDuplicatesConflict) {
  auto created = ask<user_record>(create_atom::value, user_atom::value, std::string("vera"),
                                  std::string("vera-password"), role::viewer, admin_origin);
  ASSERT_TRUE(created) << to_string(created.error());
  EXPECT_TRUE(created->password_hash.empty());
  EXPECT_GT(created->created_at, 0);
  EXPECT_EQ(created->updated_at, created->created_at);
  auto dup = ask<user_record>(create_atom::value, user_atom::value, std::string("vera"),
                              std::string("vera-password"), role::viewer, admin_origin);
  ASSERT_FALSE(dup);
  EXPECT_EQ(code_of(dup.error()), errc::conflict);
  auto issued = login("vera", "vera-password");
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->session.user_role, role::viewer);
}

TEST_F(SessionManagerTest, SessionsSurviveARestartOfTheSessionManager) {
  auto issued = login("olga", "olga-password");
  ASSERT_TRUE(issued);
  auto before = sessions();
  self->monitor(before);
  self->send_exit(before, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  // The supervisor restarts it after its backoff; ask the new one.
  caf::expected<session_record> session{caf::error{}};
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = sessions();
    if (now && now != before) {
      session = ask<session_record>(validate_atom::value, issued->token);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(session) << "the restarted session manager knows the token";
  EXPECT_EQ(session->username, "olga");
}

class ShortSessionTest : public SessionManagerTest {
 protected:
  ShortSessionTest() { ttl_ms = 300; }
};

TEST_F(ShortSessionTest, TokensExpire) {
  auto issued = login("olga", "olga-password");
  ASSERT_TRUE(issued);
  EXPECT_TRUE(ask<session_record>(validate_atom::value, issued->token));
  std::this_thread::sleep_for(400ms);  // the lifetime itself is what is under test
  auto expired = ask<session_record>(validate_atom::value, issued->token);
  ASSERT_FALSE(expired);
  EXPECT_EQ(code_of(expired.error()), errc::unauthorized);
}

}  // namespace
}  // namespace wtc
