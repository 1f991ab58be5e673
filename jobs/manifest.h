// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// manifest.json, the first member of every package: what the package is and, for
// each file, its path in the archive, size and SHA-256, so a municipality can check what it got.
//
//   {"format_version": 1, "order": "K101-CPR-MONTHLY", "municipality": 101, "source": "DSA",
//    "type": "monthly", "period": {"name": "2026-11", "start": "2026-11-01", "end": "2026-11-30"},
//    "interfaces": ["CPR_PERSON"],
//    "partitions": {"CPR_PERSON": {"with_data": ["2026-11-01", ...], "no_data": ["2026-11-07"]}},
//    "files": [{"path": "DSA/CPR_PERSON/2026-11-01/a.csv", "size": 120, "sha256": "..."}],
//    "created": "2026-12-04T05:00:00Z", "flisd_version": "0.1.0"}
//
// "partitions" lists, per interface, every warehouse partition the package took (all processed):
// those that gave files, and those that had no folder (or an empty one) for this municipality, so
// a municipality can tell "no data that day" from "lost on the way".
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/model.h"
#include "config/period.h"
#include "jobs/collect.h"

namespace flis {

constexpr int kManifestFormatVersion = 1;

// The manifest text (pretty-printed JSON, ending in a newline). Fails only for a file name that is
// not valid UTF-8, which JSON cannot carry.
// `partitions` are those the package took; `files` what they gave (collect_files).
Result<std::string> make_manifest(const Order& order, const Period& period, const std::vector<Partition>& partitions,
                                  const std::vector<PackageFile>& files, Instant created);

}  // namespace flis
