#include "simulation/replay_http_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pytheas::sim {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

std::string error_name(const boost::system::error_code& error) {
  if (error == beast::error::timeout) return "timeout";
  if (error == boost::asio::error::connection_refused) return "connection_refused";
  if (error == boost::asio::error::connection_reset) return "connection_reset";
  if (error == http::error::end_of_stream || error == boost::asio::error::eof)
    return "connection_closed";
  std::string name = error.message();
  for (auto& c : name)
    if (c == ' ' || c == ',') c = '_';
  return name;
}

}  // namespace

// One keep-alive connection running one job at a time.
class ReplayHttpPool::Connection {
 public:
  Connection(ReplayHttpPool& pool) : pool_(pool), stream_(pool.io_) {}

  void start(Job job) {
    job_ = std::move(job);
    const auto deadline = job_.submitted + pool_.timeout_;
    if (Clock::now() >= deadline) {
      // Waited in the queue past its deadline: fail without sending.
      boost::asio::post(pool_.io_, [this] { finish_error("timeout"); });
      return;
    }
    stream_.expires_at(deadline);
    build_request();
    reused_ = connected_;
    if (connected_) return send();
    connect();
  }

 private:
  void connect() {
    ++pool_.connections_opened_;
    stream_.async_connect(pool_.endpoint_, [this](boost::system::error_code error) {
      if (error) return fail(error);
      connected_ = true;
      stream_.socket().set_option(tcp::no_delay(true), error);
      send();
    });
  }

  void build_request() {
    request_ = {};
    request_.method(http::verb::post);
    request_.target(job_.target);
    request_.version(11);
    request_.set(http::field::host, pool_.host_header_);
    request_.set(http::field::content_type, job_.content_type);
    request_.body() = std::move(job_.body);
    request_.keep_alive(true);
    request_.prepare_payload();
  }

  void send() {
    http::async_write(stream_, request_, [this](boost::system::error_code error, std::size_t) {
      if (error) return fail(error);
      read();
    });
  }

  void read() {
    response_ = {};
    http::async_read(stream_, buffer_, response_,
                     [this](boost::system::error_code error, std::size_t) {
                       if (error) return fail(error);
                       HttpOutcome outcome;
                       outcome.transport_ok = true;
                       outcome.status = response_.result_int();
                       outcome.body = std::move(response_.body());
                       if (!response_.keep_alive()) close();
                       complete(std::move(outcome));
                     });
  }

  void fail(const boost::system::error_code& error) {
    close();
    // A kept-alive connection the server closed while it sat idle (the
    // node's idle timeout) fails the next request before any answer: the
    // server never read it. Send it once more on a new connection, as HTTP
    // clients do with idle connections; the deadline still holds. A request
    // that did reach the node cannot count twice: a repeated report is
    // refused (409) by its event id.
    if (reused_ && is_closed_by_peer(error)) {
      reused_ = false;
      ++pool_.retries_;
      return connect();
    }
    finish_error(error_name(error));
  }

  static bool is_closed_by_peer(const boost::system::error_code& error) {
    return error == http::error::end_of_stream || error == boost::asio::error::eof ||
           error == boost::asio::error::connection_reset ||
           error == boost::asio::error::broken_pipe;
  }

  void finish_error(std::string error) {
    HttpOutcome outcome;
    outcome.error = std::move(error);
    complete(std::move(outcome));
  }

  void close() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    connected_ = false;
    buffer_.clear();
  }

  // Hands the outcome to the job's callback after freeing this connection,
  // so the callback may submit more work.
  void complete(HttpOutcome outcome) {
    outcome.seconds = std::chrono::duration<double>(Clock::now() - job_.submitted).count();
    auto done = std::move(job_.done);
    job_ = {};
    pool_.on_idle(*this);
    done(std::move(outcome));
  }

  ReplayHttpPool& pool_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  Job job_;
  bool connected_ = false;
  bool reused_ = false;  // the job went out on a connection an earlier job opened
};

ReplayHttpPool::ReplayHttpPool(boost::asio::io_context& io, tcp::endpoint endpoint,
                               std::string host_header, std::size_t connections,
                               std::chrono::milliseconds timeout, std::size_t max_queue)
    : io_(io),
      endpoint_(std::move(endpoint)),
      host_header_(std::move(host_header)),
      timeout_(timeout),
      max_queue_(max_queue) {
  connections_.reserve(connections);
  for (std::size_t i = 0; i < connections; ++i) {
    connections_.push_back(std::make_unique<Connection>(*this));
    idle_.push_back(connections_.back().get());
  }
}

ReplayHttpPool::~ReplayHttpPool() = default;

void ReplayHttpPool::post(std::string target, std::string content_type, std::string body,
                          Callback done) {
  Job job{std::move(target), std::move(content_type), std::move(body), Clock::now(),
          std::move(done)};
  if (!idle_.empty()) {
    auto* connection = idle_.back();
    idle_.pop_back();
    connection->start(std::move(job));
    return;
  }
  if (queue_.size() >= max_queue_) return fail_later(std::move(job), "queue_full");
  queue_.push_back(std::move(job));
}

void ReplayHttpPool::on_idle(Connection& connection) {
  if (queue_.empty()) {
    idle_.push_back(&connection);
    return;
  }
  auto job = std::move(queue_.front());
  queue_.pop_front();
  connection.start(std::move(job));
}

void ReplayHttpPool::fail_later(Job job, std::string error) {
  boost::asio::post(io_, [job = std::move(job), error = std::move(error)]() mutable {
    HttpOutcome outcome;
    outcome.error = std::move(error);
    outcome.seconds = std::chrono::duration<double>(Clock::now() - job.submitted).count();
    job.done(std::move(outcome));
  });
}

}  // namespace pytheas::sim
