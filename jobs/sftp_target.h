// The SFTP target: delivers a package to an SFTP server over one SSH connection per
// package (libssh for SSH, jobs/sftp_client.h for the pipelined SFTP writes).
//
// begin() connects (host key checked against the configured known_hosts, public-key auth, see
// jobs/ssh_session.h), makes the folder and each missing parent, refuses a package whose final
// name already exists, removes a stale temporary file of an earlier attempt and opens the
// temporary file with the target's file_mode (0640 unless configured; folders it makes get
// dir_mode, 0750), set with SETSTAT so the server's umask does not change it. write() pipelines the
// bytes. commit() waits for every write to be acknowledged, fsyncs the file when the server offers fsync@openssh.com, closes it, checks its
// size, renames it to the final name with a plain SFTP RENAME (which never replaces an existing
// file; OpenSSH does it as link() + unlink(), so the final name appears complete or not at all),
// then writes `<name>.sha256` the same way (temporary name, then rename). abort() removes the
// temporary file, best effort, within a few seconds.
//
// Errors read "sftp://flisd@sftp.example:22/kommuner/101: permission denied
// (SSH_FX_PERMISSION_DENIED) creating folder": the server, the path, what the server said, what
// flisd was doing.
//
// Thread-safety: a DeliveryTarget may be used from several threads (each begin()/inspect() makes
// its own connection); an Upload belongs to one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "config/model.h"
#include "config/status.h"
#include "jobs/sftp_client.h"
#include "jobs/target.h"

namespace flis {

struct SftpTargetOptions {
  // The longest a transfer may wait without progress (a reply, the server's window): a stalled
  // server fails the run instead of hanging a worker.
  std::chrono::milliseconds timeout{30'000};
  // The longest each step of connecting may take (TCP, key exchange, authentication, the sftp
  // subsystem).
  std::chrono::milliseconds connect_timeout{30'000};
  SftpTuning tuning;
};

Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel);
Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel,
                                                         const SftpTargetOptions& options);

}  // namespace flis
