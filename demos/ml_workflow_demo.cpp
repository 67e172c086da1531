// ML workflow: a data set and a model kept in the host's session as tensors,
// trained by a stateless Python worker that streams per-epoch progress. The
// error paths: a missing data set falls back to synthetic data, and a
// training run cut short by its deadline leaves a usable partial model.
#include <thread>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

const std::vector<std::string> data_variables = {"ml_X_train", "ml_y_train", "ml_X_test",
                                                 "ml_y_test", "ml_source", "ml_features"};
const std::vector<std::string> model_variables = {"ml_weights", "ml_bias", "ml_means",
                                                  "ml_scales", "ml_epochs_done"};

class ml_workflow_demo : public demo {
public:
  std::string name() const override { return "ml_workflow"; }
  std::string description() const override {
    return "ML workflow: data and model as tensors in the session, streamed training";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool and create a session"},
      {"load", "load the iris data set (real if scikit-learn is installed, else synthetic)"},
      {"inspect", "the data set is tensors in the host's session"},
      {"train", "train, with per-epoch progress streamed"},
      {"evaluate", "evaluate the model on the test split"},
      {"missing_data", "error path: a missing data set falls back to synthetic data"},
      {"timeout", "error path: a deadline cuts training short; the partial model is used"},
    };
  }

  /// Loads `dataset`; on DataNotFoundError generates synthetic data instead.
  static json load(context& ctx, const std::string& session, const std::string& dataset) {
    auto& rt = ctx.rt();
    auto r = rt.execute_in_session(session, "load_dataset", {{"dataset", dataset}, {"split", 0.8}});
    json loaded;
    if (r) {
      loaded = std::move(r).value();
    } else if (r.error().python_type() == "DataNotFoundError") {
      ctx.note("⚠ {}: {}", dataset, r.error().message());
      ctx.note("  falling back to synthetic data");
      loaded = ctx.value(rt.execute_in_session(session, "synthetic_dataset", {{"samples", 150}}),
                         "synthetic_dataset");
    } else {
      throw step_failure("load_dataset: " + r.error().to_string());
    }
    for (auto& v : data_variables)
      ctx.track_variable(session, v);
    return loaded;
  }

  static json train(context& ctx, const std::string& session, int epochs, int epoch_ms,
                    call_options options = {}) {
    for (auto& v : model_variables)
      ctx.track_variable(session, v);
    json last;
    auto r = ctx.rt().execute_stream(
      "train_model", {{"epochs", epochs}, {"learning_rate", 0.5}, {"epoch_ms", epoch_ms}},
      [&](const json& c) {
        if (c.at("type") == "progress") {
          int e = c.at("epoch");
          ctx.progress(static_cast<std::size_t>(e), static_cast<std::size_t>(epochs),
                       fmt::format("epoch, loss {:.3f}", c.at("loss").get<double>()));
          if (e == 1 || e % 5 == 0 || e == epochs)
            ctx.note("epoch {:>2}/{}: loss {:.3f}, train accuracy {:.3f}", e, epochs,
                     c.at("loss").get<double>(), c.at("accuracy").get<double>());
        }
        last = c;
      },
      [&] { options.session_id = session; return options; }());
    if (!r)
      return json{{"error", r.error().to_string()}, {"code", to_string(r.error().code())}, {"last", last}};
    return last;
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      ctx.state()["session"] = ctx.create_session("ml");
      return step_result::success();
    }
    auto& rt = ctx.rt();
    std::string id = ctx.state().at("session");
    if (step == "load") {
      auto loaded = load(ctx, id, "iris");
      ctx.note("data: {} — {} samples, {} to train, {} to test (maths in {})",
               loaded.at("source").get<std::string>(), loaded.at("total_samples").get<int>(),
               loaded.at("train_samples").get<int>(), loaded.at("test_samples").get<int>(),
               loaded.at("numpy") == true ? "numpy" : "pure Python");
      return step_result::success(loaded);
    }
    if (step == "inspect") {
      auto vars = rt.list_variables(id);
      ctx.check(static_cast<bool>(vars), "list_variables failed");
      for (auto& v : *vars) {
        auto shape = v.type == variable_type::tensor ? v.value.at("shape").dump() : v.value.dump();
        ctx.note("{:<12} {:<7} {}", v.name, to_string(v.type), shape.substr(0, 60));
      }
      auto x = rt.get_variable(id, "ml_X_train");
      ctx.check(x && x->type == variable_type::tensor, "ml_X_train is not a tensor");
      return step_result::success();
    }
    if (step == "train") {
      int epochs = ctx.size(40, 15);
      auto done = train(ctx, id, epochs, 0);
      ctx.check(done.at("type") == "completed", "training did not complete: " + done.dump());
      ctx.note("completed {} epochs in {:.0f} ms: train accuracy {:.3f}", epochs,
               done.at("ms").get<double>(), done.at("final_accuracy").get<double>());
      return step_result::success(done);
    }
    if (step == "evaluate") {
      auto r = ctx.value(rt.execute_in_session(id, "evaluate_model"), "evaluate_model");
      ctx.note("test accuracy {:.3f} on {} samples after {} epochs", r.at("accuracy").get<double>(),
               r.at("test_samples").get<int>(), r.at("epochs_done").get<int>());
      auto& classes = r.at("classes");
      for (std::size_t i = 0; i < classes.size(); ++i)
        ctx.note("  {:<11} {}", classes[i].get<std::string>(), r.at("confusion")[i].dump());
      ctx.check(r.at("accuracy").get<double>() > 0.6, "the model learned nothing");
      return step_result::success(r);
    }
    if (step == "missing_data") {
      auto other = ctx.create_session("ml-fallback");
      ctx.state()["fallback"] = other;
      auto loaded = load(ctx, other, "no_such_dataset");
      ctx.check(loaded.at("source").get<std::string>().find("synthetic") != std::string::npos,
                "no fallback happened");
      ctx.note("loaded {} samples of {} data", loaded.at("total_samples").get<int>(),
               loaded.at("source").get<std::string>());
      return step_result::success(loaded);
    }
    if (step == "timeout") {
      std::string other = ctx.state().at("fallback");
      call_options deadline;
      deadline.timeout = std::chrono::milliseconds(ctx.size(800, 600));
      auto r = train(ctx, other, 100, 40, deadline);
      ctx.check(r.contains("error") && r.at("code") == "timeout", "expected a timeout: " + r.dump());
      ctx.note("⚠ {}: using the partial model", r.at("error").get<std::string>());
      // The worker saw the cancel; let its last write land before reading.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto eval = ctx.value(rt.execute_in_session(other, "evaluate_model"), "evaluate_model");
      ctx.note("partial model: {} of 100 epochs, test accuracy {:.3f}",
               eval.at("epochs_done").get<int>(), eval.at("accuracy").get<double>());
      // Epoch 0 is the untrained model, saved before the first epoch: on a
      // starved machine that may be all the deadline allowed.
      ctx.check(eval.at("epochs_done").get<int>() < 100, "the model is not partial");
      return step_result::success(eval);
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_ml_workflow_demo() {
  return std::make_unique<ml_workflow_demo>();
}

} // namespace snakepit::demos
