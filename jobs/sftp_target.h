// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The SFTP target: delivers a package to an SFTP server over an SSH session leased from the
// session pool (jobs/session_pool.h: sessions opened once per server and reused by every run),
// with libssh for SSH and jobs/sftp_client.h for the pipelined SFTP requests.
//
// begin() leases an SFTP channel on a pooled session (a new session is connected with the host key
// checked against the configured known_hosts and public-key auth, see jobs/ssh_session.h), makes
// the folder and each missing parent, refuses a package whose final name already exists, and
// opens the temporary file with the target's file_mode (0640 unless configured; folders it makes
// get dir_mode, 0750), set with SETSTAT so the server's umask does not change it (O_TRUNC empties
// a stale one of an earlier attempt). write() pipelines the bytes.
// commit() waits for every write to be acknowledged, fsyncs the file when the server offers
// fsync@openssh.com, closes it, checks its size, renames it to the final name with a plain SFTP
// RENAME (which never replaces an existing file; OpenSSH does it as link() + unlink(), so the final
// name appears complete or not at all), then writes `<name>.sha256` the same way (temporary name,
// then rename). abort() removes the temporary file, best effort, within a few seconds. The lease
// ends with commit() or abort().
//
// Round trips. Independent requests go out together and their replies are awaited together:
// begin() is one round trip when the folder exists (STAT folder, STAT final name, OPEN temporary
// file and its SETSTAT), and so is begin_unless_present(); commit() is three (FSTAT + FSYNC + CLOSE
// of the package with the last WRITEs, STAT of the final name and OPEN of the checksum's temporary
// file; then RENAME of the package with the checksum's WRITE + FSYNC + CLOSE; then the checksum's
// rename); inspect() is one when nothing was delivered. What depends on an answer waits for it:
// the package is renamed only after its size and the absence of the final name are known, the
// checksum appears only after the package did, and the folders of mkdir -p are made one after the
// other.
//
// A request that fails on a session reused from the pool because the connection died while idle
// is tried once more on a new session (begin, inspect and the checksum completion are safe to
// repeat); an upload that loses its session fails.
//
// Errors read "sftp://flisd@sftp.example:22/kommuner/101: permission denied
// (SSH_FX_PERMISSION_DENIED) creating folder": the server, the path, what the server said, what
// flisd was doing.
//
// Thread-safety: a DeliveryTarget may be used from several threads (each begin()/inspect() leases
// its own channel, several of which may share one session); an Upload belongs to one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "base/status.h"
#include "config/model.h"
#include "jobs/session_pool.h"
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
  // A big upload is flushed to the server's disk while it is written, on a second channel of its
  // session, from this many bytes on and again every `background_sync_every` (0: never), so the
  // FSYNC at commit has little left to do. Only where the server offers fsync@openssh.com.
  uint64_t background_sync_from = 64ull << 20;
  uint64_t background_sync_every = 32ull << 20;
  // Where sessions come from; null: SessionPool::process().
  SessionPool* pool = nullptr;
};

Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel,
                                                         SessionPool* pool = nullptr);
Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel,
                                                         const SftpTargetOptions& options);

}  // namespace flis
