#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace wtc::gateway {

/// What a route demands of the caller. Ordered like the roles: each level includes the ones below.
enum class access : std::uint8_t { anonymous = 0, viewer = 1, operator_ = 2, admin = 3 };

std::string_view to_string(access level);

/// One HTTP request as the handlers see it: decoded, size-checked, independent of Beast.
struct request {
  std::string method;
  std::string path;                                     // as sent, without the query
  std::unordered_map<std::string, std::string> query;   // percent-decoded
  std::unordered_map<std::string, std::string> params;  // from the route pattern's {names}
  std::string body;
  std::string content_type;
  std::string token;  // the bearer token, if the client sent one
  std::string user_agent;
  std::string origin_header;  // the CORS Origin
  request_origin origin;      // client address and request id; user and role once authenticated
  session_record session;     // valid when the route needs a role
};

struct response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A request in flight and the way back to its connection. Handlers may reply from any thread,
/// exactly once; the reply is carried to the connection's own executor.
class exchange {
 public:
  using sink = std::function<void(response)>;

  exchange(request incoming, sink reply_sink)
      : req(std::move(incoming)), sink_(std::move(reply_sink)) {}
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  /// A request that everybody dropped without an answer (a handler bug, an actor that died with
  /// the request in hand) still gets one: a client must never wait forever.
  ~exchange() {
    if (!replied_.exchange(true)) {
      response res;
      res.status = 500;
      res.body = R"({"detail":"internal error: the request was dropped without an answer"})";
      sink_(std::move(res));
    }
  }

  request req;
  /// The matched route's index in the router, for the metrics; -1 when none matched.
  int route_index = -1;

  void reply(response res) {
    if (replied_.exchange(true))
      return;
    sink_(std::move(res));
  }

 private:
  sink sink_;
  std::atomic<bool> replied_{false};
};

using exchange_ptr = std::shared_ptr<exchange>;
using handler = std::function<void(const exchange_ptr&)>;

}  // namespace wtc::gateway
