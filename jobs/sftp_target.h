// The SFTP target (libssh): see jobs/sftp_target.cpp.
#pragma once

#include <atomic>
#include <memory>

#include "config/model.h"
#include "config/status.h"
#include "jobs/target.h"

namespace flis {

Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel);

}  // namespace flis
