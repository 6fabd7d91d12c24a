#include "receivers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "tocsin/core/json_text.hpp"
#include "tocsin/net/retry_after.hpp"

extern char** environ;

namespace tocsin::alerting::detail {

namespace {

using nlohmann::json;

std::string truncate(std::string s, std::size_t n = 300) {
  if (s.size() > n) {
    s.resize(n);
    s += "...";
  }
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// A write to a pipe whose reader has exited raises SIGPIPE, which would end the daemon: block it on
// this thread for the write and consume it if it came.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t w = ::write(fd, data, size);
  int saved = errno;
  if (w < 0 && errno == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

HttpRequest base_request(const config::ReceiverConfig& c, std::string url, std::string body) {
  HttpRequest r;
  r.url = std::move(url);
  r.body = std::move(body);
  r.timeout = c.timeout;
  for (const auto& [name, value] : c.headers) r.headers.emplace_back(name, value);
  if (!c.bearer_token.empty()) r.headers.emplace_back("Authorization", "Bearer " + c.bearer_token.reveal());
  return r;
}

// A structured line through the daemon's logger (stderr, or journald through it).
class LogReceiver final : public Receiver {
 public:
  LogReceiver(const config::ReceiverConfig& c, ReceiverContext ctx) : name_(c.name), ctx_(std::move(ctx)) {}
  DeliveryOutcome deliver(const Notification& n, Timestamp now, Cancellation&) override {
    for (const NotifiedAlert& a : n.alerts) {
      Notification single = n;
      single.alerts = {a};
      std::string text = render_text(single, *ctx_.zone, now, false);
      if (!text.empty() && text.back() == '\n') text.pop_back();
      for (char& c : text) {
        if (c == '\n') c = ';';
      }
      auto level = a.status == "resolved" || a.event == AlertEvent::acknowledged ? spdlog::level::info
                                                                                 : spdlog::level::warn;
      ctx_.log->log(
          level,
          "alert notification receiver={} status={} event={} alertname={} severity={} fingerprint={} "
          "step={}/{} labels={} text=\"{}\"",
          name_, a.status, to_string(a.event), a.labels.get("alertname"), a.labels.get("severity"),
          a.fingerprint, a.escalation.step, a.escalation.steps, a.labels.to_string(), text);
    }
    return DeliveryOutcome::ok();
  }

 private:
  std::string name_;
  ReceiverContext ctx_;
};

class WebhookReceiver final : public Receiver {
 public:
  explicit WebhookReceiver(const config::ReceiverConfig& c) : config_(c), client_(c.tls) {}
  DeliveryOutcome deliver(const Notification& n, Timestamp, Cancellation& cancel) override {
    return outcome_of(
        client_.send(base_request(config_, config_.url.reveal(), json_text(to_webhook_json(n))), &cancel));
  }

 private:
  config::ReceiverConfig config_;
  HttpClient client_;
};

class SlackReceiver final : public Receiver {
 public:
  SlackReceiver(const config::ReceiverConfig& c, ReceiverContext ctx)
      : config_(c), ctx_(std::move(ctx)), client_(c.tls) {}
  DeliveryOutcome deliver(const Notification& n, Timestamp now, Cancellation& cancel) override {
    json body = to_slack_json(n, config_.channel, config_.username, *ctx_.zone, now);
    return outcome_of(client_.send(base_request(config_, config_.url.reveal(), json_text(body)), &cancel));
  }

 private:
  config::ReceiverConfig config_;
  ReceiverContext ctx_;
  HttpClient client_;
};

class PagerDutyReceiver final : public Receiver {
 public:
  PagerDutyReceiver(const config::ReceiverConfig& c, ReceiverContext ctx)
      : config_(c), ctx_(std::move(ctx)), client_(c.tls) {}
  DeliveryOutcome deliver(const Notification& n, Timestamp now, Cancellation& cancel) override {
    // One event per alert; PagerDuty de-duplicates on dedup_key, so a retry resending the events
    // that already went through is harmless.
    for (const NotifiedAlert& a : n.alerts) {
      json event = to_pagerduty_event(n, a, config_.routing_key.reveal(), config_.source, *ctx_.zone, now);
      DeliveryOutcome o =
          outcome_of(client_.send(base_request(config_, config_.url.reveal(), json_text(event)), &cancel));
      if (o.kind != DeliveryOutcome::Kind::delivered) return o;
    }
    return DeliveryOutcome::ok();
  }

 private:
  config::ReceiverConfig config_;
  ReceiverContext ctx_;
  HttpClient client_;
};

class AlertmanagerReceiver final : public Receiver {
 public:
  AlertmanagerReceiver(const config::ReceiverConfig& c, ReceiverContext ctx)
      : config_(c), ctx_(std::move(ctx)), client_(c.tls) {
    for (const auto& base : config_.alertmanager_urls) {
      Peer peer;
      if (ctx_.peers.posts != nullptr) {
        peer.success = &ctx_.peers.posts->Add({{"receiver", c.name}, {"peer", base}, {"result", "success"}});
        peer.failure = &ctx_.peers.posts->Add({{"receiver", c.name}, {"peer", base}, {"result", "failure"}});
      }
      if (ctx_.peers.up != nullptr) peer.up = &ctx_.peers.up->Add({{"receiver", c.name}, {"peer", base}});
      peers_.push_back(peer);
    }
  }
  DeliveryOutcome deliver(const Notification& n, Timestamp now, Cancellation& cancel) override {
    // As Prometheus does: firing alerts stay valid for four resend intervals, so one lost resend
    // does not resolve them in Alertmanager. Members of an Alertmanager cluster gossip silences and
    // notification logs but not alerts, so every member is sent every notification (its HA guide:
    // send to all), all at once: a member that hangs until the timeout holds back no other. Success
    // when any of them took it; a member that missed a firing alert gets it with the periodic
    // resend. Each member's failure is logged by URL and counted by peer.
    std::string body = json_text(to_alertmanager_json(n, now, config_.resend_interval * 4));
    const std::vector<HttpResponse> responses = post_to_all(body, cancel);
    std::string errors;
    bool any = false;
    DeliveryOutcome worst = DeliveryOutcome::reject("");
    for (std::size_t k = 0; k < responses.size(); ++k) {
      const std::string& base = config_.alertmanager_urls[k];
      DeliveryOutcome o = outcome_of(responses[k]);
      count(k, o.kind == DeliveryOutcome::Kind::delivered);
      if (o.kind == DeliveryOutcome::Kind::delivered) {
        any = true;
        continue;
      }
      ctx_.log->warn("alertmanager receiver {}: {} did not take the notification: {}", config_.name, base,
                     o.error);
      errors += (errors.empty() ? "" : "; ") + base + ": " + o.error;
      if (o.kind == DeliveryOutcome::Kind::retry) {
        worst.kind = DeliveryOutcome::Kind::retry;
        // Every member is sent again: the longest wait any of them asked for.
        if (o.retry_after)
          worst.retry_after = std::max(worst.retry_after.value_or(Duration(0)), *o.retry_after);
      }
    }
    if (any) return DeliveryOutcome::ok();
    if (cancel.cancelled()) return DeliveryOutcome::retry("cancelled");
    worst.error = errors;
    return worst;
  }

 private:
  struct Peer {
    prometheus::Counter* success = nullptr;
    prometheus::Counter* failure = nullptr;
    prometheus::Gauge* up = nullptr;
  };

  // One request per peer, each on a thread of its own but the first (on the caller's), each with
  // its own cancellation, which the delivery's cancels all together.
  std::vector<HttpResponse> post_to_all(const std::string& body, Cancellation& cancel) {
    const std::size_t count = config_.alertmanager_urls.size();
    std::vector<HttpResponse> responses(count);
    std::vector<Cancellation> cancels(count);
    cancel.on_cancel([&cancels] {
      for (auto& c : cancels) c.cancel();
    });
    auto post = [&](std::size_t k) {
      responses[k] = client_.send(
          base_request(config_, config_.alertmanager_urls[k] + "/api/v2/alerts", body), &cancels[k]);
    };
    std::vector<std::thread> threads;
    for (std::size_t k = 1; k < count; ++k) {
      try {
        threads.emplace_back(post, k);
      } catch (const std::system_error&) {
        post(k);  // no thread to be had: this one in turn
      }
    }
    if (count > 0) post(0);
    for (auto& t : threads) t.join();
    cancel.clear_hook();
    return responses;
  }

  void count(std::size_t k, bool delivered) {
    const Peer& p = peers_[k];
    if (prometheus::Counter* c = delivered ? p.success : p.failure; c != nullptr) c->Increment();
    if (p.up != nullptr) p.up->Set(delivered ? 1 : 0);
  }

  config::ReceiverConfig config_;
  ReceiverContext ctx_;
  HttpClient client_;
  std::vector<Peer> peers_;  // by index of config_.alertmanager_urls
};

// Runs a command with the webhook JSON on stdin. Exit status 0 is success; anything else, or the
// timeout, is retried. The command runs in its own process group, killed whole on timeout.
class ExecReceiver final : public Receiver {
 public:
  explicit ExecReceiver(const config::ReceiverConfig& c) : config_(c) {}
  DeliveryOutcome deliver(const Notification& n, Timestamp, Cancellation& cancel) override {
    std::string input = json_text(to_webhook_json(n));
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0)
      return DeliveryOutcome::retry(std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
      ::close(in_pipe[0]);
      ::close(in_pipe[1]);
      return DeliveryOutcome::retry(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    std::vector<std::string> env_store = {"TOCSIN_RECEIVER=" + config_.name, "TOCSIN_STATUS=" + n.status()};
    std::vector<char*> envp;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) envp.push_back(*e);
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (const auto& a : config_.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (rc != 0) {
      ::close(in_pipe[1]);
      ::close(out_pipe[0]);
      return DeliveryOutcome::retry("cannot run " + config_.command[0] + ": " + std::strerror(rc));
    }
    cancel.on_cancel([pid] { ::kill(-pid, SIGKILL); });
    ::fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    auto deadline = std::chrono::steady_clock::now() + config_.timeout;
    std::size_t written = 0;
    int in_fd = in_pipe[1];
    int out_fd = out_pipe[0];
    std::string output;
    bool timed_out = false;
    while (out_fd >= 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd fds[2];
      int count = 0;
      fds[count++] = {out_fd, POLLIN, 0};
      if (in_fd >= 0) fds[count++] = {in_fd, POLLOUT, 0};
      int ready = ::poll(fds, static_cast<nfds_t>(count), static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      if (fds[0].revents != 0) {
        char buf[4096];
        ssize_t r = ::read(out_fd, buf, sizeof buf);
        if (r > 0) {
          if (output.size() < 8192) output.append(buf, static_cast<std::size_t>(r));
        } else if (r == 0 || errno != EINTR) {
          ::close(out_fd);
          out_fd = -1;
        }
      }
      if (in_fd >= 0 && count > 1 && fds[1].revents != 0) {
        ssize_t w = (fds[1].revents & POLLOUT)
                        ? write_no_sigpipe(in_fd, input.data() + written, input.size() - written)
                        : -1;
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 && errno == EAGAIN) continue;
        if (w < 0 || written == input.size()) {  // done, or the command stopped reading
          ::close(in_fd);
          in_fd = -1;
        }
      }
    }
    if (in_fd >= 0) ::close(in_fd);
    if (out_fd >= 0) ::close(out_fd);
    if (timed_out) ::kill(-pid, SIGKILL);
    int status = 0;
    while (true) {
      pid_t w = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
      if (w == pid || (w < 0 && errno != EINTR)) break;
      if (w == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
          timed_out = true;
          ::kill(-pid, SIGKILL);
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    }
    cancel.clear_hook();
    if (cancel.cancelled()) return DeliveryOutcome::retry("cancelled");
    if (timed_out) {
      return DeliveryOutcome::retry(config_.command[0] + " timed out after " +
                                    format_duration(config_.timeout));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return DeliveryOutcome::ok();
    std::string why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status));
    return DeliveryOutcome::retry(config_.command[0] + " " + why +
                                  (output.empty() ? "" : ": " + truncate(output)));
  }

 private:
  config::ReceiverConfig config_;
};

}  // namespace

DeliveryOutcome outcome_of(const HttpResponse& r, std::time_t now) {
  if (!r.error.empty()) return DeliveryOutcome::retry(r.error);
  if (r.status >= 200 && r.status < 300) return DeliveryOutcome::ok();
  std::string e = "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + truncate(r.body));
  if (r.status == 429 || r.status == 503) {
    DeliveryOutcome o = DeliveryOutcome::retry(std::move(e));
    if (auto after = net::parse_retry_after(r.header("Retry-After"), now)) o.retry_after = *after;
    return o;
  }
  if (r.status == 408 || r.status >= 500) return DeliveryOutcome::retry(e);
  return DeliveryOutcome::reject(e);
}

std::shared_ptr<Receiver> make_receiver(const config::ReceiverConfig& c, const ReceiverContext& ctx) {
  switch (c.type) {
    case config::ReceiverType::log: return std::make_shared<LogReceiver>(c, ctx);
    case config::ReceiverType::webhook: return std::make_shared<WebhookReceiver>(c);
    case config::ReceiverType::slack: return std::make_shared<SlackReceiver>(c, ctx);
    case config::ReceiverType::pagerduty: return std::make_shared<PagerDutyReceiver>(c, ctx);
    case config::ReceiverType::alertmanager: return std::make_shared<AlertmanagerReceiver>(c, ctx);
    case config::ReceiverType::exec: return std::make_shared<ExecReceiver>(c);
  }
  return std::make_shared<LogReceiver>(c, ctx);
}

}  // namespace tocsin::alerting::detail
