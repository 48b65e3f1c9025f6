// Reading and writing user files safely. Inputs must be regular files of bounded size; outputs go through a
// short temporary name and a rename, only onto a regular file or a new name, never onto a file this process
// read (its inputs), and temporaries a signal interrupts are removed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "limits.h"
#include "result.h"

namespace cpsim {


// Whose file a read is: an input of the command (no output of this process may replace it), or a file the
// process keeps itself (a batch run's results, read on resume and rewritten when incomplete).
enum class FileRole { kInput, kOwn };

// The whole of a regular file of at most kMaxInputBytes. A device, FIFO, socket or directory is refused, as is
// a read error (named by errno).
Result<std::string> read_input_file(const std::string& path, FileRole role = FileRole::kInput);

// Writes `text` to `path` through a temporary file in the same folder and a rename, so that no half-written
// file is left. Refused: an empty path; a path that names anything but a regular file (a device, FIFO,
// symbolic link, directory); a file this process read as an input.
Status write_file_atomically(const std::string& path, std::string_view text);

// The checks write_file_atomically makes before writing, and that the folder exists: commands call it once
// their inputs are read and before the work, so that a bad output path is refused at once.
Status check_output_path(const std::string& path);

// Removes the temporary files of writes in flight when SIGINT, SIGTERM or SIGHUP arrives, then lets the signal
// end the process as it would have. Programs call it once at start; a later handler (batch's Ctrl-C) takes over
// SIGINT and lets the writes finish instead.
void remove_temporaries_on_signals();

// Temporary files (".cpsim-<pid>-<n>.tmp") in `folder` whose process is gone, removed: what a killed run left.
// Returns how many.
std::int64_t remove_stale_temporaries(const std::string& folder);

}  // namespace cpsim
