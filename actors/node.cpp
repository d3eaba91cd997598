#include "actors/node.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <stdexcept>

namespace pytheas {

struct Node::Impl {
  NodeOptions options;
  FeatureSchema schema = FeatureSchema::original();
  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  std::atomic<bool> ready{false};
};

Node::Node(NodeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Node::~Node() { stop(); }

void Node::start() {
  auto& im = *impl_;
  im.config = std::make_unique<caf::actor_system_config>();
  im.config->set("scheduler.max-threads", static_cast<size_t>(im.options.scheduler_threads));
  im.system = std::make_unique<caf::actor_system>(*im.config);
  im.ready = true;
}

void Node::stop() {
  auto& im = *impl_;
  im.ready = false;
  im.system.reset();
  im.config.reset();
}

const FeatureSchema& Node::schema() const { return impl_->schema; }

DecideResult Node::decide(const DecideRequest&) { throw std::logic_error("decide: todo"); }
ReportStatus Node::report_event(std::string_view, double) { throw std::logic_error("todo"); }
ReportStatus Node::report(const ReportByFeatures&) { throw std::logic_error("todo"); }
std::vector<GroupInfo> Node::groups() const { return {}; }
std::optional<GroupInfo> Node::group(std::string_view) const { return std::nullopt; }
NodeStats Node::stats() const { return {}; }
bool Node::ready() const { return impl_->ready; }

}  // namespace pytheas
