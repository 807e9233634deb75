#pragma once

// The Beast side of /ws/live, for the HTTP server: only Beast translation units include this.

#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/websocket.hpp"

namespace wtc::gateway {

/// Whether `req` asks to be upgraded to a WebSocket.
bool is_websocket_upgrade(const boost::beast::http::request<boost::beast::http::string_body>& req);

/// Takes over the connection of an upgrade request for the service's path: checks the token if
/// the service requires one (answering 401 without a valid one), answers the handshake, joins
/// the hub and runs the session on the socket's executor, its io thread.
void start_websocket_session(websocket_service& service, boost::asio::ip::tcp::socket socket,
                             boost::beast::http::request<boost::beast::http::string_body> req,
                             std::string client_ip, std::string request_id);

}  // namespace wtc::gateway
