// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/ssh_session.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

namespace flis {

namespace {

void init_libssh_once() {
  static std::once_flag once;
  std::call_once(once, [] { ssh_init(); });
}

// Owns an ssh_key.
struct Key {
  ssh_key key = nullptr;
  ~Key() { ssh_key_free(key); }
};

// "uid 1000 (alice)".
std::string user_text(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  std::string s = "uid " + std::to_string(uid);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) s += std::string(" (") + found->pw_name + ")";
  return s;
}

// Key material must not linger in freed memory.
struct Wiped {
  std::string text;
  ~Wiped() { explicit_bzero(text.data(), text.size()); }
};

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// "SHA256:..." as OpenSSH prints it, or "" if libssh cannot hash the key.
std::string sha256_fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK) return "";
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  if (text == nullptr) return "";
  std::string fingerprint = text;
  ssh_string_free_char(text);
  return fingerprint;
}

std::string key_type(ssh_key key) {
  const char* name = ssh_key_type_to_char(ssh_key_type(key));
  return name ? name : "unknown";
}

// The name known_hosts lists the server under, as OpenSSH writes it: "host" on port 22,
// "[host]:port" otherwise (lower case, as libssh matches it).
std::string known_hosts_name(const SshEndpoint& e) {
  std::string host = e.host;
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (e.port == 22) return host;
  return "[" + host + "]:" + std::to_string(e.port);
}

// The fingerprints known_hosts holds for the server (for the "host key changed" message): libssh
// does the host matching (plain, patterns, hashed names), we only collect the keys.
std::vector<std::string> expected_fingerprints(const SshEndpoint& e) {
  std::vector<std::string> found;
  std::ifstream in(e.known_hosts);
  std::string name = known_hosts_name(e);
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#' || line[start] == '@') continue;
    ssh_knownhosts_entry* entry = nullptr;
    if (ssh_known_hosts_parse_line(name.c_str(), line.c_str() + start, &entry) == SSH_OK && entry) {
      if (entry->publickey) {
        found.push_back(key_type(entry->publickey) + " " + sha256_fingerprint(entry->publickey));
      }
      ssh_knownhosts_entry_free(entry);
    }
  }
  return found;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

// A pinned, modern algorithm list: nothing with SHA-1, no CBC, no DSA, no 1024-bit groups, so
// neither a server's old defaults nor a downgrade can pick them. libssh adds its ext-info and
// strict key exchange markers (the Terrapin fix, libssh >= 0.10.6) itself.
constexpr const char* kKeyExchange =
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256";
constexpr const char* kHostKeys =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256";
constexpr const char* kMacs =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512";
// AES-GCM is 1.5-2x faster than chacha20-poly1305 where the CPU has AES instructions, and much
// slower where it has not. aes128-gcm first: 10 rounds instead of 14, on both ends (the server's
// decryption shares the machine's cores with its own work), and still a 128-bit security level.
constexpr const char* kCiphersAesNi =
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes192-ctr,"
    "aes128-ctr";
constexpr const char* kCiphersSoftware =
    "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,"
    "aes128-ctr";

}  // namespace

bool cpu_has_aes() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#elif defined(__aarch64__) && defined(__ARM_FEATURE_AES)
  return true;
#else
  return false;
#endif
}

const char* preferred_ciphers() { return cpu_has_aes() ? kCiphersAesNi : kCiphersSoftware; }

namespace {

Status set_algorithms(ssh_session s) {
  const char* ciphers = preferred_ciphers();
  struct {
    ssh_options_e option;
    const char* list;
    const char* what;
  } lists[] = {
      {SSH_OPTIONS_KEY_EXCHANGE, kKeyExchange, "key exchange"},
      {SSH_OPTIONS_HOSTKEYS, kHostKeys, "host key"},
      {SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES, kHostKeys, "public key"},
      {SSH_OPTIONS_CIPHERS_C_S, ciphers, "cipher"},
      {SSH_OPTIONS_CIPHERS_S_C, ciphers, "cipher"},
      {SSH_OPTIONS_HMAC_C_S, kMacs, "MAC"},
      {SSH_OPTIONS_HMAC_S_C, kMacs, "MAC"},
  };
  for (const auto& l : lists) {
    if (ssh_options_set(s, l.option, l.list) != SSH_OK) {
      return Status::Error(std::string("libssh refuses the ") + l.what + " algorithms " + l.list + ": " +
                           ssh_get_error(s));
    }
  }
  return Status::OK();
}

Status set_options(ssh_session s, const SshEndpoint& e, std::chrono::milliseconds timeout) {
  int port = e.port;
  int nodelay = 1;
  bool process_config = false;  // never let ~/.ssh/config or /etc/ssh/ssh_config change anything
  std::string known_hosts = e.known_hosts.string();
  bool ok = ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config) == SSH_OK &&
            ssh_options_set(s, SSH_OPTIONS_HOST, e.host.c_str()) == SSH_OK &&
            ssh_options_set(s, SSH_OPTIONS_PORT, &port) == SSH_OK &&
            ssh_options_set(s, SSH_OPTIONS_USER, e.user.c_str()) == SSH_OK &&
            ssh_options_set(s, SSH_OPTIONS_NODELAY, &nodelay) == SSH_OK &&
            ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str()) == SSH_OK &&
            ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") == SSH_OK;
  if (!ok) return Status::Error(std::string("invalid connection settings: ") + ssh_get_error(s));
  if (Status st = set_algorithms(s); !st.ok()) return st;
  long sec = static_cast<long>(timeout.count() / 1000);
  long usec = static_cast<long>(timeout.count() % 1000) * 1000;
  if (ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &sec) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec) != SSH_OK) {
    return Status::Error(std::string("invalid timeout: ") + ssh_get_error(s));
  }
  return Status::OK();
}

Status verify_host_key(ssh_session s, const SshEndpoint& e) {
  Key server;
  if (ssh_get_server_publickey(s, &server.key) != SSH_OK) {
    return Status::Error(std::string("cannot get the server's host key: ") + ssh_get_error(s));
  }
  std::string presented = key_type(server.key) + " " + sha256_fingerprint(server.key);
  std::string where = e.host + ":" + std::to_string(e.port);
  std::string kh = e.known_hosts.string();
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      return Status::OK();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
      std::vector<std::string> expected = expected_fingerprints(e);
      return Status::Error("host key of " + where + " has changed: the server presents " + presented +
                           ", but " + kh + " lists " +
                           (expected.empty() ? std::string("another key") : join(expected, ", ")) +
                           " for it; refusing to connect (this may be an attack, or the server was "
                           "reinstalled: check the new key out of band before changing " + kh + ")");
    }
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return Status::Error("host key of " + where + " is not in " + kh + " (" + presented +
                           "); add it with ssh-keyscan after checking it out of band");
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  return Status::Error("cannot check the host key of " + where + " against " + kh + ": " +
                       ssh_get_error(s));
}

Status authenticate(ssh_session s, const SshEndpoint& e, const std::filesystem::path& key_path,
                    const std::string& key_text) {
  Key key;
  if (ssh_pki_import_privkey_base64(key_text.c_str(), nullptr, nullptr, nullptr, &key.key) != SSH_OK) {
    return Status::Error("cannot load private key " + key_path.string() +
                         ": not a valid private key, or protected by a passphrase (flisd needs an "
                         "unencrypted key, e.g. from ssh-keygen -t ed25519 -N '')");
  }
  int rc = ssh_userauth_publickey(s, nullptr, key.key);
  if (rc == SSH_AUTH_SUCCESS) return Status::OK();
  if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) {
    return Status::Error("the server refused public key " + key_path.string() + " for user " + e.user +
                         " (is its .pub in that user's authorized_keys?)");
  }
  return Status::Error("authentication as " + e.user + " failed: " + ssh_get_error(s));
}

}  // namespace

namespace {

// A key file that is not there is often a systemd credential flisd cannot see: say which.
std::string missing_key_message(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials == nullptr || *credentials == '\0')
    return "private key " + path.string() + " does not exist; if '" + name + "' is meant as the systemd " +
           "credential (LoadCredential=" + name + ":...), CREDENTIALS_DIRECTORY is not set: outside systemd set " +
           "it to a folder holding the key as '" + name + "', or give identity as the key file's path";
  return "private key " + path.string() + " does not exist, and there is no credential '" + name + "' in " +
         "CREDENTIALS_DIRECTORY (" + credentials + "); check LoadCredential=" + name + ":... in the unit";
}

}  // namespace

std::filesystem::path resolve_identity(const std::filesystem::path& identity) {
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials == nullptr || *credentials == '\0') return identity;
  std::error_code ec;
  if (identity.is_relative()) {
    std::filesystem::path candidate = std::filesystem::path(credentials) / identity;
    if (std::filesystem::exists(candidate, ec)) return candidate;
    return identity;
  }
  // The configuration loader resolves `identity: sftp-key` against the config folder; when no such
  // file is there, the name was meant as a credential.
  if (!std::filesystem::exists(identity, ec)) {
    std::filesystem::path candidate = std::filesystem::path(credentials) / identity.filename();
    if (std::filesystem::exists(candidate, ec)) return candidate;
  }
  return identity;
}

Result<std::string> read_private_key(const std::filesystem::path& path) {
  constexpr size_t kMaxKeyBytes = 64 * 1024;  // an RSA-16384 key is under 13 KiB
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP)
      return Status::Error("private key " + path.string() + " is a symbolic link; give the key file itself");
    if (errno == ENOENT) return Status::Error(missing_key_message(path));
    return Status::Error("cannot read private key " + path.string() + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status::Error("cannot read private key " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::Error("private key " + path.string() + " is not a regular file");
  if (st.st_uid != geteuid() && st.st_uid != 0)
    return Status::Error("private key " + path.string() + " is owned by " + user_text(st.st_uid) +
                         ", not by the user flisd runs as (" + user_text(geteuid()) + ") or root; chown it");
  if (st.st_mode & 077) {
    return Status::Error("private key " + path.string() + " is accessible by others (mode " +
                         octal_mode(st.st_mode) + "); chmod 600 it");
  }
  Wiped buf;
  buf.text.resize(kMaxKeyBytes + 1);
  size_t got = 0;
  for (ssize_t n; got < buf.text.size() && (n = read(fd, buf.text.data() + got, buf.text.size() - got)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error("cannot read private key " + path.string() + ": " + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  if (got > kMaxKeyBytes) return Status::Error("private key " + path.string() + " is larger than 64 KiB; is it a key?");
  return std::string(buf.text.data(), got);
}

Result<std::unique_ptr<SshSession>> SshSession::connect(const SshEndpoint& endpoint,
                                                        std::chrono::milliseconds timeout) {
  init_libssh_once();
  ssh_session s = ssh_new();
  if (s == nullptr) return Status::Error("cannot create an SSH session (out of memory)");
  std::unique_ptr<SshSession> session(
      new SshSession(s, endpoint.user + "@" + endpoint.host + ":" + std::to_string(endpoint.port)));

  // Check what we can locally before touching the network, so a bad key or known_hosts is
  // reported as such and not as whatever the server makes of it.
  // The key is read (and checked) once, here; libssh gets these bytes, never the path.
  const std::filesystem::path key_path = resolve_identity(endpoint.identity);
  auto key_read = read_private_key(key_path);
  if (!key_read.ok()) return key_read.status();
  Wiped key_text{std::move(*key_read)};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(endpoint.known_hosts, ec)) {
    return Status::Error("known_hosts file " + endpoint.known_hosts.string() +
                         " does not exist; create it with the server's host key (ssh-keyscan -p " +
                         std::to_string(endpoint.port) + " " + endpoint.host +
                         ", checked out of band)");
  }
  if (Status st = set_options(s, endpoint, timeout); !st.ok()) return st;
  if (ssh_connect(s) != SSH_OK) {
    std::string why = ssh_get_error(s);
    if (why.find("no match for method") != std::string::npos) {
      why += " (flisd offers only modern algorithms: no SHA-1, no CBC; the server must allow one of them)";
    }
    return Status::Error("cannot connect: " + why);
  }
  if (Status st = verify_host_key(s, endpoint); !st.ok()) return st;
  if (Status st = authenticate(s, endpoint, key_path, key_text.text); !st.ok()) return st;
  return session;
}

SshSession::SshSession(ssh_session_struct* session, std::string where)
    : session_(session), where_(std::move(where)), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

SshSession::~SshSession() {
  if (ssh_is_connected(session_)) ssh_disconnect(session_);
  ssh_free(session_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool SshSession::connected() const { return ssh_is_connected(session_) != 0; }

bool SshSession::input_pending() const {
  pollfd p{ssh_get_fd(session_), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

// Ends the poll() of the thread watching the socket.
void SshSession::wake_poller() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void SshSession::input_processed() {
  ++input_seen_;
  input_.notify_all();
  if (polling_) wake_poller();
}

void SshSession::wait_input(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds slice) {
  if (polling_ || wake_fd_ < 0) {
    // Another thread watches the socket and wakes us when it brought input, or when it stops
    // watching (then one of us takes over).
    uint64_t seen = input_seen_;
    input_.wait_for(lock, slice, [&] { return input_seen_ != seen || !polling_ || failed(); });
    return;
  }
  polling_ = true;
  int fd = ssh_get_fd(session_);
  lock.unlock();
  pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  (void)::poll(p, 2, static_cast<int>(slice.count()));
  if (p[1].revents != 0) {
    uint64_t n;
    (void)!::read(wake_fd_, &n, sizeof n);
  }
  lock.lock();
  polling_ = false;
  input_.notify_all();  // someone else watches next, or finds its reply
}

void SshSession::fail(const std::string& why) {
  {
    std::lock_guard lock(failure_mu_);
    if (failed_.load()) return;
    failure_ = why;
    failed_ = true;
  }
  input_.notify_all();
  wake_poller();
}

std::string SshSession::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

std::string SshSession::last_error() const { return ssh_get_error(session_); }

std::string SshSession::cipher() const {
  const char* name = ssh_get_cipher_out(session_);
  return name ? name : "";
}

void SshSession::set_timeout(std::chrono::milliseconds timeout) {
  long sec = static_cast<long>(timeout.count() / 1000);
  long usec = static_cast<long>(timeout.count() % 1000) * 1000;
  ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &sec);
  ssh_options_set(session_, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

}  // namespace flis
