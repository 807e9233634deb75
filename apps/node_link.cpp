#include "apps/node_link.hpp"

#include <dlfcn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <spdlog/spdlog.h>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

namespace {

/// Logs every certificate check of a node link: libcaf_openssl refuses an untrusted peer by
/// closing the connection and says nothing, and an operator must see who was refused and why.
int log_certificate_check(int preverify_ok, X509_STORE_CTX* store) {
  const int depth = X509_STORE_CTX_get_error_depth(store);
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  char subject[256] = "(no certificate)";
  if (cert != nullptr)
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  if (preverify_ok == 0)
    spdlog::error("node link: refused a peer's certificate '{}' (depth {}): {}", subject, depth,
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
  else if (depth == 0)
    spdlog::info("node link: peer certificate '{}' accepted", subject);
  return preverify_ok;
}

}  // namespace

// libcaf_openssl 0.17 sets up its TLS contexts with SSL_CTX_set_verify(ctx, mode, nullptr) and
// offers no hook of its own. This definition takes that call (the executable's symbol comes
// before libssl's for the libraries it loads) and adds the logging callback, keeping CAF's mode:
// the verification itself is still OpenSSL's.
extern "C" void SSL_CTX_set_verify(SSL_CTX* ctx, int mode, SSL_verify_cb callback) {
  using set_verify_fn = void (*)(SSL_CTX*, int, SSL_verify_cb);
  static const auto next = reinterpret_cast<set_verify_fn>(dlsym(RTLD_NEXT, "SSL_CTX_set_verify"));
  next(ctx, mode, callback != nullptr ? callback : &log_certificate_check);
}

namespace wtc::app {

void configure_node_link(caf::actor_system_config& cfg, const node_link_config& link) {
  cfg.load<caf::io::middleman>();
  // CAF's heartbeat is off by default, and without it a frozen peer (a hung process, a cut
  // cable) is never noticed: every 500 ms, and a link with nothing heard for 1.5 s is down.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds(1500)});
  if (!link.tls())
    return;
  cfg.load<caf::openssl::manager>();
  cfg.set("openssl.certificate", link.cert);
  cfg.set("openssl.key", link.key);
  cfg.set("openssl.cafile", link.ca);
}

caf::io::middleman_actor node_middleman(caf::actor_system& sys, const node_link_config& link) {
  if (link.tls())
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

}  // namespace wtc::app
