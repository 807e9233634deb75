#include <gtest/gtest.h>

#include <stdexcept>

#include <caf/all.hpp>

#include "actors/mailbox_depth.hpp"
#include "actors/root_supervisor.hpp"
#include "messages/register_types.hpp"

namespace wtc {
namespace {

using add_atom_t = caf::atom_constant<caf::atom("t_add")>;
using boom_atom = caf::atom_constant<caf::atom("t_boom")>;
using spawned_atom = caf::atom_constant<caf::atom("t_spawned")>;

/// A child with state: a counter that can be made to throw.
caf::behavior counter(caf::stateful_actor<int>* self, int initial) {
  self->state = initial;
  return {
      [self](add_atom_t, int n) { self->state += n; },
      [self](caf::get_atom) { return self->state; },
      [](boom_atom) -> int { throw std::runtime_error("injected fault"); },
      [self](stats_atom) {
        return actor_stats{"counter", mailbox_depth(self), 0};
      },
  };
}

/// A child that fails as soon as it runs, every time.
caf::behavior crashing_at_start(caf::event_based_actor* self, std::string why) {
  self->send(self, boom_atom::value);
  return {[why](boom_atom) { throw std::runtime_error(why); }};
}

struct config : caf::actor_system_config {
  config() { register_types(*this); }
};

class SupervisorTest : public ::testing::Test {
 protected:
  /// A child spec whose every spawn is reported to the test's scoped actor.
  child_spec reported(caf::atom_value name, caf::behavior (*fn)(caf::stateful_actor<int>*, int)) {
    auto observer = caf::actor_cast<caf::actor>(self);
    return {name, [=](caf::actor_system& system) {
              auto child = system.spawn(fn, 0);
              caf::anon_send(observer, spawned_atom::value, name, child);
              return child;
            }};
  }

  caf::actor await_spawn(caf::atom_value name) {
    caf::actor result;
    self->receive_while([&] { return !result; })(
        [&](spawned_atom, caf::atom_value who, caf::actor child) {
          if (who == name)
            result = child;
        },
        caf::after(std::chrono::seconds(10)) >>
            [&] { FAIL() << "no spawn of " << to_string(name); });
    return result;
  }

  int value_of(const caf::actor& child) {
    int value = -1;
    self->request(child, std::chrono::seconds(5), caf::get_atom::value)
        .receive([&](int v) { value = v; }, [&](caf::error& err) { FAIL() << to_string(err); });
    return value;
  }

  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
};

TEST_F(SupervisorTest, RestartsACrashedChildWhileItsSiblingKeepsItsState) {
  const auto a = caf::atom("child_a");
  const auto b = caf::atom("child_b");
  restart_policy policy;
  policy.initial_backoff = std::chrono::milliseconds(10);
  auto sup = sys.spawn(root_supervisor,
                       std::vector<child_spec>{reported(a, counter), reported(b, counter)}, policy);
  auto first_a = await_spawn(a);
  auto first_b = await_spawn(b);
  self->send(first_a, add_atom_t::value, 5);
  self->send(first_b, add_atom_t::value, 7);
  EXPECT_EQ(value_of(first_a), 5);
  EXPECT_EQ(value_of(first_b), 7);

  self->send(first_a, boom_atom::value);
  auto second_a = await_spawn(a);
  EXPECT_NE(second_a, first_a);
  EXPECT_EQ(value_of(second_a), 0) << "a restarted child starts afresh";
  EXPECT_EQ(value_of(first_b), 7) << "the sibling kept running with its state";
  std::vector<actor_stats> stats;
  self->request(caf::actor_cast<supervisor_api>(sup), std::chrono::seconds(5), stats_atom::value)
      .receive([&](std::vector<actor_stats>& s) { stats = std::move(s); },
               [&](caf::error& err) { FAIL() << to_string(err); });
  // The supervisor answered after it finished the restart: the registry is up to date.
  EXPECT_EQ(caf::actor_cast<caf::actor>(sys.registry().get(a)), second_a)
      << "the registry names the new child";
  EXPECT_EQ(caf::actor_cast<caf::actor>(sys.registry().get(b)), first_b);

  std::uint64_t restarts = 0;
  for (const auto& s : stats)
    restarts += s.restarts;
  EXPECT_EQ(restarts, 1U);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_F(SupervisorTest, GivesUpAfterRepeatedFailuresAndStopsEverything) {
  restart_policy policy;
  policy.max_restarts = 3;
  policy.initial_backoff = std::chrono::milliseconds(1);
  policy.max_backoff = std::chrono::milliseconds(5);
  const auto healthy = caf::atom("healthy");
  std::vector<child_spec> children{
      reported(healthy, counter), {caf::atom("crasher"), [](caf::actor_system& s) {
                                     return s.spawn(crashing_at_start, std::string("cannot start"));
                                   }}};
  auto sup = sys.spawn(root_supervisor, std::move(children), policy);
  auto sibling = await_spawn(healthy);
  self->monitor(sup);
  self->monitor(sibling);
  int downs = 0;
  caf::error sup_reason;
  self->receive_while([&] { return downs < 2; })(
      [&](caf::down_msg& down) {
        ++downs;
        if (down.source == sup.address())
          sup_reason = down.reason;
      },
      caf::after(std::chrono::seconds(10)) >> [&] { FAIL() << "the supervisor did not give up"; });
  EXPECT_TRUE(sup_reason) << "the supervisor ends with the failure as its reason";
}

TEST(RestartBackoff, DoublesUpToTheCap) {
  restart_policy p;
  p.initial_backoff = std::chrono::milliseconds(100);
  p.max_backoff = std::chrono::milliseconds(1000);
  EXPECT_EQ(restart_backoff(p, 1).count(), 100);
  EXPECT_EQ(restart_backoff(p, 2).count(), 200);
  EXPECT_EQ(restart_backoff(p, 4).count(), 800);
  EXPECT_EQ(restart_backoff(p, 5).count(), 1000);
  EXPECT_EQ(restart_backoff(p, 50).count(), 1000);
}

}  // namespace
}  // namespace wtc
