// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// make_target (jobs/target.h), apart from the naming helpers in target.cpp so that programs which
// never build a target from configuration do not link the SFTP code.
#include "jobs/directory_target.h"
#include "jobs/sftp_target.h"
#include "jobs/target.h"

namespace flis {

Result<std::unique_ptr<DeliveryTarget>> make_target(const Target& config, const std::atomic<bool>* cancel,
                                                    SessionPool* pool) {
  switch (config.type) {
    case TargetType::directory:
      return std::unique_ptr<DeliveryTarget>(new DirectoryTarget(config.path, config.file_mode, config.dir_mode));
    case TargetType::sftp:
      return make_sftp_target(config, cancel, pool);
  }
  return Status::Error("target '" + config.name + "': unknown target type");
}

}  // namespace flis
