// Game sessions (the GameBot seed): one session per game, for a guild and a
// mode; guesses processed by stateless workers against the host's state;
// pause and resume; an idle game expired by the reaper; every lifecycle
// event delivered to a subscriber; termination.
#include <mutex>
#include <thread>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

using namespace std::chrono_literals;

constexpr auto session_ttl = 1500ms;
constexpr auto reap_interval = 100ms;

/// Events from every game's subscription, in arrival order.
struct game_events {
  std::mutex mutex;
  std::vector<session_event> seen;
  std::map<std::string, runtime::subscription> subscriptions;
  std::vector<session_event> take() {
    std::lock_guard<std::mutex> guard{mutex};
    return std::exchange(seen, {});
  }
};

std::string describe(const session_event& ev) {
  std::string extra = ev.error ? ev.error->to_string() : ev.detail;
  return fmt::format("event {:<22} {}{}", ev.session_id, to_string(ev.kind),
                     extra.empty() ? "" : " (" + extra + ")");
}

class game_sessions_demo : public demo {
public:
  std::string name() const override { return "game_sessions"; }
  std::string description() const override {
    return "Game sessions: guilds and modes, guesses, pause/resume, idle expiry, events";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool (session ttl 1.5 s, reaped every 100 ms)"},
      {"create", "create two games for a guild; subscribe to their events"},
      {"guesses", "process guesses from the players"},
      {"pause", "pause a game: guesses are refused; resume it"},
      {"expiry", "leave one game idle: the reaper expires it"},
      {"terminate", "end the other game; the subscriber sees it terminate"},
    };
  }

  static void show(context& ctx, game_events& events) {
    for (auto& ev : events.take())
      if (ev.kind != session_event_kind::command_processed)
        ctx.note("{}", describe(ev));
  }

  step_result run_step(const std::string& step, context& ctx) override {
    auto& events = ctx.shared<game_events>("events");
    if (step == "start") {
      ctx.start_runtime([](config& cfg) {
        cfg.session_ttl = session_ttl;
        cfg.session_reap_interval = reap_interval;
      });
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "create") {
      struct spec { const char* mode; const char* word; };
      json games = json::object();
      for (auto [mode, word] : {spec{"race", "otter"}, spec{"knockout", "cobra"}}) {
        auto id = ctx.create_session(fmt::format("game-{}", mode));
        auto* ev = &events;
        auto sub = rt.subscribe(id, [ev](const session_event& e) {
          std::lock_guard<std::mutex> guard{ev->mutex};
          ev->seen.push_back(e);
        });
        ctx.check(static_cast<bool>(sub), "subscribe failed");
        events.subscriptions.emplace(id, std::move(*sub));
        resource r;
        r.kind = "subscription";
        r.id = id;
        r.release = [ev, id]() -> result<void> {
          ev->subscriptions.erase(id);  // unsubscribes
          return {};
        };
        ctx.track(std::move(r));
        auto g = ctx.value(rt.execute_in_session(id, "game_start",
                                                 {{"guild_id", "guild-42"}, {"mode", mode}, {"word", word}}),
                           "game_start");
        ctx.note("game {} for {} in mode {} ({} letters)", id, g.at("guild_id").get<std::string>(),
                 mode, g.at("letters").get<int>());
        games[mode] = id;
      }
      ctx.state()["games"] = games;
      show(ctx, events);
      return step_result::success(games);
    }
    std::string race = ctx.state().at("games").at("race");
    std::string knockout = ctx.state().at("games").at("knockout");
    if (step == "guesses") {
      struct g { std::string game; const char* player; const char* word; };
      for (auto& [game, player, word] : {g{race, "ada", "outer"}, g{knockout, "bob", "coral"},
                                          g{race, "cy", "ottar"}, g{race, "ada", "otter"}}) {
        auto r = ctx.value(rt.execute_in_session(game, "game_guess", {{"player", player}, {"word", word}}),
                           "game_guess");
        ctx.note("{:<22} {:<4} guesses {}: {} ({} in place, guess #{})", game, player, word,
                 r.at("correct") == true ? "correct!" : "no", r.at("in_place").get<int>(),
                 r.at("guesses").get<int>());
      }
      auto status = ctx.value(rt.execute_in_session(race, "game_status"), "game_status");
      ctx.check(status.at("winner") == "ada", "ada should have won: " + status.dump());
      std::size_t processed = 0;
      for (auto& ev : events.take())
        processed += ev.kind == session_event_kind::command_processed;
      ctx.note("race won by {}; the subscriber saw {} commands processed",
               status.at("winner").get<std::string>(), processed);
      return step_result::success(status);
    }
    if (step == "pause") {
      ctx.ok(rt.pause_session(knockout), "pause_session");
      auto refused = rt.execute_in_session(knockout, "game_guess", {{"player", "bob"}, {"word", "cobra"}});
      ctx.check(!refused && refused.error().code() == errc::invalid_state, "a paused game took a guess");
      ctx.note("paused: a guess is refused → {}", refused.error().to_string());
      ctx.ok(rt.resume_session(knockout), "resume_session");
      auto r = ctx.value(rt.execute_in_session(knockout, "game_guess", {{"player", "bob"}, {"word", "cobra"}}),
                         "game_guess");
      ctx.note("resumed: bob guesses cobra → {}", r.at("correct") == true ? "correct!" : "no");
      show(ctx, events);
      return step_result::success();
    }
    if (step == "expiry") {
      // Keep the race game busy; leave the knockout game idle.
      auto t0 = std::chrono::steady_clock::now();
      bool expired = false;
      while (!expired && ms_since(t0) < 5000) {
        ctx.value(rt.execute_in_session(race, "game_status"), "game_status");
        expired = !rt.session(knockout);
        if (!expired)
          std::this_thread::sleep_for(50ms);
      }
      ctx.check(expired, "the idle game did not expire within 5 s");
      ctx.note("{} expired after {:.0f} ms idle (ttl {} ms); {} is still {}", knockout, ms_since(t0),
               session_ttl.count(), race, to_string(rt.session(race)->state));
      std::this_thread::sleep_for(20ms);
      show(ctx, events);
      return step_result::success();
    }
    if (step == "terminate") {
      ctx.ok(rt.close_session(race), "close_session");
      std::this_thread::sleep_for(20ms);
      bool terminated = false;
      for (auto& ev : events.take()) {
        if (ev.kind != session_event_kind::command_processed)
          ctx.note("{}", describe(ev));
        terminated = terminated || (ev.session_id == race && ev.kind == session_event_kind::terminated);
      }
      ctx.check(terminated, "the subscriber did not see the game terminate");
      ctx.check(rt.list_sessions().empty(), "sessions remain");
      return step_result::success();
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_game_sessions_demo() {
  return std::make_unique<game_sessions_demo>();
}

} // namespace snakepit::demos
