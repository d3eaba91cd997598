#include "actors/storage/state_store.hpp"

#include "core/raw_bytes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "actors/common/clock.hpp"
#include "core/crc32.hpp"
#include "core/errors.hpp"

namespace pytheas {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'P', 'Y', 'T', 'G', 'R', 'P', '\r', '\n'};
constexpr std::uint32_t kFormatVersionNoWal = 1;
constexpr std::uint32_t kFormatVersionWal = 2;    ///< adds wal_seq
constexpr std::uint32_t kFormatVersionMarks = 3;  ///< adds report marks and floor
constexpr std::uint32_t kFormatVersionAges = 4;   ///< adds WrittenAt; policy state format 3
constexpr std::size_t kMaxFieldBytes = 64u << 20;

template <class T>
void put(std::string& out, T value) {
  append_raw(out, value);
}

void put_bytes(std::string& out, std::string_view bytes) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

class Reader {
 public:
  Reader(std::string_view bytes, const std::string& origin) : bytes_(bytes), origin_(origin) {}

  template <class T>
  T get(const char* field) {
    need(sizeof(T), field);
    T value = read_raw<T>(bytes_, pos_);
    pos_ += sizeof(T);
    return value;
  }

  std::string get_bytes(const char* field) {
    auto size = get<std::uint32_t>(field);
    if (size > kMaxFieldBytes) fail(std::string(field) + " length out of range");
    need(size, field);
    std::string out(bytes_.substr(pos_, size));
    pos_ += size;
    return out;
  }

  void read_marks(ReportMarks& marks, const char* field) {
    if (!marks.read_from(bytes_, pos_)) fail(std::string("truncated at ") + field);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw CorruptState(origin_ + ": " + what);
  }

  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  void need(std::size_t n, const char* field) const {
    if (bytes_.size() - pos_ < n) fail(std::string("truncated at ") + field);
  }

  std::string_view bytes_;
  const std::string& origin_;
  std::size_t pos_ = 0;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::uint64_t boot_hash() {
  // Read once: the boot does not change under a running process.
  static const std::uint64_t hash = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    if (!(in >> id) || id.empty()) return std::uint64_t{0};
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
    return h == 0 ? 1 : h;
  }();
  return hash;
}

ClockReading ClockReading::now() {
  return ClockReading{wall_seconds(), monotonic_seconds(), boot_hash()};
}

double restored_written_at(const WrittenAt& written, const ClockReading& now) {
  double elapsed;
  if (written.boot != 0 && written.boot == now.boot && written.monotonic >= 0 &&
      written.monotonic <= now.monotonic) {
    // This boot: exact, whatever the wall clock did (and bit-exact when not capped).
    if (now.monotonic - written.monotonic <= kMaxChargedDowntime) return written.monotonic;
    elapsed = now.monotonic - written.monotonic;
  } else
    elapsed = now.wall - written.wall;  // another boot: only the wall clock spans it
  if (!(elapsed > 0)) elapsed = 0;      // a clock stepped back (or NaN): nothing elapsed
  return now.monotonic - std::min(elapsed, kMaxChargedDowntime);
}

StateStore::StateStore(fs::path dir) : groups_dir_(std::move(dir) / "groups") {
  std::error_code ec;
  fs::create_directories(groups_dir_, ec);
  if (ec) throw std::runtime_error("state dir " + groups_dir_.string() + ": " + ec.message());
  if (::access(groups_dir_.c_str(), W_OK) != 0)
    throw std::runtime_error("state dir " + groups_dir_.string() + " is not writable");
}

std::string StateStore::file_name(const std::string& key) {
  std::string name;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '=') {
      name.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      name.push_back('%');
      name.push_back(kHex[c >> 4]);
      name.push_back(kHex[c & 15]);
    }
  }
  if (name.empty()) name.push_back('%');              // no escaped key is a lone %
  if (name[0] == '.') name = "%2E" + name.substr(1);  // never a hidden file or "." / ".."
  if (name.size() > 180) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "~%08x", crc32(key));
    name = name.substr(0, 160) + suffix;
  }
  return name + ".group";
}

std::string StateStore::encode(const GroupRecord& record, const ClockReading& now) {
  std::string body;
  put_bytes(body, record.key);
  put<std::uint64_t>(body, record.decisions);
  put<std::uint64_t>(body, record.reports);
  put<double>(body, record.last_activity);
  put_bytes(body, record.policy_state);
  const auto version = kFormatVersionAges;
  put<std::uint64_t>(body, record.wal_seq);
  record.marks.append_to(body);
  record.floor.append_to(body);
  put_bytes(body, record.confirmer);
  put<double>(body, now.wall - (now.monotonic - record.written_at));
  put<double>(body, record.written_at);
  put<std::uint64_t>(body, now.boot);
  std::string out(kMagic, sizeof kMagic);
  put<std::uint32_t>(out, version);
  put<std::uint32_t>(out, crc32(body));
  out += body;
  return out;
}

GroupRecord StateStore::decode(std::string_view bytes, const std::string& origin,
                               const ClockReading& now) {
  Reader reader(bytes, origin);
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    reader.fail("not a Pytheas group state file (bad magic)");
  Reader header(bytes.substr(sizeof kMagic), origin);
  auto version = header.get<std::uint32_t>("version");
  if (version < kFormatVersionNoWal || version > kFormatVersionAges)
    reader.fail("unsupported format version " + std::to_string(version));
  auto checksum = header.get<std::uint32_t>("checksum");
  auto body = bytes.substr(sizeof kMagic + 8);
  if (crc32(body) != checksum) reader.fail("checksum mismatch");
  Reader fields(body, origin);
  GroupRecord record;
  record.key = fields.get_bytes("key");
  record.decisions = fields.get<std::uint64_t>("decisions");
  record.reports = fields.get<std::uint64_t>("reports");
  record.last_activity = fields.get<double>("last_activity");
  record.policy_state = fields.get_bytes("policy_state");
  if (version >= kFormatVersionWal) record.wal_seq = fields.get<std::uint64_t>("wal_seq");
  if (version >= kFormatVersionMarks) {
    fields.read_marks(record.marks, "marks");
    fields.read_marks(record.floor, "floor");
    record.confirmer = fields.get_bytes("confirmer");
  }
  // Versions 1-3 hold no writing instant (and a policy state whose last
  // update core/ moves to it): their last activity is the closest.
  WrittenAt written{record.last_activity, -1, 0};
  if (version >= kFormatVersionAges) {
    written.wall = fields.get<double>("written_wall");
    written.monotonic = fields.get<double>("written_monotonic");
    written.boot = fields.get<std::uint64_t>("written_boot");
  }
  if (!fields.at_end()) fields.fail("trailing bytes");
  record.written_at = restored_written_at(written, now);
  return record;
}

void StateStore::save(const std::vector<GroupRecord>& records) {
  if (records.empty()) return;
  std::vector<std::pair<fs::path, fs::path>> renames;
  renames.reserve(records.size());
  for (const auto& record : records) {
    auto final_path = groups_dir_ / file_name(record.key);
    auto temp_path = final_path;
    temp_path += ".tmp";
    int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      throw std::runtime_error("cannot create " + temp_path.string() + ": " + std::strerror(errno));
    try {
      write_all(fd, encode(record), temp_path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    renames.emplace_back(std::move(temp_path), std::move(final_path));
  }
  // One sync for the batch: every temp file's data is on disk before any
  // rename makes it visible, so a crash never exposes a torn file.
  int dir_fd = ::open(groups_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) throw std::runtime_error("cannot open " + groups_dir_.string());
  ::syncfs(dir_fd);
  for (auto& [from, to] : renames) {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec) {
      ::close(dir_fd);
      throw std::runtime_error("cannot rename " + from.string() + ": " + ec.message());
    }
  }
  ::fsync(dir_fd);
  ::close(dir_fd);
}

std::optional<GroupRecord> StateStore::load(const std::string& key) const {
  auto path = groups_dir_ / file_name(key);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  auto record = decode(read_file(path), path.string());
  if (record.key != key) throw CorruptState(path.string() + ": holds key '" + record.key + "'");
  return record;
}

std::vector<StateStore::Entry> StateStore::list(std::vector<std::string>* corrupt) const {
  std::vector<Entry> entries;
  for (const auto& file : fs::directory_iterator(groups_dir_)) {
    if (file.path().extension() != ".group") continue;
    try {
      auto record = decode(read_file(file.path()), file.path().string());
      entries.push_back({std::move(record.key), record.last_activity, record.wal_seq});
    } catch (const std::exception& e) {
      if (corrupt) corrupt->push_back(e.what());
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.last_activity > b.last_activity; });
  return entries;
}

void StateStore::remove(const std::string& key) {
  std::error_code ec;
  fs::remove(groups_dir_ / file_name(key), ec);
}

}  // namespace pytheas
