#pragma once

#include <cstdint>

namespace wtc {

/// Messages waiting in an actor's mailbox, for its stats. mailbox().size() would pull new arrivals
/// into the queue the actor is working through in that very moment; this reads only what is
/// already queued, which lags the true depth by the messages of the last instant.
template <class Self>
std::uint64_t mailbox_depth(Self* self) {
  return static_cast<std::uint64_t>(self->mailbox().queue().total_task_size());
}

}  // namespace wtc
